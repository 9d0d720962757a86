"""``explain_plan`` and ``aksara plan``: a viewset's queryset with its serializer's plan,
written for a reader, from DRF's attribute names (queryset / model, get_queryset(),
get_serializer_class() by ``self.action``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aksara.api import explain_plan, serializers
from aksara.cli import main
from aksara.exceptions import ConfigurationError
from aksara.orm import Count, QuerySet
from examples.blog.models import Post
from tests.api.test_plan import PostDetail, PostGood, PostList


class PostViewSet:
    """The guide's viewset: a list serializer, a detail one, an annotated get_queryset()."""

    serializer_class = PostDetail

    def get_queryset(self) -> QuerySet[Post]:
        return Post.objects.select_related("author").annotate(comment_count=Count("comments"))

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return PostGood if self.action == "list" else self.serializer_class  # type: ignore[attr-defined]


class AsyncViewSet:
    queryset = Post.objects.filter(is_published=True)
    serializer_class = PostList

    async def get_queryset(self) -> QuerySet[Post]:
        return Post.objects.order_by("-created_at")


class RequestViewSet:
    model = Post
    serializer_class = PostList

    def get_queryset(self) -> Any:
        return Post.objects.filter(author=self.request.user)  # type: ignore[attr-defined]


class NothingViewSet:
    serializer_class = PostList


def test_the_list_action_uses_its_serializer_and_keeps_get_queryset() -> None:
    text = explain_plan(PostViewSet)
    assert text.splitlines()[0] == "PostViewSet list (every field):"
    assert "PostGood on Post:" in text
    assert '.select_related("author")' in text
    # comment_count reads the annotation of get_queryset(): the columns can be narrowed.
    assert '.only("id", "title", "author__id", "author__name")' in text
    assert '.annotate(comment_count=Count("comments"))' in text


def test_another_action_and_a_field_selection() -> None:
    text = explain_plan(PostViewSet, action="retrieve", fields=["id", "comments.body"])
    assert text.splitlines()[0] == "PostViewSet retrieve (id, comments.body):"
    assert 'Prefetch("comments", queryset=Comment.objects' in text
    assert '.only("id", "post_id", "body")' in text


def test_an_async_get_queryset_runs_when_no_loop_is_running() -> None:
    text = explain_plan(AsyncViewSet)
    assert '.order_by("-created_at")' in text
    assert "is_published" not in text


async def test_an_async_get_queryset_inside_a_loop_falls_back_to_the_attribute() -> None:
    text = explain_plan(AsyncViewSet)
    assert "get_queryset() is async and a loop is running" in text
    assert ".filter(is_published__exact=…)" in text


def test_a_get_queryset_reading_the_request_falls_back_to_the_model() -> None:
    text = explain_plan(RequestViewSet)
    assert "get_queryset() raised AttributeError" in text
    assert "Post.objects" in text and '.only("id", "title", "slug", "created_at")' in text


def test_a_viewset_without_queryset_or_model_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="needs a `queryset` or a `model`"):
        explain_plan(NothingViewSet)


def test_the_plan_command(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "tests.api.test_explain:PostViewSet", "--action", "retrieve"]
    assert main([*argv, "--fields", "id,author.name"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PostViewSet retrieve (id, author.name):")
    assert '.only("id", "author__id", "author__name")' in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "tests.api.test_explain"], "takes module:ViewSet"),
        (["plan", "tests.api.test_explain:Nope"], "Viewsets there: AsyncViewSet, NothingViewSet"),
        (
            ["plan", "tests.api.test_explain:PostViewSet", "--fields", "id,nope"],
            "Unknown field: nope. Valid fields: id, title, author_name, comment_count.",
        ),
    ],
)
def test_the_plan_command_names_what_is_wrong(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("aksara: error: ") and message in err
    assert err.count("\n") == 1


def test_the_plan_command_as_the_real_program() -> None:
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "aksara.cli", "plan", "tests.api.test_explain:PostViewSet"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "PostGood on Post:" in done.stdout
