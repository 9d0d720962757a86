"""prefetch_related: one query per relation level for any number of parents, Prefetch objects
with their own QuerySets, and batching past SQLite's parameter limit."""

from __future__ import annotations

import pytest

from aksara import Count, FieldError, Prefetch
from aksara.db import Database
from aksara.orm import RelationNotLoadedError
from examples.blog.models import Comment, Post, User
from tests.models import Category
from tests.orm.conftest import capture
from tests.orm.relation_models import (
    SIZES,
    Article,
    Keyword,
    comments_of,
    describe,
    naive_authors,
    naive_comments,
    seed_blog,
)


@pytest.mark.parametrize("n", SIZES)
async def test_comments_and_their_authors_are_three_queries(db: Database, n: int) -> None:
    await seed_blog(n)
    expected = await naive_comments()
    with capture() as seen:
        posts = await Post.objects.prefetch_related("comments", "comments__author").order_by("id")
        got = {post.pk: sorted(describe(c) for c in post.comments) for post in posts}
    assert len(seen) == 3
    assert got == expected
    assert sum(len(rows) for rows in got.values()) == sum(comments_of(i) for i in range(n))


@pytest.mark.parametrize("n", SIZES)
async def test_nested_lookup_alone_loads_the_intermediate_level(db: Database, n: int) -> None:
    await seed_blog(n)
    expected = await naive_comments()
    with capture() as seen:
        posts = await Post.objects.prefetch_related("comments__author")
        got = {post.pk: sorted(describe(c) for c in post.comments) for post in posts}
    assert len(seen) == 3
    assert got == expected


@pytest.mark.parametrize("n", SIZES)
async def test_forward_prefetch_and_reverse_prefetch_together(db: Database, n: int) -> None:
    await seed_blog(n)
    authors = await naive_authors()
    comments = await naive_comments()
    with capture() as seen:
        posts = await Post.objects.prefetch_related("author", "comments__author")
        got_authors = {p.pk: (p.author.pk, p.author.name) for p in posts}
        got_comments = {p.pk: sorted(describe(c) for c in p.comments) for p in posts}
    assert len(seen) == 4
    assert got_authors == authors
    assert got_comments == comments


@pytest.mark.parametrize("n", SIZES)
async def test_prefetch_from_the_user_side(db: Database, n: int) -> None:
    seeded = await seed_blog(n)
    expected = {}
    for user in await User.objects.all():
        expected[user.pk] = (
            sorted(p.pk for p in await user.posts.all()),
            sorted(c.pk for c in await user.comments.all()),
        )
    with capture() as seen:
        users = await User.objects.prefetch_related("posts", "comments")
        got = {
            u.pk: (sorted(p.pk for p in u.posts), sorted(c.pk for c in u.comments)) for u in users
        }
    assert len(seen) == 3
    assert got == expected
    assert sum(len(posts) for posts, _ in got.values()) == len(seeded.posts)


async def test_prefetch_of_an_empty_result_runs_one_query(db: Database) -> None:
    await seed_blog(3)
    with capture() as seen:
        assert await Post.objects.filter(title="nothing").prefetch_related("comments__author") == []
    assert len(seen) == 1


async def test_forward_prefetch_of_a_nullable_key(db: Database) -> None:
    root = await Category.objects.create(name="root")
    await Category.objects.create(name="a", parent=root)
    await Category.objects.create(name="b", parent=root)
    with capture() as seen:
        rows = await Category.objects.prefetch_related("parent", "children").order_by("name")
        got = {
            c.name: (
                None if c.parent is None else c.parent.name,
                sorted(x.name for x in c.children),
            )
            for c in rows
        }
    assert len(seen) == 3
    assert got == {"a": ("root", []), "b": ("root", []), "root": (None, ["a", "b"])}
    # The parent loaded for "a" and "b" is one instance.
    assert rows[0].parent is rows[1].parent


async def test_prefetch_object_with_a_filtered_ordered_queryset_and_to_attr(db: Database) -> None:
    seeded = await seed_blog(12)
    expected = {
        post.pk: sorted(
            (
                c.pk
                for c in seeded.comments
                if c.post_id == post.pk and c.body.endswith(("-0", "-2"))
            ),
            reverse=True,
        )
        for post in seeded.posts
    }
    recent = Prefetch(
        "comments",
        queryset=Comment.objects.exclude(body__endswith="-1").order_by("-id"),
        to_attr="recent",
    )
    with capture() as seen:
        posts = await Post.objects.prefetch_related(recent).order_by("id")
        got = {post.pk: [c.pk for c in post.recent] for post in posts}
    assert len(seen) == 2
    assert got == expected
    assert any(len(pks) >= 2 for pks in got.values())  # the order is really checked
    assert all(type(post.recent) is list for post in posts)
    # to_attr leaves the manager itself unloaded.
    with pytest.raises(RelationNotLoadedError):
        len(posts[0].comments)


async def test_plain_and_to_attr_prefetch_of_the_same_relation_both_load(db: Database) -> None:
    seeded = await seed_blog(8)
    expected = await naive_comments()
    with capture() as seen:
        posts = await Post.objects.prefetch_related(
            "comments",
            Prefetch("comments", queryset=Comment.objects.order_by("-id"), to_attr="newest"),
        )
        every = {p.pk: sorted(c.pk for c in p.comments) for p in posts}
        newest = {p.pk: [c.pk for c in p.newest] for p in posts}
    assert len(seen) == 3
    assert every == {pk: [row[0] for row in rows] for pk, rows in expected.items()}
    assert newest == {pk: sorted(pks, reverse=True) for pk, pks in every.items()}
    assert len(newest) == len(seeded.posts)


async def test_prefetch_object_queryset_with_select_related_stays_at_two_queries(
    db: Database,
) -> None:
    await seed_blog(20)
    expected = await naive_comments()
    with capture() as seen:
        posts = await Post.objects.prefetch_related(
            Prefetch("comments", queryset=Comment.objects.select_related("author"))
        )
        got = {post.pk: sorted(describe(c) for c in post.comments) for post in posts}
    assert len(seen) == 2
    assert got == expected


async def test_prefetch_object_with_a_nested_lookup_after_it(db: Database) -> None:
    await seed_blog(10)
    expected = await naive_comments()
    with capture() as seen:
        posts = await Post.objects.prefetch_related(
            Prefetch("comments", queryset=Comment.objects.order_by("-id")), "comments__author"
        )
        got = {post.pk: [describe(c) for c in post.comments] for post in posts}
    assert len(seen) == 3
    assert got == {pk: sorted(rows, reverse=True) for pk, rows in expected.items()}


async def test_prefetch_of_an_unknown_relation_is_a_field_error(db: Database) -> None:
    await seed_blog(1)
    with pytest.raises(FieldError) as error:
        await Post.objects.prefetch_related("remarks")
    assert "comments" in str(error.value)  # it lists the relations there are
    with pytest.raises(TypeError):
        Post.objects.prefetch_related(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", SIZES)
async def test_prefetch_object_on_many_to_many_applies_its_queryset(db: Database, n: int) -> None:
    """Two queries after the parents' for any number of rows: the links, then the targets
    from the queryset (filtered, ordered, narrowed and annotated); both sides of the
    relation. Without links (one article, no tags) the targets' query is not sent."""
    words = await Keyword.objects.bulk_create([Keyword(name=f"k{i}") for i in range(4)])
    articles = await Article.objects.bulk_create([Article(title=f"t{i}") for i in range(n)])
    for i, article in enumerate(articles):
        await article.tags.add(*words[: i % 5])
    chosen = (
        Keyword.objects.exclude(name="k1")
        .order_by("-name")
        .only("id", "name")
        .annotate(uses=Count("articles"))
    )
    uses = {w.pk: sum(1 for i in range(n) if k < i % 5) for k, w in enumerate(words)}
    with capture() as seen:
        loaded = await Article.objects.prefetch_related(
            Prefetch("tags", queryset=chosen, to_attr="picked")
        ).order_by("id")
        got = [[(t.name, t.uses) for t in a.picked] for a in loaded]
    assert len(seen) == (3 if n > 1 else 2)
    assert got == [
        sorted(((w.name, uses[w.pk]) for w in words[: i % 5] if w.name != "k1"), reverse=True)
        for i in range(n)
    ]
    with capture() as seen:
        keywords = await Keyword.objects.prefetch_related(
            Prefetch("articles", queryset=Article.objects.order_by("-id"))
        ).order_by("id")
        back = {k.name: [a.pk for a in k.articles] for k in keywords}
    assert len(seen) == (3 if n > 1 else 2)
    assert back == {
        w.name: [a.pk for i, a in reversed(list(enumerate(articles))) if k < i % 5]
        for k, w in enumerate(words)
    }


async def test_prefetch_of_many_to_many_with_a_nested_forward_key(db: Database) -> None:
    words = await Keyword.objects.bulk_create([Keyword(name=f"k{i}") for i in range(4)])
    articles = await Article.objects.bulk_create([Article(title=f"t{i}") for i in range(6)])
    for i, article in enumerate(articles):
        await article.tags.add(*words[i % 3 : i % 3 + 2])
    with capture() as seen:
        loaded = await Keyword.objects.prefetch_related("articles__tags").order_by("id")
        got = {
            k.name: sorted((a.title, tuple(sorted(t.name for t in a.tags))) for a in k.articles)
            for k in loaded
        }
    assert len(seen) == 3
    expected = {}
    for keyword in await Keyword.objects.order_by("id"):
        rows = []
        for article in await keyword.articles.all():
            names = sorted(t.name for t in await article.tags.all())
            rows.append((article.title, tuple(names)))
        expected[keyword.name] = sorted(rows)
    assert got == expected


@pytest.mark.parametrize("n", [33_000])
async def test_prefetch_batches_past_the_parameter_limit(db: Database, n: int) -> None:
    """More parents than SQLite's 32,766 parameters: the IN list is sent in chunks."""
    users = await User.objects.bulk_create(
        [User(name=f"u{i}", email=f"u{i}@example.com") for i in range(n)]
    )
    owners = [users[0], users[n // 2], users[-1]]
    await Post.objects.bulk_create(
        [Post(title=f"by {u.pk}", slug="s", author=u) for u in owners for _ in range(2)]
    )
    with capture() as seen:
        loaded = await User.objects.prefetch_related("posts").order_by("id")
    statements = len(seen)
    assert len(loaded) == n
    counts = {u.pk: len(u.posts) for u in loaded}
    assert sum(counts.values()) == 6
    assert {pk for pk, count in counts.items() if count} == {u.pk for u in owners}
    assert all(count == 2 for pk, count in counts.items() if pk in {u.pk for u in owners})
    assert all(p.title == f"by {u.pk}" for u in loaded for p in u.posts)
    if db.dialect.name == "sqlite":
        assert statements == 3  # the users, then two chunks of keys
    else:
        assert statements == 2  # PostgreSQL sends the keys as one array
