"""The get-by-key shortcut on joined, narrowed, ordered and prefetching queries: the same
SQL and parameters as the general get, the same instances (joined rows attached, deferred
fields raising, prefetches and relation loading kept), its errors, and one compilation."""

from __future__ import annotations

from typing import Any

import pytest

import aksara
from aksara import Count, DeferredFieldError
from aksara.orm import QuerySet, RelationNotLoadedError
from aksara.orm.keyget import key_gets_of
from examples.blog.models import Comment, Post
from tests.orm.conftest import Blog, capture

SHAPES = {
    "joined": lambda: Post.objects.select_related("author"),
    "narrowed": lambda: Post.objects.only("id", "title", "author"),
    "deferred": lambda: Post.objects.defer("content", "metadata"),
    "joined and narrowed": lambda: Post.objects.select_related("author").only(
        "id", "title", "author", "author__name"
    ),
    "ordered": lambda: Post.objects.order_by("-view_count").select_related("author"),
    "prefetching": lambda: Post.objects.prefetch_related("comments"),
}


def state(instance: Any) -> dict[str, Any]:
    """What an instance loaded: its public attributes (joined rows by their own state)."""
    return {
        name: state(value) if isinstance(value, aksara.Model) else value
        for name, value in vars(instance).items()
        if not name.startswith("_")
    }


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_the_shortcut_runs_the_general_get_s_sql(blog: Blog, shape: str) -> None:
    queryset: QuerySet[Post] = SHAPES[shape]()
    assert key_gets_of(queryset.query) is not None
    post = blog.posts[4]
    for key, value in (("pk", post.pk), ("slug", post.slug)):
        with capture() as general:
            expected = await queryset.filter(**{key: value}).get()
        with capture() as shortcut:
            found = await queryset.get(**{key: value})
        assert shortcut.statements == general.statements
        assert [e.params for e in shortcut.events] == [e.params for e in general.events]
        assert state(found) == state(expected)
        assert found.pk == post.pk


async def test_joined_rows_are_attached_and_deferred_fields_raise(blog: Blog) -> None:
    post = blog.posts[6]
    queryset = Post.objects.select_related("author").only("id", "title", "author", "author__name")
    for _ in range(2):  # compiled, then bound into the remembered statement
        found = await queryset.get(pk=post.pk)
        with capture() as seen:
            assert found.title == post.title
            assert found.author.name == blog.author_of(post).name
            with pytest.raises(DeferredFieldError):
                _ = found.content
            with pytest.raises(DeferredFieldError):
                _ = found.author.email
        assert len(seen) == 0


async def test_prefetches_and_relation_loading_are_kept(blog: Blog) -> None:
    post = next(p for p in blog.posts if sum(c.post_id == p.pk for c in blog.comments) == 2)
    prefetching = Post.objects.select_related("author").prefetch_related("comments")
    for _ in range(2):
        with capture() as seen:
            found = await prefetching.get(pk=post.pk)
        assert len(seen) == 2
        with capture() as seen:
            assert len(found.comments.all()) == 2
            assert found.author.pk == post.author_id
        assert len(seen) == 0
    raising = Post.objects.only("id", "author").relation_loading("raise")
    for _ in range(2):
        found = await raising.get(pk=post.pk)
        with pytest.raises(RelationNotLoadedError):
            await found.author
    # The rows joined in load their own relations in the query's mode too.
    comment = blog.comments[0]
    joined = Comment.objects.select_related("post").relation_loading("raise")
    for _ in range(2):
        found_comment = await joined.get(pk=comment.pk)
        assert found_comment.post.pk == comment.post_id
        with pytest.raises(RelationNotLoadedError):
            await found_comment.post.author
    # Peers: the first await of a relation loads it for every row of the result.
    peers = Post.objects.only("id", "author").relation_loading("peers")
    found = await peers.get(pk=post.pk)
    with capture() as seen:
        assert (await found.author).pk == post.author_id
    assert len(seen) == 1


async def test_does_not_exist_and_multiple_objects(blog: Blog) -> None:
    queryset = Post.objects.select_related("author").only("id", "is_published", "author__name")
    for _ in range(2):
        with capture() as seen, pytest.raises(Post.DoesNotExist, match="No Post matches"):
            await queryset.get(pk=10**9)
        assert len(seen) == 1
        with capture() as seen, pytest.raises(Post.MultipleObjectsReturned):
            await queryset.get(is_published=True)
        assert len(seen) == 1
        assert seen.events[0].params[-1] == 2
        # A value no row can hold sends no statement; one of the wrong type is refused.
        with capture() as seen, pytest.raises(Post.DoesNotExist):
            await queryset.get(pk=2**70)
        with pytest.raises(aksara.ValidationError, match="id"):
            await queryset.get(pk="seven")
        assert len(seen) == 0


async def test_the_statement_is_compiled_once_and_bound_after(
    blog: Blog, monkeypatch: pytest.MonkeyPatch
) -> None:
    post, other = blog.posts[1], blog.posts[9]
    queryset = Post.objects.select_related("author").only("id", "slug", "author__email")
    # An equal query built afresh finds the same shortcut.
    again = Post.objects.select_related("author").only("id", "slug", "author__email")
    statements = aksara.get_database().statements
    misses = statements.misses
    assert (await queryset.get(pk=post.pk)).slug == post.slug
    assert statements.misses == misses + 1

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the shortcut built a condition tree or copied the query")

    monkeypatch.setattr("aksara.orm.queryset.condition", refused)
    monkeypatch.setattr(aksara.orm.query.Query, "replace", refused)
    hits = statements.hits
    for one in (other, post):
        assert (await queryset.get(pk=one.pk)).slug == one.slug
        assert (await again.get(pk=one.pk)).author.email == blog.author_of(one).email
    assert (statements.hits, statements.misses) == (hits + 4, misses + 1)


def test_queries_with_conditions_of_their_own_take_the_general_get() -> None:
    for queryset in (
        Post.objects.filter(is_published=True),
        Post.objects.select_related("author")[:5],
        Post.objects.distinct(),
        Post.objects.values("id"),
        Post.objects.select_for_update(),
        Post.objects.annotate(n=Count("comments")),
        Post.objects.none(),
    ):
        assert key_gets_of(queryset.query) is None


def test_shortcuts_are_kept_for_a_bounded_number_of_queries() -> None:
    # Each prefetch_related() call makes new Prefetch objects: a new query every time.
    queries = [Post.objects.prefetch_related("comments").query for _ in range(200)]
    found = [key_gets_of(query) for query in queries]
    assert all(gets is not None for gets in found)
    assert 0 < len(Post._meta.query_key_gets) <= 64
    # The last query is found by identity; an equal query finds the same shortcuts.
    last = queries[-1]
    assert key_gets_of(last) is found[-1]
    assert key_gets_of(last.replace()) is found[-1]
