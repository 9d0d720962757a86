"""Writing: create, save (insert / update / update_fields), delete, update with F,
get_or_create, update_or_create, auto_now / auto_now_add and on_delete behaviours."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

import aksara
from aksara import F, IntegrityError, ProtectedError
from aksara.db import Database
from examples.blog.models import Comment, Post, User
from tests.models import Category, Kitchen, Label, Tag
from tests.orm.conftest import Blog, capture

UTC = dt.UTC


async def table(model: type, *names: str) -> list[tuple[object, ...]]:
    """Every row of *model* as tuples of *names*, by primary key."""
    return await model.objects.order_by("id").values_list("id", *names)  # type: ignore[attr-defined, no-any-return]


# create / save ----------------------------------------------------------------------------------


async def test_create_inserts_and_sets_the_primary_key(db: Database) -> None:
    user = await User.objects.create(name="Ada", email="ada@example.com")
    assert isinstance(user.pk, int) and user.pk == user.id
    other = await User.objects.create(name="Alan", email="alan@example.com")
    assert other.pk != user.pk
    assert await table(User, "name", "email", "is_active", "last_login") == [
        (user.pk, "Ada", "ada@example.com", True, None),
        (other.pk, "Alan", "alan@example.com", True, None),
    ]


async def test_defaults_are_applied(db: Database) -> None:
    user = await User.objects.create(name="Ada", email="ada@example.com")
    post = await Post.objects.create(title="t", slug="s", author=user)
    first = await Post.objects.create(title="t2", slug="s2", author=user)
    assert (post.content, post.metadata, post.is_published, post.view_count) == ("", {}, False, 0)
    post.metadata["changed"] = True
    assert first.metadata == {}, "a callable default gives every instance its own value"
    fresh = await Post.objects.get(pk=first.pk)
    assert (fresh.content, fresh.metadata, fresh.is_published, fresh.view_count) == (
        "",
        {},
        False,
        0,
    )


async def test_save_inserts_a_new_instance_then_updates_it(db: Database) -> None:
    user = User(name="Grace", email="grace@example.com")
    assert user.pk is None
    await user.save()
    assert user.pk is not None
    user.name = "Grace Hopper"
    user.is_active = False
    with capture() as seen:
        await user.save()
    assert [sql.split()[0] for sql in seen.statements] == ["UPDATE"]
    await user.save()
    assert await table(User, "name", "is_active") == [(user.pk, "Grace Hopper", False)]


async def test_save_of_a_new_instance_with_an_existing_primary_key_updates_it(db: Database) -> None:
    # Django: with the primary key set, save() tries an UPDATE first and INSERTs only when
    # no row was updated.
    user = await User.objects.create(name="Ada", email="ada@example.com")
    replacement = User(
        id=user.pk, name="Ada L.", email="ada.l@example.com", created_at=user.created_at
    )
    await replacement.save()
    assert await table(User, "name", "email") == [(user.pk, "Ada L.", "ada.l@example.com")]
    brand_new = User(id=user.pk + 50, name="New", email="new@example.com")
    await brand_new.save()
    assert await User.objects.count() == 2
    assert (await User.objects.get(pk=user.pk + 50)).name == "New"


async def test_instance_equality(db: Database) -> None:
    unsaved = User(name="a", email="a@example.com")
    assert unsaved == unsaved  # Django: an unsaved instance equals itself only
    assert unsaved != User(name="a", email="a@example.com")
    with pytest.raises(TypeError):
        hash(unsaved)
    await unsaved.save()
    loaded = await User.objects.get(pk=unsaved.pk)
    assert loaded == unsaved and hash(loaded) == hash(unsaved)
    other = await User.objects.create(name="b", email="b@example.com")
    assert loaded != other


async def test_save_with_update_fields_writes_only_those(db: Database) -> None:
    user = await User.objects.create(name="Ada", email="ada@example.com")
    post = await Post.objects.create(title="Old", slug="old", author=user, view_count=3)
    post.title = "New"
    post.view_count = 99
    post.slug = "new"
    await post.save(update_fields=["title", "slug"])
    assert await table(Post, "title", "slug", "view_count") == [(post.pk, "New", "new", 3)]
    with capture() as seen:
        await post.save(update_fields=[])
    assert len(seen) == 0
    other = await User.objects.create(name="Alan", email="alan@example.com")
    post.author = other
    await post.save(update_fields=["author"])
    assert await table(Post, "author_id") == [(post.pk, other.pk)]
    with pytest.raises(aksara.FieldError):
        await post.save(update_fields=["nope"])


async def test_save_update_fields_of_a_deleted_row_fails(db: Database) -> None:
    user = await User.objects.create(name="Ada", email="ada@example.com")
    stale = await User.objects.get(pk=user.pk)
    await user.delete()
    stale.name = "Ghost"
    with pytest.raises(aksara.DatabaseError):
        await stale.save(update_fields=["name"])
    assert await User.objects.count() == 0


async def test_refresh_from_db_sees_changes_made_elsewhere(db: Database) -> None:
    user = await User.objects.create(name="Ada", email="ada@example.com")
    await User.objects.filter(pk=user.pk).update(name="Ada L.", is_active=False)
    assert user.name == "Ada"
    await user.refresh_from_db()
    assert (user.name, user.is_active) == ("Ada L.", False)


async def test_refresh_from_db_forgets_a_stale_relation(blog: Blog) -> None:
    post = await Post.objects.get(pk=blog.posts[0].pk)
    await post.author
    new_author = next(u for u in blog.users if u.pk != post.author_id)
    await Post.objects.filter(pk=post.pk).update(author=new_author)
    await post.refresh_from_db()
    assert post.author_id == new_author.pk
    assert (await post.author).pk == new_author.pk


async def test_unsaved_related_instance_is_refused_then_linked_once_saved(db: Database) -> None:
    user = User(name="Ada", email="ada@example.com")
    post = Post(title="t", slug="s", author=user)
    with capture() as seen, pytest.raises(aksara.ValidationError):
        await post.save()
    assert len(seen) == 0
    await user.save()
    await post.save()
    assert await table(Post, "author_id") == [(post.pk, user.pk)]


async def test_force_insert_of_an_existing_primary_key_fails(db: Database) -> None:
    user = await User.objects.create(name="Ada", email="ada@example.com")
    twin = User(id=user.pk, name="Twin", email="twin@example.com")
    with pytest.raises(IntegrityError):
        await twin.save(force_insert=True)
    assert await table(User, "name") == [(user.pk, "Ada")]


async def test_writes_in_a_failed_atomic_block_are_rolled_back(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with aksara.atomic():
            await User.objects.create(name="Ada", email="ada@example.com")
            raise RuntimeError("boom")
    assert await User.objects.count() == 0


# delete -------------------------------------------------------------------------------------------


async def test_delete_instance(blog: Blog) -> None:
    post = blog.posts[10]
    key = post.pk
    assert await post.delete() == 1
    assert post.pk is None  # as in Django: saving it again would insert a new row
    assert not await Post.objects.filter(pk=key).exists()
    assert await Post.objects.count() == len(blog.posts) - 1
    again = Post(id=key, title="x", slug="x", author_id=post.author_id)
    assert await again.delete() == 0
    with pytest.raises(ValueError):
        await Post(title="never saved", slug="n").delete()


async def test_queryset_delete_removes_exactly_the_matching_rows(blog: Blog) -> None:
    doomed = [p for p in blog.posts if p.view_count < 15 and not p.is_published]
    assert doomed
    assert await Post.objects.filter(view_count__lt=15, is_published=False).delete() == len(doomed)
    remaining = sorted(p.pk for p in blog.posts if p not in doomed)
    assert [row[0] for row in await table(Post)] == remaining


async def test_queryset_delete_through_a_join(blog: Blog) -> None:
    name = blog.users[2].name
    doomed = [p.pk for p in blog.posts if blog.author_of(p).name == name]
    assert doomed
    assert await Post.objects.filter(author__name=name).delete() == len(doomed)
    assert [row[0] for row in await table(Post)] == sorted(
        p.pk for p in blog.posts if p.pk not in doomed
    )
    assert await User.objects.count() == len(blog.users)


async def test_sliced_delete_and_update_are_refused(blog: Blog) -> None:
    with pytest.raises(TypeError):
        await Post.objects.order_by("id")[:3].delete()
    with pytest.raises(TypeError):
        await Post.objects.limit(3).update(view_count=0)
    assert await Post.objects.count() == len(blog.posts)


# update -------------------------------------------------------------------------------------------


async def test_update_with_f_expression(blog: Blog) -> None:
    chosen = [p for p in blog.posts if p.is_published]
    changed = await Post.objects.filter(is_published=True).update(view_count=F("view_count") + 1)
    assert changed == len(chosen)
    expected = [
        (p.pk, p.view_count + 1 if p.is_published else p.view_count)
        for p in sorted(blog.posts, key=lambda p: p.pk)
    ]
    assert await table(Post, "view_count") == expected


async def test_update_with_arithmetic_over_other_columns(kitchens: list[Kitchen]) -> None:
    await Kitchen.objects.update(small=F("id") * 3 - F("small"), big=F("big") * 2)
    rows = await table(Kitchen, "small", "big")
    assert rows == [
        (k.pk, k.pk * 3 - k.small, None if k.big is None else k.big * 2) for k in kitchens
    ]


async def test_update_several_fields_and_to_null(kitchens: list[Kitchen]) -> None:
    target = [k for k in kitchens if k.flag]
    count = await Kitchen.objects.filter(flag=True).update(notes=None, label="done", ratio=0.5)
    assert count == len(target)
    rows = await table(Kitchen, "notes", "label", "ratio")
    assert rows == [
        (k.pk, None, "done", 0.5) if k.flag else (k.pk, k.notes, k.label, k.ratio) for k in kitchens
    ]


async def test_update_through_a_join(blog: Blog) -> None:
    name = blog.users[1].name
    count = await Post.objects.filter(author__name=name).update(view_count=1000)
    assert count == sum(blog.author_of(p).name == name for p in blog.posts)
    rows = await table(Post, "view_count")
    assert rows == [
        (p.pk, 1000 if blog.author_of(p).name == name else p.view_count)
        for p in sorted(blog.posts, key=lambda p: p.pk)
    ]


async def test_update_last_login_like_the_guide(blog: Blog) -> None:
    now = dt.datetime.now(UTC)
    chosen = [blog.users[0].pk, blog.users[3].pk]
    assert await User.objects.filter(id__in=chosen).update(last_login=now) == 2
    rows = await table(User, "last_login")
    assert rows == [(u.pk, now if u.pk in chosen else None) for u in blog.users]


async def test_update_refuses_the_primary_key_and_joined_expressions(blog: Blog) -> None:
    with pytest.raises(aksara.FieldError):
        await Post.objects.update(id=1)
    with pytest.raises(aksara.FieldError):
        await Post.objects.update(view_count=F("author__email"))
    with pytest.raises(TypeError):
        await Post.objects.update()
    # author__id is the key column itself: no join, so it is allowed.
    assert await Post.objects.update(view_count=F("author__id")) == len(blog.posts)
    rows = await table(Post, "view_count")
    assert rows == [(p.pk, p.author_id) for p in sorted(blog.posts, key=lambda p: p.pk)]


async def test_update_returns_zero_when_nothing_matches(blog: Blog) -> None:
    assert await Post.objects.filter(view_count__gt=10_000).update(view_count=0) == 0
    assert sorted(row[1] for row in await table(Post, "view_count")) == sorted(
        p.view_count for p in blog.posts
    )


# get_or_create / update_or_create -----------------------------------------------------------------


async def test_get_or_create(db: Database) -> None:
    user, created = await User.objects.get_or_create(
        email="ada@example.com", defaults={"name": "Ada"}
    )
    assert created is True
    assert (user.name, user.email) == ("Ada", "ada@example.com")
    again, created = await User.objects.get_or_create(
        email="ada@example.com", defaults={"name": "Other"}
    )
    assert created is False
    assert again.pk == user.pk and again.name == "Ada"
    same, created = await User.objects.get_or_create(
        email__iexact="ADA@example.com", defaults={"name": "X"}
    )
    assert created is False and same.pk == user.pk
    assert await table(User, "name", "email") == [(user.pk, "Ada", "ada@example.com")]


async def test_get_or_create_concurrently_creates_one_row(db: Database) -> None:
    results = await asyncio.gather(
        *[
            User.objects.get_or_create(email="same@example.com", defaults={"name": f"n{i}"})
            for i in range(4)
        ]
    )
    assert await User.objects.count() == 1
    assert len({user.pk for user, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_update_or_create(db: Database) -> None:
    user, created = await User.objects.update_or_create(
        email="ada@example.com", defaults={"name": "Ada"}
    )
    assert created is True
    updated, created = await User.objects.update_or_create(
        email="ada@example.com", defaults={"name": "Ada Lovelace", "is_active": False}
    )
    assert created is False and updated.pk == user.pk
    assert (updated.name, updated.is_active) == ("Ada Lovelace", False)
    assert await table(User, "name", "email", "is_active") == [
        (user.pk, "Ada Lovelace", "ada@example.com", False)
    ]


# auto_now / auto_now_add -----------------------------------------------------------------------------


async def test_auto_now_add_is_set_once(db: Database) -> None:
    before = dt.datetime.now(UTC)
    user = await User.objects.create(name="Ada", email="ada@example.com")
    after = dt.datetime.now(UTC)
    assert before <= user.created_at <= after
    created = user.created_at
    user.name = "Ada L."
    await user.save()
    assert user.created_at == created
    fresh = await User.objects.get(pk=user.pk)
    assert fresh.created_at == created
    fresh.name = "Ada Lovelace"
    await fresh.save()
    assert (await User.objects.get(pk=user.pk)).created_at == created


async def test_auto_now_is_set_on_every_save(db: Database) -> None:
    kitchen = await Kitchen.objects.create(label="k")
    first = kitchen.touched_at
    assert first is not None and first.tzinfo is not None
    assert (await Kitchen.objects.get(pk=kitchen.pk)).touched_at == first
    await asyncio.sleep(0.002)
    kitchen.small = 5
    await kitchen.save()
    assert kitchen.touched_at > first
    assert (await Kitchen.objects.get(pk=kitchen.pk)).touched_at == kitchen.touched_at


async def test_auto_now_with_update_fields_writes_only_the_named_fields(db: Database) -> None:
    kitchen = await Kitchen.objects.create(label="k")
    stored = kitchen.touched_at
    await asyncio.sleep(0.002)
    kitchen.small = 7
    await kitchen.save(update_fields=["small"])
    fresh = await Kitchen.objects.get(pk=kitchen.pk)
    assert fresh.small == 7
    assert fresh.touched_at == stored
    await kitchen.save(update_fields=["small", "touched_at"])
    assert (await Kitchen.objects.get(pk=kitchen.pk)).touched_at > stored


async def test_queryset_update_does_not_touch_auto_now(db: Database) -> None:
    kitchen = await Kitchen.objects.create(label="k")
    await Kitchen.objects.update(small=3)
    assert (await Kitchen.objects.get(pk=kitchen.pk)).touched_at == kitchen.touched_at


# on_delete ----------------------------------------------------------------------------------------------


async def test_cascade_deletes_comments_with_their_post(blog: Blog) -> None:
    post = next(p for p in blog.posts if any(c.post_id == p.pk for c in blog.comments))
    key = post.pk
    await post.delete()
    remaining = sorted(c.pk for c in blog.comments if c.post_id != key)
    assert sorted(row[0] for row in await table(Comment)) == remaining
    assert len(remaining) < len(blog.comments)


async def test_cascade_from_user_deletes_posts_and_comments(blog: Blog) -> None:
    user = blog.users[0]
    gone_posts = {p.pk for p in blog.posts if p.author_id == user.pk}
    await User.objects.filter(pk=user.pk).delete()
    assert sorted(row[0] for row in await table(Post)) == sorted(
        p.pk for p in blog.posts if p.pk not in gone_posts
    )
    assert sorted(row[0] for row in await table(Comment)) == sorted(
        c.pk for c in blog.comments if c.author_id != user.pk and c.post_id not in gone_posts
    )


async def test_set_null_empties_the_children(db: Database) -> None:
    root = await Category.objects.create(name="root")
    kids = [await Category.objects.create(name=f"kid{i}", parent=root) for i in range(3)]
    other = await Category.objects.create(name="other")
    grandchild = await Category.objects.create(name="grandchild", parent=kids[0])
    await root.delete()
    assert await table(Category, "name", "parent_id") == [
        *[(kid.pk, kid.name, None) for kid in kids],
        (other.pk, "other", None),
        (grandchild.pk, "grandchild", kids[0].pk),
    ]


async def test_protect_refuses_the_delete(db: Database) -> None:
    category = await Category.objects.create(name="c")
    tag = await Tag.objects.create(name="t", category=category)
    with pytest.raises(ProtectedError) as error:
        await category.delete()
    assert isinstance(error.value, IntegrityError)
    assert error.value.constraint == "category_tags_category_id_fkey"
    with pytest.raises(ProtectedError):
        await Category.objects.filter(name="c").delete()
    assert await table(Category, "name") == [(category.pk, "c")]
    await tag.delete()
    assert await category.delete() == 1
    assert await Category.objects.count() == 0


async def test_restrict_refuses_the_delete_with_integrity_error(db: Database) -> None:
    category = await Category.objects.create(name="c")
    tag = await Tag.objects.create(name="t", category=category)
    label = await Label.objects.create(name="l", tag=tag)
    with pytest.raises(IntegrityError) as error:
        await tag.delete()
    assert not isinstance(error.value, ProtectedError)
    assert error.value.constraint == "custom_labels_tag_id_fkey"
    with pytest.raises(IntegrityError):
        await Tag.objects.all().delete()
    assert await Tag.objects.count() == 1
    label.tag = None
    await label.save()
    assert await tag.delete() == 1


async def test_a_failed_delete_inside_atomic_rolls_back_cleanly(db: Database) -> None:
    category = await Category.objects.create(name="c")
    await Tag.objects.create(name="t", category=category)
    with pytest.raises(ProtectedError):
        async with aksara.atomic():
            await Category.objects.create(name="d")
            await category.delete()
    assert await table(Category, "name") == [(category.pk, "c")]
