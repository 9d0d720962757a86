"""Reading: QuerySet laziness, ordering, slicing, terminal methods, values, only/defer,
distinct, none, in_bulk, aggregates, explain and foreign-key access."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
from decimal import Decimal
from typing import Any

import pytest

import aksara
from aksara import Avg, Count, DeferredFieldError, F, Max, Min, Q, Sum
from aksara.db import Database
from aksara.exceptions import MultipleObjectsReturned, ObjectDoesNotExist
from aksara.orm import QuerySet, RelationNotLoadedError
from examples.blog.models import Comment, Post, User
from tests.models import Category, Kitchen, Label, Tag
from tests.orm.conftest import Blog, capture

UTC = dt.UTC


def ids(objects: list[Any]) -> list[int]:
    return [obj.pk for obj in objects]


# Laziness, immutability, iteration ------------------------------------------------------------


async def test_building_a_queryset_sends_no_query(blog: Blog) -> None:
    with capture() as seen:
        qs = Post.objects.filter(is_published=True).exclude(view_count=0).order_by("-id")
        qs = qs.only("id", "title").limit(5)[1:3]
        assert isinstance(qs, QuerySet)
    assert len(seen) == 0
    with capture() as seen:
        rows = await qs
    assert len(seen) == 1
    published = sorted(
        (p for p in blog.posts if p.is_published and p.view_count != 0), key=lambda p: -p.pk
    )
    assert ids(rows) == ids(published[:5][1:3])


async def test_chaining_returns_clones_and_leaves_the_original_alone(blog: Blog) -> None:
    base = Post.objects.all()
    published = base.filter(is_published=True)
    ordered = published.order_by("-view_count", "id")
    limited = ordered.limit(3)
    assert base is not published and published is not ordered and ordered is not limited
    assert len(await base) == len(blog.posts)
    assert sorted(ids(await published)) == sorted(p.pk for p in blog.posts if p.is_published)
    assert len(await ordered) == len([p for p in blog.posts if p.is_published])
    assert len(await limited) == 3
    # Awaiting twice runs the query twice and gives the same answer.
    assert ids(await limited) == ids(await limited)


async def test_async_for_yields_the_same_rows_as_await(blog: Blog) -> None:
    qs = Post.objects.filter(view_count__gt=10).order_by("id")
    collected = [post async for post in qs]
    assert ids(collected) == ids(await qs)
    assert ids(collected) == sorted(p.pk for p in blog.posts if p.view_count > 10)


async def test_instances_carry_every_field(blog: Blog) -> None:
    original = blog.posts[7]
    loaded = await Post.objects.get(pk=original.pk)
    for name in ("title", "slug", "content", "metadata", "author_id", "is_published", "view_count"):
        assert getattr(loaded, name) == getattr(original, name), name
    assert loaded.created_at == original.created_at
    assert loaded == original and loaded is not original
    assert hash(loaded) == hash(original)


# Ordering -------------------------------------------------------------------------------------


async def test_order_by_ascending_descending_and_several_fields(blog: Blog) -> None:
    rows = await Post.objects.order_by("view_count", "-id")
    assert ids(rows) == ids(sorted(blog.posts, key=lambda p: (p.view_count, -p.pk)))
    rows = await Post.objects.order_by("-view_count", "slug")
    assert ids(rows) == ids(sorted(blog.posts, key=lambda p: (-p.view_count, p.slug)))


async def test_order_by_across_foreign_key(blog: Blog) -> None:
    rows = await Post.objects.order_by("author__email", "-id")
    assert ids(rows) == ids(sorted(blog.posts, key=lambda p: (blog.author_of(p).email, -p.pk)))


async def test_order_by_random_returns_every_row(blog: Blog) -> None:
    rows = await Post.objects.order_by("?")
    assert sorted(ids(rows)) == sorted(p.pk for p in blog.posts)


async def test_meta_ordering_is_the_default_and_order_by_without_names_clears_it(
    db: Database,
) -> None:
    names = ["delta", "alpha", "charlie", "bravo"]
    for name in names:
        await Label.objects.create(name=name)
    assert [label.name for label in await Label.objects.all()] == sorted(names)
    assert [label.name for label in await Label.objects.order_by("-name")] == sorted(
        names, reverse=True
    )
    with capture() as seen:
        await Label.objects.order_by()
    assert "ORDER BY" not in seen.statements[0]
    assert [label.name for label in await Label.objects.all().reverse()] == sorted(
        names, reverse=True
    )
    assert (await Label.objects.first()).name == "alpha"  # type: ignore[union-attr]
    assert (await Label.objects.last()).name == "delta"  # type: ignore[union-attr]


async def test_reverse(blog: Blog) -> None:
    rows = await Post.objects.order_by("view_count", "id").reverse()
    assert ids(rows) == ids(sorted(blog.posts, key=lambda p: (p.view_count, p.pk), reverse=True))


# Slicing, limit, offset ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "window",
    [
        slice(5, 10),
        slice(None, 3),
        slice(20, None),
        slice(0, 100),
        slice(23, 24),
        slice(30, 40),
        slice(4, 2),
    ],
)
async def test_slices_match_python_slices(blog: Blog, window: slice) -> None:
    ordered = sorted(blog.posts, key=lambda p: p.pk)
    assert ids(await Post.objects.order_by("id")[window]) == ids(ordered[window])


async def test_slices_of_slices(blog: Blog) -> None:
    ordered = sorted(blog.posts, key=lambda p: p.pk)
    qs = Post.objects.order_by("id")
    assert ids(await qs[2:15][3:6]) == ids(ordered[2:15][3:6])
    assert ids(await qs[2:15][5:]) == ids(ordered[2:15][5:])
    assert ids(await qs[10:][:4]) == ids(ordered[10:][:4])
    assert ids(await qs[2:5][4:9]) == ids(ordered[2:5][4:9])
    assert ids(await qs.limit(6)[2:]) == ids(ordered[:6][2:])
    assert ids(await qs.offset(3)[1:4]) == ids(ordered[3:][1:4])


async def test_index_gives_one_instance(blog: Blog) -> None:
    ordered = sorted(blog.posts, key=lambda p: (-p.view_count, -p.pk))
    post = await Post.objects.order_by("-view_count", "-id")[3]
    assert isinstance(post, Post)
    assert post.pk == ordered[3].pk
    with pytest.raises(IndexError):
        await Post.objects.order_by("id")[len(blog.posts)]


async def test_slice_rejects_negative_and_step(db: Database) -> None:
    with pytest.raises(ValueError):
        Post.objects.all()[-1:]
    with pytest.raises(ValueError):
        Post.objects.all()[::2]
    with pytest.raises(ValueError):
        Post.objects.all()[-1]  # type: ignore[unused-coroutine]


async def test_filter_after_slice_is_refused(db: Database) -> None:
    with pytest.raises(TypeError):
        Post.objects.all()[:5].filter(is_published=True)
    with pytest.raises(TypeError):
        Post.objects.limit(5).exclude(is_published=True)


async def test_first_of_a_slice_is_the_first_row_of_the_slice(blog: Blog) -> None:
    ordered = sorted(blog.posts, key=lambda p: p.pk)
    assert (await Post.objects.order_by("id")[5:10].first()).pk == ordered[5].pk  # type: ignore[union-attr]
    assert await Post.objects.order_by("id")[100:].first() is None


async def test_reversing_a_slice_is_refused_like_django(blog: Blog) -> None:
    # Django: "Cannot reverse a query once a slice has been taken." Quietly reversing the
    # whole table and re-limiting gives another slice's rows.
    with pytest.raises(TypeError):
        await Post.objects.order_by("id")[:5].last()
    with pytest.raises(TypeError):
        Post.objects.order_by("id")[:5].reverse()


async def test_reordering_a_slice_is_refused_like_django(blog: Blog) -> None:
    # Django: "Cannot reorder a query once a slice has been taken."
    with pytest.raises(TypeError):
        Post.objects.order_by("id")[:5].order_by("-id")


async def test_limit_and_offset_like_the_guide(db: Database) -> None:
    user = await User.objects.create(name="Writer", email="writer@example.com")
    created = await Post.objects.bulk_create(
        [Post(title=f"t{i}", slug=f"s{i}", author=user, view_count=i) for i in range(100)]
    )
    page = await Post.objects.order_by("id").limit(20).offset(40).all()
    assert ids(page) == ids(created[40:60])
    unordered = await Post.objects.limit(20).offset(40).all()
    assert len(unordered) == 20
    assert ids(await Post.objects.order_by("id").offset(95)) == ids(created[95:])
    assert await Post.objects.limit(0) == []
    with pytest.raises(aksara.ValidationError):
        Post.objects.limit(-1)
    with pytest.raises(aksara.ValidationError):
        Post.objects.offset("3")  # type: ignore[arg-type]


# first / last / get / count / exists -----------------------------------------------------------------


async def test_first_and_last(blog: Blog) -> None:
    by_pk = sorted(blog.posts, key=lambda p: p.pk)
    assert (await Post.objects.first()).pk == by_pk[0].pk  # type: ignore[union-attr]
    assert (await Post.objects.last()).pk == by_pk[-1].pk  # type: ignore[union-attr]
    by_views = sorted(blog.posts, key=lambda p: (p.view_count, p.pk))
    qs = Post.objects.order_by("view_count", "id")
    assert (await qs.first()).pk == by_views[0].pk  # type: ignore[union-attr]
    assert (await qs.last()).pk == by_views[-1].pk  # type: ignore[union-attr]
    assert await Post.objects.filter(view_count__gt=1000).first() is None
    assert await Post.objects.filter(view_count__gt=1000).last() is None


async def test_get(blog: Blog) -> None:
    post = blog.posts[5]
    assert (await Post.objects.get(slug=post.slug)).pk == post.pk
    assert (await Post.objects.filter(slug=post.slug).get()).pk == post.pk
    assert (await Post.objects.get(Q(slug=post.slug) | Q(slug="missing"))).pk == post.pk
    with pytest.raises(Post.DoesNotExist) as missing:
        await Post.objects.get(slug="missing")
    assert isinstance(missing.value, ObjectDoesNotExist)
    assert isinstance(missing.value, LookupError)
    with pytest.raises(Post.MultipleObjectsReturned) as many:
        await Post.objects.get(is_published=True)
    assert isinstance(many.value, MultipleObjectsReturned)


async def test_get_by_key_binds_into_the_compiled_statement(
    blog: Blog, monkeypatch: pytest.MonkeyPatch
) -> None:
    post, other = blog.posts[3], blog.posts[7]
    assert (await Post.objects.get(pk=post.pk)).slug == post.slug  # compiles the statement once
    assert (await Post.objects.get(slug=other.slug)).pk == other.pk
    assert (await Post.objects.get(id=other.pk)).pk == other.pk

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("get(key=value) built a condition tree or copied the query")

    # Later gets by key build no condition and copy no query: the value is checked and bound.
    # The statement is the one remembered with this database's cache (no key is hashed into
    # it; each counts as a hit), and an int within the key's range is bound as it is.
    monkeypatch.setattr("aksara.orm.queryset.condition", refused)
    monkeypatch.setattr(aksara.orm.query.Query, "replace", refused)
    statements = aksara.get_database().statements
    monkeypatch.setattr(type(statements), "get", refused)
    prepared: list[Any] = []
    prepare = aksara.orm.lookups.Exact.prepare

    def recorded(lookup: Any, field: Any, value: Any, key: str) -> Any:
        prepared.append(value)
        return prepare(lookup, field, value, key)

    monkeypatch.setattr(aksara.orm.lookups.Exact, "prepare", recorded, raising=False)
    hits = statements.hits
    with capture() as seen:
        assert (await Post.objects.get(pk=other.pk)).slug == other.slug
        assert (await Post.objects.get(id=post.pk)).slug == post.slug
        assert (await Post.objects.get(slug=post.slug)).pk == post.pk
        with pytest.raises(Post.DoesNotExist, match="No Post matches"):
            await Post.objects.get(pk=10**9)
    assert len(seen) == 4
    assert statements.hits == hits + 4
    assert prepared == [post.slug]
    assert all(event.params[-1] == 2 for event in seen.events)  # LIMIT 2 decides MultipleObjects
    # A value the column cannot hold matches no row: DoesNotExist with no statement sent.
    with capture() as seen, pytest.raises(Post.DoesNotExist):
        await Post.objects.get(pk=2**70)
    assert len(seen) == 0
    # The lookup's own check still refuses a value of the wrong type, before any statement.
    with capture() as seen, pytest.raises(aksara.ValidationError, match="id"):
        await Post.objects.get(pk="seven")
    assert len(seen) == 0


async def test_get_by_key_leaves_other_gets_to_the_general_path(blog: Blog) -> None:
    post = blog.posts[2]
    # Query state, None, lookups other than exact and joins keep the general path's meaning.
    assert (await Post.objects.filter(is_published=post.is_published).get(pk=post.pk)).pk == post.pk
    with pytest.raises(Post.MultipleObjectsReturned):
        await Post.objects.get(is_published=True)
    with pytest.raises(Post.DoesNotExist):
        await Post.objects.filter(pk=post.pk).exclude(pk=post.pk).get(slug=post.slug)
    assert (await Post.objects.only("id").get(pk=post.pk)).pk == post.pk
    assert await Post.objects.values_list("slug", flat=True).get(pk=post.pk) == post.slug
    with pytest.raises(Post.DoesNotExist):
        await Post.objects.get(pk=None)
    assert (await Post.objects.get(slug__exact=post.slug)).pk == post.pk
    assert (await Post.objects.get(slug__iexact=post.slug.upper())).pk == post.pk
    author = blog.author_of(post)
    assert (await Post.objects.get(author__name=author.name, slug=post.slug)).pk == post.pk
    with pytest.raises(Post.DoesNotExist):
        await Post.objects.none().get(pk=post.pk)


async def test_does_not_exist_is_per_model(db: Database) -> None:
    assert Post.DoesNotExist is not User.DoesNotExist
    assert not issubclass(User.DoesNotExist, Post.DoesNotExist)
    with pytest.raises(User.DoesNotExist):
        try:
            await User.objects.get(pk=12345)
        except Post.DoesNotExist:  # pragma: no cover - must not catch it
            pytest.fail("User.DoesNotExist was caught as Post.DoesNotExist")


async def test_count_and_exists(blog: Blog) -> None:
    assert await Post.objects.count() == len(blog.posts)
    assert await Post.objects.filter(is_published=True).count() == sum(
        p.is_published for p in blog.posts
    )
    assert await Post.objects.filter(author__name__startswith="Grace").count() == sum(
        blog.author_of(p).name.startswith("Grace") for p in blog.posts
    )
    assert await Post.objects.order_by("id")[5:10].count() == 5
    assert await Post.objects.order_by("id")[20:].count() == len(blog.posts) - 20
    assert await Post.objects.filter(view_count__gt=1000).count() == 0
    assert await Post.objects.exists() is True
    assert await Post.objects.filter(view_count__gt=1000).exists() is False
    assert await Post.objects.order_by("id")[len(blog.posts) :].exists() is False
    assert await Post.objects.order_by("id")[len(blog.posts) - 1 :].exists() is True


async def test_three_counts_gathered(blog: Blog) -> None:
    users, posts, comments = await asyncio.gather(
        User.objects.count(), Post.objects.count(), Comment.objects.count()
    )
    assert (users, posts, comments) == (len(blog.users), len(blog.posts), len(blog.comments))


# values / values_list ----------------------------------------------------------------------------


async def test_values_dicts(blog: Blog) -> None:
    rows = await Post.objects.order_by("id").values("id", "title", "is_published")
    assert rows == [
        {"id": p.pk, "title": p.title, "is_published": p.is_published}
        for p in sorted(blog.posts, key=lambda p: p.pk)
    ]
    assert all(type(row["is_published"]) is bool for row in rows)


async def test_values_without_names_gives_every_column(blog: Blog) -> None:
    rows = await Post.objects.filter(pk=blog.posts[0].pk).values()
    post = blog.posts[0]
    assert rows == [
        {
            "id": post.pk,
            "title": post.title,
            "slug": post.slug,
            "content": post.content,
            "metadata": post.metadata,
            "author_id": post.author_id,
            "is_published": post.is_published,
            "view_count": post.view_count,
            "created_at": post.created_at,
        }
    ]


async def test_values_follow_foreign_keys(blog: Blog) -> None:
    rows = await Post.objects.order_by("id").values("title", "author__name", "author__created_at")
    assert rows == [
        {
            "title": p.title,
            "author__name": blog.author_of(p).name,
            "author__created_at": blog.author_of(p).created_at,
        }
        for p in sorted(blog.posts, key=lambda p: p.pk)
    ]
    rows = await Post.objects.filter(pk=blog.posts[2].pk).values("author")
    assert rows == [{"author": blog.posts[2].author_id}]


async def test_values_list(blog: Blog) -> None:
    ordered = sorted(blog.posts, key=lambda p: p.pk)
    rows = await Post.objects.order_by("id").values_list("id", "slug", "author__email")
    assert rows == [(p.pk, p.slug, blog.author_of(p).email) for p in ordered]
    flat = await Post.objects.order_by("id").values_list("view_count", flat=True)
    assert flat == [p.view_count for p in ordered]
    with pytest.raises(TypeError):
        Post.objects.values_list("id", "slug", flat=True)


async def test_values_convert_types_on_every_database(kitchens: list[Kitchen]) -> None:
    rows = await Kitchen.objects.order_by("id").values_list(
        "flag", "moment", "day", "token", "price", "data"
    )
    assert rows == [(k.flag, k.moment, k.day, k.token, k.price, k.data) for k in kitchens]
    assert all(type(row[0]) is bool for row in rows)


# only / defer ------------------------------------------------------------------------------------------


async def test_only_like_the_guide(blog: Blog) -> None:
    posts = await Post.objects.only("id", "title", "slug").all()
    assert sorted((p.pk, p.title, p.slug) for p in posts) == sorted(
        (p.pk, p.title, p.slug) for p in blog.posts
    )
    with capture() as seen:
        for name in ("content", "metadata", "view_count", "author_id", "author", "created_at"):
            with pytest.raises(DeferredFieldError) as error:
                getattr(posts[0], name)
            assert "only()/defer()" in str(error.value)
    assert len(seen) == 0, "reading a deferred field must never query"
    assert isinstance(DeferredFieldError("x"), AttributeError)


async def test_defer_like_the_guide(blog: Blog) -> None:
    posts = await Post.objects.defer("content", "metadata").all()
    by_pk = {p.pk: p for p in blog.posts}
    for post in posts:
        assert post.title == by_pk[post.pk].title
        assert post.view_count == by_pk[post.pk].view_count
        assert post.author_id == by_pk[post.pk].author_id
    with capture() as seen, pytest.raises(DeferredFieldError):
        _ = posts[0].content
    with capture() as seen, pytest.raises(DeferredFieldError):
        _ = posts[0].metadata
    assert len(seen) == 0
    with capture() as seen:
        await Post.objects.defer("content", "metadata").limit(1)
    sql = seen.statements[0]
    assert '"content"' not in sql and '"metadata"' not in sql and '"title"' in sql


async def test_only_always_loads_the_primary_key(blog: Blog) -> None:
    posts = await Post.objects.only("title").order_by("id")
    assert [(p.pk, p.title) for p in posts] == [
        (p.pk, p.title) for p in sorted(blog.posts, key=lambda p: p.pk)
    ]


async def test_refresh_from_db_loads_a_deferred_field(blog: Blog) -> None:
    post = await Post.objects.only("id", "title").get(pk=blog.posts[3].pk)
    await post.refresh_from_db(fields=["content"])
    assert post.content == blog.posts[3].content
    assert post.title == blog.posts[3].title


async def test_saving_a_partly_loaded_instance_keeps_the_other_columns(blog: Blog) -> None:
    original = blog.posts[4]
    post = await Post.objects.only("id", "title").get(pk=original.pk)
    post.title = "Renamed"
    await post.save()
    fresh = await Post.objects.get(pk=original.pk)
    assert fresh.title == "Renamed"
    assert (fresh.content, fresh.metadata, fresh.view_count, fresh.slug) == (
        original.content,
        original.metadata,
        original.view_count,
        original.slug,
    )


async def test_defer_of_the_primary_key_is_refused(db: Database) -> None:
    with pytest.raises(aksara.FieldError):
        Post.objects.defer("id")


# distinct -----------------------------------------------------------------------------------------------


async def test_distinct_values(blog: Blog) -> None:
    authors = await Post.objects.values_list("author_id", flat=True).distinct()
    assert sorted(authors) == sorted({p.author_id for p in blog.posts})
    pairs = await Post.objects.values_list("author_id", "is_published").distinct()
    assert sorted(pairs) == sorted({(p.author_id, p.is_published) for p in blog.posts})
    assert await Post.objects.values_list("author_id", flat=True).distinct().count() == len(
        {p.author_id for p in blog.posts}
    )


async def test_distinct_values_of_a_model_with_default_ordering(db: Database) -> None:
    category = await Category.objects.create(name="c")
    tags = [await Tag.objects.create(name=f"t{i}", category=category) for i in range(3)]
    for i in range(9):
        await Label.objects.create(name=f"label {i}", tag=tags[i % 2])
    found = await Label.objects.values_list("tag_id", flat=True).distinct()
    assert set(found) == {tags[0].pk, tags[1].pk}
    found = await Label.objects.order_by().values_list("tag_id", flat=True).distinct()
    assert sorted(found) == sorted([tags[0].pk, tags[1].pk])


# none() -----------------------------------------------------------------------------------------------


async def test_none_never_touches_the_database(blog: Blog) -> None:
    empty = Post.objects.none()
    with capture() as seen:
        assert await empty == []
        assert await empty.filter(is_published=True) == []
        assert await empty.count() == 0
        assert await empty.exists() is False
        assert await empty.first() is None
        assert await empty.values("id") == []
        assert await empty.in_bulk([blog.posts[0].pk]) == {}
        assert await empty.update(view_count=1) == 0
        assert await empty.delete() == 0
        assert await empty.aggregate(n=Count("id"), s=Sum("view_count")) == {"n": 0, "s": None}
        with pytest.raises(Post.DoesNotExist):
            await empty.get()
        assert [p async for p in empty] == []
    assert len(seen) == 0
    assert await Post.objects.count() == len(blog.posts)


# in_bulk -------------------------------------------------------------------------------------------------


async def test_in_bulk(blog: Blog) -> None:
    wanted = [blog.posts[0].pk, blog.posts[5].pk, 99_999]
    found = await Post.objects.in_bulk(wanted)
    assert sorted(found) == sorted([blog.posts[0].pk, blog.posts[5].pk])
    assert all(found[key].pk == key for key in found)
    assert found[blog.posts[5].pk].title == blog.posts[5].title
    assert await Post.objects.in_bulk([]) == {}
    everything = await Post.objects.filter(is_published=False).in_bulk()
    assert sorted(everything) == sorted(p.pk for p in blog.posts if not p.is_published)
    by_email = await User.objects.in_bulk(
        ["user1@example.com", "user3@example.com"], field_name="email"
    )
    assert {email: user.pk for email, user in by_email.items()} == {
        "user1@example.com": blog.users[1].pk,
        "user3@example.com": blog.users[3].pk,
    }
    with pytest.raises(aksara.FieldError):
        await User.objects.in_bulk(["Ada Lovelace"], field_name="name")


# Aggregates ----------------------------------------------------------------------------------------------


async def test_aggregate_over_posts(blog: Blog) -> None:
    views = [p.view_count for p in blog.posts]
    result = await Post.objects.aggregate(
        n=Count("id"),
        s=Sum("view_count"),
        a=Avg("view_count"),
        lo=Min("view_count"),
        hi=Max("view_count"),
    )
    assert result["n"] == len(views)
    assert result["s"] == sum(views)
    assert result["a"] == pytest.approx(statistics.mean(views))
    assert (result["lo"], result["hi"]) == (min(views), max(views))
    assert type(result["n"]) is int and type(result["s"]) is int and type(result["a"]) is float


async def test_aggregate_with_filter_count_star_and_distinct(blog: Blog) -> None:
    result = (
        await Post.objects.filter(is_published=True)
        .exclude(title__icontains="async")
        .aggregate(n=Count(), authors=Count("author", distinct=True), hi=Max("title"))
    )
    chosen = [p for p in blog.posts if p.is_published and "async" not in p.title.lower()]
    assert result == {
        "n": len(chosen),
        "authors": len({p.author_id for p in chosen}),
        "hi": max(p.title for p in chosen),
    }


async def test_aggregate_across_foreign_key(blog: Blog) -> None:
    result = await Post.objects.aggregate(first=Min("author__email"), total=Sum("author__id"))
    assert result == {
        "first": min(blog.author_of(p).email for p in blog.posts),
        "total": sum(p.author_id for p in blog.posts),
    }


async def test_aggregate_over_no_rows(db: Database) -> None:
    result = await Post.objects.aggregate(
        n=Count("id"),
        s=Sum("view_count"),
        a=Avg("view_count"),
        lo=Min("view_count"),
        hi=Max("created_at"),
    )
    assert result == {"n": 0, "s": None, "a": None, "lo": None, "hi": None}


async def test_aggregate_of_every_kind(kitchens: list[Kitchen]) -> None:
    def present(name: str) -> list[Any]:
        return [getattr(k, name) for k in kitchens if getattr(k, name) is not None]

    result = await Kitchen.objects.aggregate(
        n=Count("price"),
        big=Sum("big"),
        ratio=Sum("ratio"),
        first=Min("moment"),
        last=Max("moment"),
        day=Max("day"),
        small=Min("small"),
    )
    assert result["n"] == len(present("price"))
    assert result["big"] == sum(present("big"))
    assert result["ratio"] == pytest.approx(sum(present("ratio")))
    assert result["first"] == min(present("moment")) and result["last"] == max(present("moment"))
    assert result["first"].tzinfo is not None
    assert result["day"] == max(present("day"))
    assert result["small"] == min(present("small"))


async def test_decimal_aggregates_are_exact(kitchens: list[Kitchen]) -> None:
    prices = [k.price for k in kitchens if k.price is not None]
    result = await Kitchen.objects.aggregate(s=Sum("price"), lo=Min("price"), hi=Max("price"))
    assert result == {"s": sum(prices), "lo": min(prices), "hi": max(prices)}
    assert all(isinstance(value, Decimal) for value in result.values())


async def test_decimal_sum_of_cents_is_exact(db: Database) -> None:
    prices = [Decimal("0.10"), Decimal("0.20"), Decimal("1.10"), Decimal("0.60")]
    await Kitchen.objects.bulk_create(
        [Kitchen(label=f"k{i}", price=p) for i, p in enumerate(prices[:3])]
    )
    await Kitchen.objects.create(label="k3", price=prices[3])
    result = await Kitchen.objects.filter(label__in=["k0", "k1", "k2"]).aggregate(s=Sum("price"))
    assert result["s"] == Decimal("1.40")
    result = await Kitchen.objects.aggregate(s=Sum("price"), a=Avg("price"))
    assert result["s"] == Decimal("2.00")
    assert result["a"] == Decimal("0.5")


async def test_aggregate_needs_aggregates(db: Database) -> None:
    with pytest.raises(TypeError):
        await Post.objects.aggregate()
    with pytest.raises(TypeError):
        await Post.objects.aggregate(n=F("id"))  # type: ignore[arg-type]


# explain ---------------------------------------------------------------------------------------------------


async def test_explain_mentions_the_table_and_uses_an_index(db: Database) -> None:
    users = await User.objects.bulk_create(
        [User(name=f"u{i}", email=f"u{i}@example.com") for i in range(50)]
    )
    await Post.objects.bulk_create(
        [
            Post(title=f"t{i}", slug=f"s{i}", author=users[i % 50], is_published=(i // 50) % 5 == 0)
            for i in range(5_000)
        ]
    )
    user = users[7]
    if db.dialect.name == "postgresql":
        await db.execute("ANALYZE posts")
    plan = await Post.objects.filter(author=user, is_published=True).explain()
    assert isinstance(plan, str) and plan.strip()
    assert "posts" in plan
    assert "index" in plan.lower(), plan
    if db.dialect.name == "postgresql":
        analyzed = await Post.objects.filter(author=user, is_published=True).explain(analyze=True)
        assert "actual time" in analyzed
    # The plan asked for a query, it did not run it: the rows are unchanged and countable.
    expected = sum(1 for i in range(5_000) if i % 50 == 7 and (i // 50) % 5 == 0)
    assert await Post.objects.filter(author=user, is_published=True).count() == expected


# Foreign-key access ------------------------------------------------------------------------------------------


async def test_await_loads_the_foreign_key_target(blog: Blog) -> None:
    post = await Post.objects.get(pk=blog.posts[2].pk)
    with capture() as seen:
        author = await post.author
    assert len(seen) == 1
    assert isinstance(author, User)
    assert author.pk == blog.posts[2].author_id
    assert author.name == blog.author_of(blog.posts[2]).name
    with capture() as seen:
        assert post.author.name == author.name
        assert (await post.author).pk == author.pk
    assert len(seen) == 0, "a loaded relation is cached on the instance"


async def test_unloaded_relation_raises_naming_select_related(blog: Blog) -> None:
    post = await Post.objects.get(pk=blog.posts[0].pk)
    with capture() as seen:
        with pytest.raises(RelationNotLoadedError) as error:
            _ = post.author.name
        assert 'select_related("author")' in str(error.value)
        assert post.author_id == blog.posts[0].author_id
    assert len(seen) == 0
    comment = await Comment.objects.first()
    assert comment is not None
    with pytest.raises(RelationNotLoadedError) as error:
        _ = comment.post.title
    assert 'select_related("post")' in str(error.value)
    assert (await comment.post).pk == comment.post_id


async def test_relation_assigned_at_creation_is_available(blog: Blog) -> None:
    user = blog.users[0]
    post = await Post.objects.create(title="t", slug="s", author=user)
    assert post.author is user
    assert post.author_id == user.pk
    post.author = blog.users[1]
    assert post.author_id == blog.users[1].pk
    await post.save()
    fresh = await Post.objects.get(pk=post.pk)
    assert (await fresh.author).pk == blog.users[1].pk


async def test_nullable_foreign_key_reads_none(db: Database) -> None:
    label = await Label.objects.create(name="loose")
    fresh = await Label.objects.get(pk=label.pk)
    assert fresh.tag is None
    assert fresh.tag_id is None


async def test_the_guide_listing_with_in_bulk(blog: Blog) -> None:
    with capture() as seen:
        posts = await Post.objects.order_by("-id").limit(10)
        authors = await User.objects.in_bulk({post.author_id for post in posts})
        listing = [(post.title, authors[post.author_id].name) for post in posts]
    assert len(seen) == 2
    newest = sorted(blog.posts, key=lambda p: -p.pk)[:10]
    assert listing == [(p.title, blog.author_of(p).name) for p in newest]


async def test_filter_by_datetime_relative_to_creation(blog: Blog) -> None:
    cutoff = blog.users[2].created_at
    found = sorted(u.pk for u in await User.objects.filter(created_at__gt=cutoff))
    assert found == sorted(u.pk for u in blog.users if u.created_at > cutoff)
    assert all(u.created_at.tzinfo is not None for u in await User.objects.all())
    assert dt.datetime.now(UTC) - cutoff < dt.timedelta(minutes=5)
