"""Peers loading, complete: concurrent awaits of one relation share one load, counts and
existence checks of to-many relations are grouped over the peers; and the relations package
keeps its layers one-way (no function-level imports)."""

from __future__ import annotations

import ast
import asyncio
import pathlib
from typing import Any

import pytest

import aksara
from aksara.db import Database
from aksara.orm import RelationNotLoadedError
from aksara.orm.relations.kinds import (
    ForwardRelation,
    ManyRelation,
    ReverseOneRelation,
    ReverseRelation,
)
from examples.blog.models import Comment, Post, User
from tests.orm.conftest import capture
from tests.orm.relation_models import (
    SIZES,
    Article,
    Keyword,
    Profile,
    comments_of,
    naive_authors,
    seed_blog,
)


async def peers_page(limit: int | None = None) -> list[Post]:
    queryset = Post.objects.relation_loading("peers").order_by("id")
    return await (queryset if limit is None else queryset.limit(limit))


async def tagged_articles(n: int) -> tuple[list[Article], list[Keyword]]:
    words = await Keyword.objects.bulk_create([Keyword(name=f"k{i}") for i in range(3)])
    articles = await Article.objects.bulk_create([Article(title=f"t{i}") for i in range(n)])
    for i, article in enumerate(articles):
        await article.tags.add(*words[: i % 4])
    return articles, words


async def rename_table(db: Database, old: str, new: str) -> None:
    quote = db.dialect.quote
    await db.execute(f"ALTER TABLE {quote(old)} RENAME TO {quote(new)}")


# Concurrent awaits share one in-flight load -------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
async def test_concurrent_awaits_of_a_forward_key_share_one_load(db: Database, n: int) -> None:
    await seed_blog(n)
    expected = await naive_authors()
    posts = await peers_page()
    with capture() as seen:
        authors = await asyncio.gather(*(_author(post) for post in posts))
    assert len(seen) == 1
    assert dict(zip([post.pk for post in posts], authors, strict=True)) == expected


async def _author(post: Post) -> tuple[int, str]:
    author = await post.author
    return author.pk, author.name


@pytest.mark.parametrize("n", SIZES)
async def test_concurrent_awaits_of_every_kind_share_one_load(db: Database, n: int) -> None:
    seeded = await seed_blog(n, users=max(n, 2))
    await Profile.objects.bulk_create(
        [Profile(user=user, bio=f"bio {i}") for i, user in enumerate(seeded.users)]
    )
    articles, _ = await tagged_articles(n)
    posts = await peers_page()
    users = await User.objects.relation_loading("peers").order_by("id")
    loaded_articles = await Article.objects.relation_loading("peers").order_by("id")
    with capture() as seen:
        comments = await asyncio.gather(*(post.comments.all() for post in posts))
        profiles = await asyncio.gather(*(user.profile for user in users))
        tags = await asyncio.gather(*(article.tags.all() for article in loaded_articles))
    assert len(seen) == 3  # one load per relation, whatever the number of waiters
    assert [len(rows) for rows in comments] == [comments_of(i) for i in range(n)]
    assert [profile.bio for profile in profiles] == [f"bio {i}" for i in range(len(users))]
    assert [len(rows) for rows in tags] == [min(i % 4, 3) for i in range(n)]
    assert [a.pk for a in loaded_articles] == [a.pk for a in articles]


async def test_a_failed_shared_load_raises_in_every_waiter_and_is_retried(db: Database) -> None:
    await seed_blog(5)
    expected = await naive_authors()
    posts = await peers_page()
    await rename_table(db, "users", "users_away")
    try:
        with capture() as seen:
            results = await asyncio.gather(
                *(_author(post) for post in posts), return_exceptions=True
            )
        assert len(seen) == 1
        assert seen.events[0].error is not None
        assert all(isinstance(result, aksara.DatabaseError) for result in results)
        assert len({id(result) for result in results}) == 1  # the one load's error
    finally:
        await rename_table(db, "users_away", "users")
    with capture() as seen:
        authors = await asyncio.gather(*(_author(post) for post in posts))
    assert len(seen) == 1
    assert dict(zip([post.pk for post in posts], authors, strict=True)) == expected


async def test_a_cancelled_waiter_leaves_the_shared_load_to_the_others(db: Database) -> None:
    await seed_blog(6)
    expected = await naive_authors()
    posts = await peers_page()
    with capture() as seen:
        first = asyncio.ensure_future(_author(posts[0]))
        others = [asyncio.ensure_future(_author(post)) for post in posts[1:]]
        await asyncio.sleep(0)  # every waiter is now waiting for the one load
        first.cancel()
        results = await asyncio.gather(*others)
        with pytest.raises(asyncio.CancelledError):
            await first
    assert len(seen) == 1
    assert dict(zip([post.pk for post in posts[1:]], results, strict=True)) == {
        pk: value for pk, value in expected.items() if pk != posts[0].pk
    }
    with capture() as seen:
        assert (posts[0].author.pk, posts[0].author.name) == expected[posts[0].pk]
    assert len(seen) == 0  # the cancelled waiter's row was loaded too


async def test_a_key_changed_during_a_shared_load_is_loaded_on_its_own(db: Database) -> None:
    seeded = await seed_blog(3)
    posts = await peers_page()
    other = seeded.users[6]
    with capture() as seen:
        pending = asyncio.ensure_future(_author(posts[1]))
        await asyncio.sleep(0)
        posts[0].author_id = other.pk
        loaded = await _author(posts[0])
        await pending
    assert loaded == (other.pk, other.name)
    assert len(seen) <= 2


# Counts and existence under peers: one grouped query -----------------------------------------


@pytest.mark.parametrize("n", SIZES)
async def test_counts_of_a_reverse_relation_are_one_grouped_query(db: Database, n: int) -> None:
    await seed_blog(n)
    posts = await peers_page()
    with capture() as seen:
        counts = [await post.comments.count() for post in posts]
        exists = [await post.comments.exists() for post in posts]
    assert counts == [comments_of(i) for i in range(n)]
    assert exists == [comments_of(i) > 0 for i in range(n)]
    assert len(seen) == 1
    sql = seen.statements[0].upper()
    assert "GROUP BY" in sql and "COUNT(" in sql


@pytest.mark.parametrize("n", SIZES)
async def test_concurrent_counts_share_one_grouped_query(db: Database, n: int) -> None:
    await seed_blog(n)
    posts = await peers_page()
    with capture() as seen:
        counts = await asyncio.gather(*(post.comments.count() for post in posts))
    assert list(counts) == [comments_of(i) for i in range(n)]
    assert len(seen) == 1
    fresh = await peers_page()
    with capture() as seen:
        exists = await asyncio.gather(*(post.comments.exists() for post in fresh))
    assert list(exists) == [comments_of(i) > 0 for i in range(n)]
    assert len(seen) == 1


@pytest.mark.parametrize("n", SIZES)
async def test_counts_of_a_many_to_many_are_one_grouped_query(db: Database, n: int) -> None:
    await tagged_articles(n)
    words = await Keyword.objects.relation_loading("peers").order_by("id")
    articles = await Article.objects.relation_loading("peers").order_by("id")
    with capture() as seen:
        forward = [await article.tags.count() for article in articles]
        backward = [await word.articles.exists() for word in words]
    assert forward == [min(i % 4, 3) for i in range(n)]
    # k0 is linked from every article with i % 4 >= 1, k1 from >= 2, k2 from 3.
    assert backward == [any(i % 4 > j for i in range(n)) for j in range(3)]
    assert len(seen) == 2


async def test_counts_follow_writes_through_the_manager(db: Database) -> None:
    seeded = await seed_blog(4)
    posts = await peers_page()
    assert [await post.comments.count() for post in posts] == [2, 3, 0, 1]
    await posts[2].comments.create(author=seeded.users[0], body="new")
    with capture() as seen:
        assert await posts[2].comments.count() == 1
        assert await posts[0].comments.count() == 2
    assert len(seen) == 1  # only the changed row is counted again
    article = await Article.objects.create(title="a")
    word = await Keyword.objects.create(name="w")
    loaded = await Article.objects.relation_loading("peers").filter(pk=article.pk)
    assert not await loaded[0].tags.exists()
    await loaded[0].tags.add(word)
    assert await loaded[0].tags.exists()
    assert await loaded[0].tags.count() == 1


async def test_counts_without_peers_stay_a_query_each(db: Database) -> None:
    await seed_blog(3)
    posts = await Post.objects.relation_loading("lazy").order_by("id")
    with capture() as seen:
        counts = [await post.comments.count() for post in posts]
    assert counts == [2, 3, 0]
    assert len(seen) == 3
    prefetched = await Post.objects.prefetch_related("comments").order_by("id")
    with capture() as seen:
        assert [await post.comments.count() for post in prefetched] == [2, 3, 0]
        assert [await post.comments.exists() for post in prefetched] == [True, True, False]
    assert len(seen) == 0


async def test_counts_under_raise_are_refused(db: Database) -> None:
    await seed_blog(2)
    posts = await Post.objects.relation_loading("raise").order_by("id")
    with capture() as seen:
        with pytest.raises(RelationNotLoadedError, match='prefetch_related\\("comments"\\)'):
            await posts[0].comments.count()
        with pytest.raises(RelationNotLoadedError):
            await posts[0].comments.exists()
    assert len(seen) == 0


# One class per relation kind -----------------------------------------------------------------


def test_every_relation_is_an_instance_of_its_kind() -> None:
    kinds: dict[tuple[type[Any], str], type[Any]] = {
        (Post, "author"): ForwardRelation,
        (Post, "comments"): ReverseRelation,
        (User, "profile"): ReverseOneRelation,
        (Article, "tags"): ManyRelation,
        (Keyword, "articles"): ManyRelation,
    }
    for (model, name), kind in kinds.items():
        assert type(model._meta.relations[name]) is kind
    assert Post._meta.relations["comments"].target is Comment
    assert Article._meta.relations["tags"].target is Keyword
    assert Post.author is Post._meta.get_field("author")  # the class attribute reads as the field


# One-way layering ----------------------------------------------------------------------------


def _function_level_imports(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("aksara"):
                    found.append(f"{path.name}:{inner.lineno} from {inner.module}")
                elif isinstance(inner, ast.Import) and any(
                    alias.name.startswith("aksara") for alias in inner.names
                ):
                    found.append(f"{path.name}:{inner.lineno} import")
    return found


def test_the_orm_has_no_function_level_imports_of_its_own_modules() -> None:
    root = pathlib.Path(aksara.__file__).parent / "orm"
    found = [line for path in sorted(root.rglob("*.py")) for line in _function_level_imports(path)]
    assert found == []


# Rows joined by select_related are peers too ----------------------------------------------


@pytest.mark.parametrize("n", SIZES)
async def test_rows_joined_by_select_related_load_their_relations_as_peers(
    db: Database, n: int
) -> None:
    seeded = await seed_blog(n)
    comments = await Comment.objects.select_related("post").relation_loading("peers").order_by("id")
    with capture() as seen:
        authors = [await comment.post.author for comment in comments]
    assert len(seen) == (1 if comments else 0)
    users = {user.pk: user.name for user in seeded.users}
    posts = {post.pk: post.author_id for post in seeded.posts}
    assert [a.name for a in authors] == [users[posts[c.post_id]] for c in comments]


async def test_rows_joined_two_levels_deep_refuse_lazy_loads_under_raise(db: Database) -> None:
    await seed_blog(4)
    comments = await Comment.objects.select_related("post__author").relation_loading("raise")
    assert comments
    for comment in comments:
        with pytest.raises(RelationNotLoadedError):
            await comment.post.author.posts.all()
        with pytest.raises(RelationNotLoadedError):
            await comment.author
