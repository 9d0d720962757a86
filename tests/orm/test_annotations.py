"""annotate(): aggregates over relations as attributes, filtered (HAVING), ordered, in values(),
counted, combined with select_related; and explain() of joined queries."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest

from aksara import Avg, Count, FieldError, Max, Min, Sum
from aksara.db import Database
from examples.blog.models import Comment, Post, User
from tests.orm.conftest import capture
from tests.orm.relation_models import SIZES, Article, Keyword, Seeded, comments_of, seed_blog


def comment_counts(seeded: Seeded) -> dict[int, int]:
    return {p.pk: sum(c.post_id == p.pk for c in seeded.comments) for p in seeded.posts}


@pytest.mark.parametrize("n", SIZES)
async def test_count_of_a_reverse_relation(db: Database, n: int) -> None:
    seeded = await seed_blog(n)
    expected = {}
    for post in await Post.objects.all():
        expected[post.pk] = await post.comments.count()
    with capture() as seen:
        posts = await Post.objects.annotate(comment_count=Count("comments"))
    assert len(seen) == 1
    got = {p.pk: p.comment_count for p in posts}
    assert got == expected == comment_counts(seeded)
    assert len(posts) == n  # posts without comments are kept, with 0
    assert all(type(p.comment_count) is int for p in posts)
    if n > 2:
        assert got[seeded.posts[2].pk] == 0


@pytest.mark.parametrize("n", SIZES)
async def test_annotate_with_select_related_does_not_inflate_counts(db: Database, n: int) -> None:
    seeded = await seed_blog(n)
    names = {u.pk: u.name for u in seeded.users}
    with capture() as seen:
        posts = await Post.objects.select_related("author").annotate(
            comment_count=Count("comments")
        )
        got = {p.pk: (p.author.name, p.comment_count) for p in posts}
    assert len(seen) == 1
    counts = comment_counts(seeded)
    assert got == {p.pk: (names[p.author_id], counts[p.pk]) for p in seeded.posts}


async def test_sum_avg_min_max_over_a_relation(db: Database) -> None:
    seeded = await seed_blog(20)
    idle = await User.objects.create(name="idle", email="idle@example.com")
    users = await User.objects.annotate(
        total=Sum("posts__view_count"),
        mean=Avg("posts__view_count"),
        low=Min("posts__view_count"),
        high=Max("posts__view_count"),
        written=Count("posts"),
    ).order_by("id")
    assert len(users) == len(seeded.users) + 1
    for user in users:
        views = [p.view_count for p in seeded.posts if p.author_id == user.pk]
        if user.pk == idle.pk:
            assert views == []
            assert (user.total, user.mean, user.low, user.high, user.written) == (
                None,
                None,
                None,
                None,
                0,
            )
            continue
        assert views, user.name
        assert user.total == sum(views)
        assert type(user.total) is int
        assert user.mean == pytest.approx(statistics.mean(views))
        assert user.low == min(views)
        assert user.high == max(views)
        assert user.written == len(views)


async def test_max_of_related_keys_and_dates(db: Database) -> None:
    seeded = await seed_blog(10)
    posts = await Post.objects.annotate(
        last_comment=Max("comments__id"),
        first_comment=Min("comments__id"),
        latest=Max("comments__created_at"),
    ).order_by("id")
    for post in posts:
        mine = [c for c in seeded.comments if c.post_id == post.pk]
        if not mine:
            assert (post.last_comment, post.first_comment, post.latest) == (None, None, None)
            continue
        assert post.last_comment == max(c.pk for c in mine)
        assert post.first_comment == min(c.pk for c in mine)
        assert isinstance(post.latest, dt.datetime)
        assert post.latest == max(c.created_at for c in mine)


async def test_distinct_counts(db: Database) -> None:
    seeded = await seed_blog(30)
    posts = await Post.objects.annotate(
        comment_count=Count("comments", distinct=True),
        commenters=Count("comments__author", distinct=True),
    )
    counts = comment_counts(seeded)
    for post in posts:
        mine = [c for c in seeded.comments if c.post_id == post.pk]
        assert post.comment_count == counts[post.pk] == len(mine)
        assert post.commenters == len({c.author_id for c in mine})
    # Two reverse relations at once: distinct keeps each count right despite the join fan-out.
    users = await User.objects.annotate(
        n_posts=Count("posts", distinct=True), n_comments=Count("comments", distinct=True)
    )
    for user in users:
        assert user.n_posts == sum(p.author_id == user.pk for p in seeded.posts)
        assert user.n_comments == sum(c.author_id == user.pk for c in seeded.comments)


@pytest.mark.parametrize("n", SIZES)
async def test_filter_on_an_annotation(db: Database, n: int) -> None:
    seeded = await seed_blog(n)
    counts = comment_counts(seeded)
    qs = Post.objects.annotate(comment_count=Count("comments")).filter(comment_count__gt=2)
    with capture() as seen:
        posts = await qs
    assert len(seen) == 1
    # A to-many aggregate is a correlated subquery, so its condition is a WHERE condition.
    assert "GROUP BY" not in seen.statements[0]
    assert sorted(p.pk for p in posts) == sorted(pk for pk, c in counts.items() if c > 2)
    assert all(p.comment_count == 3 for p in posts)
    assert await qs.count() == len(posts)
    assert await qs.exists() == bool(posts)


async def test_filter_mixing_fields_and_annotations(db: Database) -> None:
    seeded = await seed_blog(40)
    counts = comment_counts(seeded)
    posts = await Post.objects.annotate(comment_count=Count("comments")).filter(
        comment_count__gte=1, is_published=True
    )
    expected = [p.pk for p in seeded.posts if p.is_published and counts[p.pk] >= 1]
    assert sorted(p.pk for p in posts) == sorted(expected)
    excluded = await Post.objects.annotate(comment_count=Count("comments")).exclude(comment_count=0)
    assert sorted(p.pk for p in excluded) == sorted(pk for pk, c in counts.items() if c != 0)


async def test_order_by_an_annotation(db: Database) -> None:
    seeded = await seed_blog(20)
    counts = comment_counts(seeded)
    posts = await Post.objects.annotate(comment_count=Count("comments")).order_by(
        "-comment_count", "id"
    )
    assert [(p.pk, p.comment_count) for p in posts] == sorted(
        counts.items(), key=lambda item: (-item[1], item[0])
    )


async def test_values_of_an_annotation(db: Database) -> None:
    seeded = await seed_blog(12)
    counts = comment_counts(seeded)
    rows = await (
        Post.objects.annotate(comment_count=Count("comments"))
        .values("title", "comment_count")
        .order_by("title")
    )
    assert rows == [
        {"title": p.title, "comment_count": counts[p.pk]}
        for p in sorted(seeded.posts, key=lambda p: p.title)
    ]


async def test_values_then_annotate_groups_by_the_values(db: Database) -> None:
    """Django's grouping idiom: the annotation must be in the rows, one per author."""
    seeded = await seed_blog(20)
    rows = await Post.objects.values("author_id").annotate(n=Count("id")).order_by("author_id")
    expected = {}
    for post in seeded.posts:
        expected[post.author_id] = expected.get(post.author_id, 0) + 1
    assert rows == [{"author_id": key, "n": expected[key]} for key in sorted(expected)]
    with capture() as seen:
        busy = await (
            Post.objects.values("author_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .order_by("author_id")
        )
    assert "GROUP BY" in seen.statements[0] and "HAVING" in seen.statements[0]
    assert busy == [
        {"author_id": key, "n": expected[key]} for key in sorted(expected) if expected[key] > 1
    ]


async def test_count_across_a_many_to_many(db: Database) -> None:
    words = await Keyword.objects.bulk_create([Keyword(name=f"k{i}") for i in range(4)])
    articles = await Article.objects.bulk_create([Article(title=f"t{i}") for i in range(6)])
    for i, article in enumerate(articles):
        await article.tags.add(*words[: i % 5])
    got = {a.title: a.n for a in await Article.objects.annotate(n=Count("tags"))}
    assert got == {f"t{i}": min(i % 5, 4) for i in range(6)}
    back = {k.name: k.n for k in await Keyword.objects.annotate(n=Count("articles"))}
    assert back == {f"k{j}": sum(j < min(i % 5, 4) for i in range(6)) for j in range(4)}
    busy = await Keyword.objects.annotate(n=Count("articles")).filter(n__gte=3).order_by("name")
    assert [k.name for k in busy] == [name for name, n in sorted(back.items()) if n >= 3]


async def test_count_of_an_annotated_queryset(db: Database) -> None:
    seeded = await seed_blog(25)
    annotated = Post.objects.select_related("author").annotate(comment_count=Count("comments"))
    with capture() as seen:
        assert await annotated.count() == 25
    assert len(seen) == 1
    assert await annotated.filter(is_published=True).count() == sum(
        p.is_published for p in seeded.posts
    )
    counts = comment_counts(seeded)
    assert await annotated.filter(comment_count=0).count() == sum(c == 0 for c in counts.values())


async def test_aggregate_over_an_annotated_and_having_filtered_queryset(db: Database) -> None:
    seeded = await seed_blog(20)
    counts = comment_counts(seeded)
    busy = Post.objects.annotate(comment_count=Count("comments")).filter(comment_count__gte=2)
    result = await busy.aggregate(total=Sum("view_count"), posts=Count("id"))
    chosen = [p for p in seeded.posts if counts[p.pk] >= 2]
    assert result == {"total": sum(p.view_count for p in chosen), "posts": len(chosen)}


async def test_annotation_clashing_with_a_relation_name_is_refused(db: Database) -> None:
    with pytest.raises(FieldError):
        Post.objects.annotate(title=Count("comments"))
    with pytest.raises(FieldError):
        User.objects.annotate(posts=Count("posts"))  # would hide the user.posts manager
    with pytest.raises(TypeError):
        Post.objects.annotate(n="comments")  # type: ignore[arg-type]


@pytest.mark.parametrize("n", SIZES)
async def test_the_guide_page_is_one_query(db: Database, n: int) -> None:
    """20 published posts, newest first, with author name and comment count, at offset 40."""
    seeded = await seed_blog(90 + n)  # at least 60 published posts
    names = {u.pk: u.name for u in seeded.users}
    counts = comment_counts(seeded)
    with capture() as seen:
        page = await (
            Post.objects.filter(is_published=True)
            .select_related("author")
            .annotate(comment_count=Count("comments"))
            .order_by("-created_at", "-id")[40:60]
        )
        got = [(p.pk, p.title, p.author.name, p.comment_count) for p in page]
    assert len(seen) == 1
    newest = sorted(
        (p for p in seeded.posts if p.is_published),
        key=lambda p: (p.created_at, p.pk),
        reverse=True,
    )
    assert got == [(p.pk, p.title, names[p.author_id], counts[p.pk]) for p in newest[40:60]]
    assert len(got) == 20
    assert sum(count for *_, count in got) == sum(
        comments_of(seeded.posts.index(p)) for p in newest[40:60]
    )


# explain() -----------------------------------------------------------------------------------


async def test_explain_of_a_joined_queryset(db: Database) -> None:
    await seed_blog(5)
    plan = await Post.objects.select_related("author").filter(is_published=True).explain()
    assert isinstance(plan, str)
    assert plan.strip()
    assert "posts" in plan and "users" in plan
    annotated = (
        await Post.objects.annotate(comment_count=Count("comments"))
        .filter(comment_count__gt=1)
        .explain()
    )
    assert "comments" in annotated
    nested = await Comment.objects.select_related("post__author").explain()
    assert "comments" in nested and "posts" in nested and "users" in nested
