"""Relations: forward keys, reverse managers, one-to-one, many-to-many, relation loading
modes and select_related, each checked against the naive N+1 loop, with exact query counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import aksara
from aksara import DeferredFieldError, FieldError, IntegrityError, Model, fields
from aksara.conf import settings
from aksara.db import Database
from aksara.orm import RelationNotLoadedError
from aksara.orm.registry import registry
from examples.blog.models import Comment, Post, User
from tests.models import Category, Label, Tag
from tests.orm.conftest import capture
from tests.orm.relation_models import (
    SIZES,
    Article,
    Keyword,
    Playlist,
    Profile,
    Song,
    comments_of,
    naive_authors,
    naive_comments,
    seed_blog,
)


async def table_names(db: Database) -> set[str]:
    if db.dialect.name == "postgresql":
        rows = await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    else:
        rows = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row[0] for row in rows}


@contextmanager
def throwaway_models() -> Iterator[list[type[Model]]]:
    """Unregister the models defined in the block (even one whose definition failed)."""
    before = set(registry.models())
    made: list[type[Model]] = []
    try:
        yield made
    finally:
        for model in registry.models():
            if model not in before:
                registry.unregister(model)


# Forward foreign keys ------------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
async def test_select_related_author_is_the_instance_without_a_query(db: Database, n: int) -> None:
    await seed_blog(n)
    expected = await naive_authors()
    with capture() as seen:
        posts = await Post.objects.select_related("author").order_by("id")
        got = {post.pk: (post.author.pk, post.author.name) for post in posts}
        awaited = [await post.author for post in posts]
    assert len(seen) == 1
    assert got == expected
    assert all(isinstance(author, User) for author in awaited)
    assert [a.pk for a in awaited] == [post.author_id for post in posts]
    assert all(awaited[i] is posts[i].author for i in range(len(posts)))


@pytest.mark.parametrize("n", SIZES)
async def test_prefetch_related_author_costs_one_extra_query(db: Database, n: int) -> None:
    await seed_blog(n)
    expected = await naive_authors()
    with capture() as seen:
        posts = await Post.objects.prefetch_related("author").order_by("id")
        got = {post.pk: (post.author.pk, post.author.name) for post in posts}
    assert len(seen) == 2
    assert got == expected


async def test_await_loads_the_author_once_and_keeps_it(db: Database) -> None:
    seeded = await seed_blog(3)
    post = await Post.objects.get(pk=seeded.posts[1].pk)
    with capture() as seen:
        author = await post.author
    assert len(seen) == 1
    assert isinstance(author, User)
    assert author.pk == seeded.posts[1].author_id
    assert author.name == seeded.users[3].name
    with capture() as seen:
        assert post.author is author
        assert post.author.name == author.name
        assert await post.author is author  # awaiting a loaded relation is free too
    assert len(seen) == 0


async def test_author_id_is_there_whatever_the_loading(db: Database) -> None:
    seeded = await seed_blog(2)
    wanted = seeded.posts[1].author_id
    plain = await Post.objects.get(pk=seeded.posts[1].pk)
    joined = await Post.objects.select_related("author").get(pk=seeded.posts[1].pk)
    prefetched = (await Post.objects.prefetch_related("author").filter(pk=seeded.posts[1].pk))[0]
    with capture() as seen:
        assert plain.author_id == joined.author_id == prefetched.author_id == wanted
    assert len(seen) == 0


async def test_unloaded_author_raises_naming_select_related(db: Database) -> None:
    seeded = await seed_blog(1)
    post = await Post.objects.get(pk=seeded.posts[0].pk)
    with capture() as seen:
        with pytest.raises(RelationNotLoadedError) as error:
            _ = post.author.name
        with pytest.raises(RelationNotLoadedError):
            bool(post.author)
        with pytest.raises(RelationNotLoadedError):
            _ = post.author == seeded.users[0]
    assert len(seen) == 0
    message = str(error.value)
    assert 'select_related("author")' in message
    assert "Post.author" in message
    assert isinstance(error.value, aksara.AksaraError)


async def test_changing_the_key_forgets_the_loaded_author(db: Database) -> None:
    seeded = await seed_blog(2)
    post = await Post.objects.select_related("author").get(pk=seeded.posts[0].pk)
    other = seeded.users[5]
    assert post.author.pk != other.pk
    post.author_id = other.pk
    with pytest.raises(RelationNotLoadedError):
        _ = post.author.name
    with capture() as seen:
        assert (await post.author).name == other.name
    assert len(seen) == 1


async def test_nullable_foreign_key_gives_none(db: Database) -> None:
    root = await Category.objects.create(name="root")
    await Category.objects.create(name="leaf", parent=root)
    plain = await Category.objects.get(name="root")
    joined = await Category.objects.select_related("parent").get(name="root")
    prefetched = (await Category.objects.prefetch_related("parent").filter(name="root"))[0]
    with capture() as seen:
        assert plain.parent is None
        assert joined.parent is None
        assert prefetched.parent is None
        assert plain.parent_id is None
    assert len(seen) == 0
    leaf = await Category.objects.get(name="leaf")
    assert (await leaf.parent).name == "root"


# Reverse foreign keys ------------------------------------------------------------------------


async def test_reverse_manager_queries(db: Database) -> None:
    seeded = await seed_blog(6)
    post = await Post.objects.get(pk=seeded.posts[1].pk)  # comments_of(1) == 3
    expected = sorted(c.pk for c in seeded.comments if c.post_id == post.pk)
    assert len(expected) == comments_of(1) == 3
    with capture() as seen:
        rows = await post.comments.all()
    assert len(seen) == 1
    assert sorted(c.pk for c in rows) == expected
    assert all(isinstance(c, Comment) and c.post_id == post.pk for c in rows)
    assert await post.comments.count() == 3
    body = "comment 1-2"
    assert [c.body for c in await post.comments.filter(body=body)] == [body]
    assert await post.comments.filter(body="comment 0-0").count() == 0  # another post's
    assert await post.comments.exclude(body=body).count() == 2
    empty = await Post.objects.get(pk=seeded.posts[2].pk)  # comments_of(2) == 0
    assert await empty.comments.all() == []
    assert await empty.comments.count() == 0


async def test_reverse_manager_create_sets_the_parent(db: Database) -> None:
    seeded = await seed_blog(3)
    post = await Post.objects.get(pk=seeded.posts[2].pk)
    writer = seeded.users[4]
    created = await post.comments.create(author=writer, body="fresh")
    assert created.pk is not None
    assert created.post_id == post.pk
    assert created.post is post
    assert created.author_id == writer.pk
    stored = await Comment.objects.get(pk=created.pk)
    assert (stored.post_id, stored.author_id, stored.body) == (post.pk, writer.pk, "fresh")
    assert [c.pk for c in await post.comments.all()] == [created.pk]


async def test_default_reverse_name_is_the_snake_case_plural(db: Database) -> None:
    seeded = await seed_blog(20)
    assert Post._meta.get_field("author").reverse_name == "posts"
    for user in seeded.users[:3]:
        fresh = await User.objects.get(pk=user.pk)
        mine = sorted(p.pk for p in seeded.posts if p.author_id == user.pk)
        assert mine  # every one of the first users wrote something
        assert sorted(p.pk for p in await fresh.posts.all()) == mine
        assert await fresh.posts.count() == len(mine)
        theirs = sorted(c.pk for c in seeded.comments if c.author_id == user.pk)
        assert sorted(c.pk for c in await fresh.comments.all()) == theirs


async def test_iterating_an_unprefetched_reverse_manager_raises(db: Database) -> None:
    seeded = await seed_blog(2)
    post = await Post.objects.get(pk=seeded.posts[0].pk)
    with capture() as seen:
        with pytest.raises(RelationNotLoadedError) as error:
            list(post.comments)
        with pytest.raises(RelationNotLoadedError):
            len(post.comments)
        with pytest.raises(RelationNotLoadedError):
            _ = post.comments[0]
        with pytest.raises(RelationNotLoadedError):
            bool(post.comments)
    assert len(seen) == 0
    assert 'prefetch_related("comments")' in str(error.value)


@pytest.mark.parametrize("n", SIZES)
async def test_prefetched_reverse_manager_needs_no_query(db: Database, n: int) -> None:
    await seed_blog(n)
    expected = await naive_comments()
    with capture() as seen:
        posts = await Post.objects.prefetch_related("comments").order_by("id")
    assert len(seen) == 2
    with capture() as seen:
        for post in posts:
            iterated = sorted(c.pk for c in post.comments)
            assert len(post.comments) == len(expected[post.pk])
            assert iterated == [row[0] for row in expected[post.pk]]
            assert sorted(c.pk for c in await post.comments.all()) == iterated
            assert await post.comments.count() == len(iterated)
            assert bool(post.comments) == bool(iterated)
            for comment in post.comments:
                assert comment.post is post  # the back link is set, no query
    assert len(seen) == 0


async def test_create_on_a_prefetched_manager_joins_the_loaded_rows(db: Database) -> None:
    seeded = await seed_blog(1)
    post = (await Post.objects.prefetch_related("comments"))[0]
    before = len(post.comments)
    created = await post.comments.create(author=seeded.users[0], body="late")
    with capture() as seen:
        assert len(post.comments) == before + 1
        assert created in list(post.comments)
    assert len(seen) == 0


async def test_assigning_to_a_reverse_manager_is_refused(db: Database) -> None:
    seeded = await seed_blog(1)
    post = await Post.objects.get(pk=seeded.posts[0].pk)
    with pytest.raises(AttributeError):
        post.comments = []


def test_clashing_reverse_accessors_raise_when_the_class_is_defined() -> None:
    with throwaway_models():

        class RelClashHost(Model):
            name = fields.String(max_length=20)

        class RelClashFirst(Model):
            host = fields.ForeignKey(RelClashHost, on_delete=fields.CASCADE, related_name="items")

        with pytest.raises(FieldError) as error:

            class RelClashSecond(Model):
                host = fields.ForeignKey(
                    RelClashHost, on_delete=fields.CASCADE, related_name="items"
                )

        assert "items" in str(error.value)
        assert "related_name" in str(error.value)
        # The first accessor still points at the first model.
        assert RelClashHost._meta.reverse_relations["items"].model is RelClashFirst


def test_a_model_whose_definition_failed_is_not_registered() -> None:
    """create_tables() must not make a table for a class that never came to exist."""
    with throwaway_models():

        class RelClashRoot(Model):
            name = fields.String(max_length=20)

        class RelClashLeft(Model):
            root = fields.ForeignKey(RelClashRoot, on_delete=fields.CASCADE, related_name="kids")

        with pytest.raises(FieldError):

            class RelClashRight(Model):
                root = fields.ForeignKey(
                    RelClashRoot, on_delete=fields.CASCADE, related_name="kids"
                )

        registered = {model.__name__ for model in registry.models()}
        assert {"RelClashRoot", "RelClashLeft"} <= registered
        assert "RelClashRight" not in registered


def test_default_reverse_name_clashing_with_a_field_raises() -> None:
    with throwaway_models():

        class RelClashOwner(Model):
            rel_clash_pets = fields.Integer(default=0)

        with pytest.raises(FieldError) as error:

            class RelClashPet(Model):
                owner = fields.ForeignKey(RelClashOwner, on_delete=fields.CASCADE)

        assert "rel_clash_pets" in str(error.value)


# One-to-one ----------------------------------------------------------------------------------


async def test_one_to_one_reverse_accessor(db: Database) -> None:
    seeded = await seed_blog(1, users=3)
    with_profile, without = seeded.users[0], seeded.users[1]
    profile = await Profile.objects.create(user=with_profile, bio="hello")
    user = await User.objects.get(pk=with_profile.pk)
    with capture() as seen:
        loaded = await user.profile
    assert len(seen) == 1
    assert isinstance(loaded, Profile)
    assert (loaded.pk, loaded.bio, loaded.user_id) == (profile.pk, "hello", user.pk)
    with capture() as seen:
        assert user.profile is loaded
        assert user.profile.bio == "hello"
        assert await user.profile is loaded
    assert len(seen) == 0
    lonely = await User.objects.get(pk=without.pk)
    with capture() as seen:
        assert await lonely.profile is None
        assert lonely.profile is None
    assert len(seen) == 1


async def test_unloaded_one_to_one_raises_naming_prefetch_related(db: Database) -> None:
    seeded = await seed_blog(1, users=1)
    await Profile.objects.create(user=seeded.users[0])
    user = await User.objects.get(pk=seeded.users[0].pk)
    with capture() as seen:
        with pytest.raises(RelationNotLoadedError) as error:
            _ = user.profile.bio
        # Like an unloaded forward key, it must not pass for a present (or absent) profile.
        with pytest.raises(RelationNotLoadedError):
            bool(user.profile)
    assert len(seen) == 0
    assert 'prefetch_related("profile")' in str(error.value)


async def test_one_to_one_is_unique(db: Database) -> None:
    seeded = await seed_blog(1, users=1)
    await Profile.objects.create(user=seeded.users[0])
    with pytest.raises(IntegrityError):
        await Profile.objects.create(user=seeded.users[0])


@pytest.mark.parametrize("n", SIZES)
async def test_prefetch_one_to_one(db: Database, n: int) -> None:
    seeded = await seed_blog(1, users=n)
    await Profile.objects.bulk_create(
        [Profile(user=user, bio=f"bio {i}") for i, user in enumerate(seeded.users) if i % 3 != 2]
    )
    expected = {}
    for user in await User.objects.order_by("id"):
        found = await user.profile
        expected[user.pk] = None if found is None else (found.pk, found.bio)
    with capture() as seen:
        users = await User.objects.prefetch_related("profile").order_by("id")
        got = {
            user.pk: None if user.profile is None else (user.profile.pk, user.profile.bio)
            for user in users
        }
        for user in users:
            if user.profile is not None:
                assert user.profile.user is user
    assert len(seen) == 2
    assert got == expected
    assert sum(value is None for value in got.values()) == n // 3


async def test_one_to_one_forward_side(db: Database) -> None:
    seeded = await seed_blog(1, users=2)
    await Profile.objects.create(user=seeded.users[1], bio="b")
    with capture() as seen:
        profile = await Profile.objects.select_related("user").get(bio="b")
        assert profile.user.name == seeded.users[1].name
    assert len(seen) == 1
    found = await User.objects.filter(profile__bio="b")
    assert [u.pk for u in found] == [seeded.users[1].pk]
    assert await User.objects.filter(profile__isnull=True).count() == 1


# Many-to-many --------------------------------------------------------------------------------


async def keywords(*names: str) -> list[Keyword]:
    return [await Keyword.objects.create(name=name) for name in names]


async def tag_names(article: Article) -> list[str]:
    return sorted(k.name for k in await article.tags.all())


async def links(db: Database) -> int:
    return int(await db.fetchval('SELECT COUNT(*) FROM "articles_tags"'))


async def test_join_table_is_named_after_the_source_table_and_field(db: Database) -> None:
    through = Article._meta.many_relations["tags"].through
    assert through._meta.table_name == "articles_tags"
    assert Playlist._meta.many_relations["songs"].through._meta.table_name == "playlists_songs"
    assert {"articles_tags", "playlists_songs"} <= await table_names(db)


async def test_add_is_idempotent(db: Database) -> None:
    python, sql = await keywords("python", "sql")
    article = await Article.objects.create(title="a")
    await article.tags.add(python, sql)
    await article.tags.add(python)  # already linked: nothing changes, no error
    await article.tags.add(sql.pk)  # a primary key works too
    await article.tags.add(python, python)  # a repeat within one call too
    assert await tag_names(article) == ["python", "sql"]
    assert await article.tags.count() == 2
    assert await links(db) == 2


async def test_remove_set_clear(db: Database) -> None:
    a, b, c, d = await keywords("a", "b", "c", "d")
    article = await Article.objects.create(title="x")
    other = await Article.objects.create(title="y")
    await other.tags.add(a, b)
    await article.tags.add(a, b, c)
    await article.tags.remove(b)
    assert await tag_names(article) == ["a", "c"]
    await article.tags.set([c, d])
    assert await tag_names(article) == ["c", "d"]
    await article.tags.set([d, d.pk])
    assert await tag_names(article) == ["d"]
    await article.tags.clear()
    assert await tag_names(article) == []
    assert await tag_names(other) == ["a", "b"]  # the other article's links are untouched
    assert await links(db) == 2
    assert await Keyword.objects.count() == 4  # unlinking never deletes targets


async def test_create_makes_and_links_a_target(db: Database) -> None:
    article = await Article.objects.create(title="x")
    made = await article.tags.create(name="new")
    assert made.pk is not None
    assert (await Keyword.objects.get(name="new")).pk == made.pk
    assert await tag_names(article) == ["new"]


async def test_reverse_side_manager(db: Database) -> None:
    a, b = await keywords("a", "b")
    first = await Article.objects.create(title="first")
    second = await Article.objects.create(title="second")
    await first.tags.add(a, b)
    await second.tags.add(a)
    fresh = await Keyword.objects.get(pk=a.pk)
    assert sorted(x.title for x in await fresh.articles.all()) == ["first", "second"]
    assert [x.title for x in await b.articles.all()] == ["first"]
    await b.articles.add(second)
    assert await tag_names(second) == ["a", "b"]
    await a.articles.remove(first)
    assert await tag_names(first) == ["b"]


async def test_default_reverse_name_of_a_many_to_many(db: Database) -> None:
    song = await Song.objects.create(title="s")
    mix = await Playlist.objects.create(name="mix")
    await mix.songs.add(song)
    assert [p.name for p in await song.playlists.all()] == ["mix"]
    assert [s.title for s in await mix.songs.all()] == ["s"]


async def test_filter_across_a_many_to_many(db: Database) -> None:
    a, b, c = await keywords("a", "b", "c")
    one = await Article.objects.create(title="one")
    two = await Article.objects.create(title="two")
    await Article.objects.create(title="none")
    await one.tags.add(a, b)
    await two.tags.add(b, c)
    assert [x.title for x in await Article.objects.filter(tags__name="a")] == ["one"]
    assert sorted(x.title for x in await Article.objects.filter(tags__name="b")) == ["one", "two"]
    assert [x.title for x in await Article.objects.filter(tags=c)] == ["two"]
    assert [x.title for x in await Article.objects.filter(tags=c.pk)] == ["two"]
    assert sorted(k.name for k in await Keyword.objects.filter(articles__title="two")) == ["b", "c"]
    assert await Article.objects.filter(tags__name="zzz").count() == 0


async def test_linking_an_unsaved_target_is_refused(db: Database) -> None:
    article = await Article.objects.create(title="x")
    with pytest.raises(ValueError):
        await article.tags.add(Keyword(name="unsaved"))
    with pytest.raises(ValueError):
        await Article(title="unsaved").tags.add(*await keywords("k"))


@pytest.mark.parametrize("n", SIZES)
async def test_prefetch_many_to_many_on_both_sides(db: Database, n: int) -> None:
    words = await Keyword.objects.bulk_create([Keyword(name=f"k{i}") for i in range(5)])
    articles = await Article.objects.bulk_create([Article(title=f"t{i}") for i in range(n)])
    for i, article in enumerate(articles):
        await article.tags.add(*[w for j, w in enumerate(words) if (i + j) % 3 == 0])
    forward = {a.pk: await tag_names(a) for a in await Article.objects.all()}
    backward = {
        k.pk: sorted(x.title for x in await k.articles.all()) for k in await Keyword.objects.all()
    }
    with capture() as seen:
        got = {
            a.pk: sorted(k.name for k in a.tags)
            for a in await Article.objects.prefetch_related("tags")
        }
    assert len(seen) == 2
    assert got == forward
    with capture() as seen:
        loaded = await Keyword.objects.prefetch_related("articles")
        back = {k.pk: sorted(x.title for x in k.articles) for k in loaded}
        counts = {k.pk: await k.articles.count() for k in loaded}
    assert len(seen) == 2
    assert back == backward
    assert counts == {pk: len(titles) for pk, titles in backward.items()}


async def test_writing_a_prefetched_many_to_many_forgets_the_loaded_rows(db: Database) -> None:
    a, b = await keywords("a", "b")
    article = await Article.objects.create(title="x")
    await article.tags.add(a)
    loaded = (await Article.objects.prefetch_related("tags"))[0]
    assert [k.name for k in loaded.tags] == ["a"]
    await loaded.tags.add(b)
    assert await tag_names(loaded) == ["a", "b"]


# Relation loading modes ----------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
async def test_peers_mode_loads_every_author_with_the_first_await(db: Database, n: int) -> None:
    await seed_blog(n)
    expected = await naive_authors()
    with capture() as seen:
        posts = await Post.objects.relation_loading("peers").order_by("id")
        got = {}
        for post in posts:
            author = await post.author
            got[post.pk] = (author.pk, author.name)
    assert len(seen) == 2
    assert got == expected


@pytest.mark.parametrize("n", SIZES)
async def test_peers_mode_loads_every_comment_list_with_the_first_await(
    db: Database, n: int
) -> None:
    await seed_blog(n)
    expected = await naive_comments()
    with capture() as seen:
        posts = await Post.objects.relation_loading("peers").order_by("id")
        got = {}
        for post in posts:
            got[post.pk] = sorted(c.pk for c in await post.comments.all())
    assert len(seen) == 2
    assert got == {pk: [row[0] for row in rows] for pk, rows in expected.items()}


@pytest.mark.parametrize("n", SIZES)
async def test_peers_mode_loads_every_one_to_one_with_the_first_await(db: Database, n: int) -> None:
    # Every user has a profile: a profile known to be missing reads None, and `await None`
    # cannot work, so the loop below is only natural when all of them exist.
    seeded = await seed_blog(1, users=n)
    await Profile.objects.bulk_create(
        [Profile(user=user, bio=f"bio {i}") for i, user in enumerate(seeded.users)]
    )
    with capture() as seen:
        users = await User.objects.relation_loading("peers").order_by("id")
        got = {}
        for user in users:
            profile = await user.profile
            got[user.pk] = (profile.user_id, profile.bio)
    assert len(seen) == 2
    assert got == {u.pk: (u.pk, f"bio {i}") for i, u in enumerate(seeded.users)}


@pytest.mark.parametrize("n", SIZES)
async def test_peers_mode_loads_every_many_to_many_with_the_first_await(
    db: Database, n: int
) -> None:
    words = await Keyword.objects.bulk_create([Keyword(name=f"k{i}") for i in range(3)])
    articles = await Article.objects.bulk_create([Article(title=f"t{i}") for i in range(n)])
    for i, article in enumerate(articles):
        await article.tags.add(*words[: i % 4])
    with capture() as seen:
        loaded = await Article.objects.relation_loading("peers").order_by("id")
        got = {a.pk: sorted(k.name for k in await a.tags.all()) for a in loaded}
    assert len(seen) == 2
    assert got == {a.pk: [f"k{j}" for j in range(min(i % 4, 3))] for i, a in enumerate(articles)}


@pytest.mark.parametrize("n", SIZES)
async def test_lazy_mode_is_n_plus_one(db: Database, n: int) -> None:
    await seed_blog(n)
    expected = await naive_authors()
    with capture() as seen:
        posts = await Post.objects.relation_loading("lazy").order_by("id")
        got = {}
        for post in posts:
            author = await post.author
            got[post.pk] = (author.pk, author.name)
    assert len(seen) == n + 1
    assert got == expected


async def test_peers_mode_follows_a_changed_key(db: Database) -> None:
    seeded = await seed_blog(3)
    posts = await Post.objects.relation_loading("peers").select_related("author").order_by("id")
    other = seeded.users[6]
    assert posts[0].author.pk != other.pk
    posts[0].author_id = other.pk
    with pytest.raises(RelationNotLoadedError):
        _ = posts[0].author.name
    author = await posts[0].author
    assert author is not None
    assert (author.pk, author.name) == (other.pk, other.name)
    assert posts[0].author.pk == other.pk


async def test_raise_mode_refuses_lazy_loads(db: Database) -> None:
    seeded = await seed_blog(3)
    await Profile.objects.create(user=seeded.users[0])
    article = await Article.objects.create(title="a")
    posts = await Post.objects.relation_loading("raise").order_by("id")
    with capture() as seen:
        with pytest.raises(RelationNotLoadedError) as error:
            await posts[0].author
        with pytest.raises(RelationNotLoadedError):
            await posts[0].comments.all()
        with pytest.raises(RelationNotLoadedError):
            await (await User.objects.relation_loading("raise").get(pk=seeded.users[0].pk)).profile
        with pytest.raises(RelationNotLoadedError):
            await (await Article.objects.relation_loading("raise").get(pk=article.pk)).tags.all()
    assert len(seen) == 2  # the two get()s, no lazy load
    assert 'select_related("author")' in str(error.value)
    # Eager loads are what "raise" asks for, and they work.
    eager = await (
        Post.objects.relation_loading("raise")
        .select_related("author")
        .prefetch_related("comments")
        .order_by("id")
    )
    with capture() as seen:
        assert (await eager[0].author).pk == seeded.posts[0].author_id
        assert len(await eager[0].comments.all()) == comments_of(0)
    assert len(seen) == 0


async def test_relation_loading_setting(db: Database) -> None:
    seeded = await seed_blog(10)
    expected = await naive_authors()
    previous = settings.as_dict()
    aksara.configure(RELATION_LOADING="peers")
    try:
        assert settings.RELATION_LOADING == "peers"
        with capture() as seen:
            posts = await Post.objects.order_by("id")
            got = {post.pk: (await post.author).name for post in posts}
        assert len(seen) == 2
        assert got == {pk: name for pk, (_, name) in expected.items()}
        aksara.configure(RELATION_LOADING="raise")
        post = await Post.objects.get(pk=seeded.posts[0].pk)
        with pytest.raises(RelationNotLoadedError):
            await post.author
        # The QuerySet's own mode wins over the setting.
        post = await Post.objects.relation_loading("lazy").get(pk=seeded.posts[0].pk)
        assert (await post.author).pk == seeded.posts[0].author_id
    finally:
        aksara.configure(RELATION_LOADING=previous["RELATION_LOADING"])
    assert settings.as_dict() == previous
    with pytest.raises(aksara.ConfigurationError):
        aksara.configure(RELATION_LOADING="eager")
    with pytest.raises(ValueError):
        Post.objects.relation_loading("eager")


# select_related ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
async def test_select_related_is_one_query_with_a_join(db: Database, n: int) -> None:
    await seed_blog(n)
    expected = await naive_authors()
    with capture() as seen:
        posts = await Post.objects.select_related("author")
        got = {post.pk: (post.author.pk, post.author.name) for post in posts}
    assert len(seen) == 1
    assert "INNER JOIN" in seen.statements[0]
    assert "LEFT OUTER JOIN" not in seen.statements[0]
    assert got == expected


@pytest.mark.parametrize("n", SIZES)
async def test_nested_select_related(db: Database, n: int) -> None:
    await seed_blog(n)
    expected = {}
    for comment in await Comment.objects.all():
        post = await comment.post
        author = await post.author
        expected[comment.pk] = (post.pk, post.title, author.pk, author.name)
    with capture() as seen:
        comments = await Comment.objects.select_related("post__author")
        got = {
            c.pk: (c.post.pk, c.post.title, c.post.author.pk, c.post.author.name) for c in comments
        }
    assert len(seen) == 1
    assert seen.statements[0].count("JOIN") == 2
    assert got == expected
    assert len(got) == sum(comments_of(i) for i in range(n))


async def test_select_related_of_a_nullable_key_is_a_left_outer_join(db: Database) -> None:
    root = await Category.objects.create(name="root")
    mid = await Category.objects.create(name="mid", parent=root)
    await Category.objects.create(name="leaf", parent=mid)
    with capture() as seen:
        rows = await Category.objects.select_related("parent__parent").order_by("name")
        got = {
            c.name: (
                None if c.parent is None else c.parent.name,
                None if c.parent is None or c.parent.parent is None else c.parent.parent.name,
            )
            for c in rows
        }
    assert len(seen) == 1
    assert seen.statements[0].count("LEFT OUTER JOIN") == 2
    assert got == {"leaf": ("mid", "root"), "mid": ("root", None), "root": (None, None)}


async def test_select_related_through_a_nullable_key_keeps_rows_without_it(db: Database) -> None:
    food = await Category.objects.create(name="food")
    tag = await Tag.objects.create(name="fruit", category=food)
    await Label.objects.create(name="apple", tag=tag)
    await Label.objects.create(name="loose")
    with capture() as seen:
        rows = await Label.objects.select_related("tag__category")
    assert len(seen) == 1
    # Once the path went through a nullable key, every later join is outer too.
    assert seen.statements[0].count("LEFT OUTER JOIN") == 2
    assert [label.name for label in rows] == ["apple", "loose"]
    assert rows[0].tag.category.name == "food"
    assert rows[1].tag is None


async def test_select_related_with_filter_order_and_slicing(db: Database) -> None:
    seeded = await seed_blog(30)
    names = {u.pk: u.name for u in seeded.users}
    expected_posts = sorted(
        (p for p in seeded.posts if p.is_published and p.view_count > 5),
        key=lambda p: (names[p.author_id], -p.pk),
    )[3:10]
    with capture() as seen:
        rows = await (
            Post.objects.select_related("author")
            .filter(is_published=True, view_count__gt=5)
            .order_by("author__name", "-id")
            .limit(7)
            .offset(3)
        )
        got = [(p.pk, p.author.name) for p in rows]
    assert len(seen) == 1
    assert got == [(p.pk, names[p.author_id]) for p in expected_posts]
    assert len(got) == 7


async def test_select_related_with_a_filter_on_the_same_relation(db: Database) -> None:
    seeded = await seed_blog(20)
    target = seeded.users[2]
    with capture() as seen:
        rows = await Post.objects.select_related("author").filter(author__name=target.name)
    assert len(seen) == 1
    assert seen.statements[0].count("JOIN") == 1
    assert sorted(p.pk for p in rows) == sorted(
        p.pk for p in seeded.posts if p.author_id == target.pk
    )
    assert all(p.author.email == target.email for p in rows)


async def test_select_related_with_only(db: Database) -> None:
    seeded = await seed_blog(5)
    with capture() as seen:
        rows = (
            await Post.objects.select_related("author")
            .only("id", "title", "author__name")
            .order_by("id")
        )
        got = [(p.pk, p.title, p.author.name) for p in rows]
    assert len(seen) == 1
    names = {u.pk: u.name for u in seeded.users}
    assert got == [(p.pk, p.title, names[p.author_id]) for p in seeded.posts]
    with pytest.raises(DeferredFieldError):
        _ = rows[0].author.email
    with pytest.raises(DeferredFieldError):
        _ = rows[0].content
    assert "email" not in seen.statements[0]
    assert "content" not in seen.statements[0]


async def test_select_related_refuses_reverse_relations(db: Database) -> None:
    with pytest.raises(FieldError) as error:
        await Post.objects.select_related("comments")
    assert "prefetch_related" in str(error.value)
