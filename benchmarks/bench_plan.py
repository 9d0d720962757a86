"""What ``plan.apply(queryset)`` costs per request, and what deriving a plan costs once.

    python -m benchmarks.bench_plan [--rounds 7] [--calls 20000]

No database: apply() only copies the query. Each case is timed in rounds of *calls*
applies; the median round gives µs per apply. The cases are the guide's serializers: the
list one on the bare model (only()), the "good" one on its annotated get_queryset() (join
kept, only() added), a nested detail one (join, narrowed Prefetch, annotate) and the "bad"
one (method fields: peers loading).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from time import perf_counter
from typing import Any

from aksara.api import serializers
from aksara.api.serializers.plan import Plan
from aksara.orm import Count
from examples.blog.models import Comment, Post, User


class PostList(serializers.ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "title", "slug", "created_at"]
        read_only = True


class PostGood(serializers.ModelSerializer):
    author_name = serializers.String(source="author.name")
    comment_count = serializers.Integer()

    class Meta:
        model = Post
        fields = ["id", "title", "author_name", "comment_count"]


class PostBad(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "title", "author_name"]

    async def get_author_name(self, obj: Post) -> str:
        return str((await obj.author).name)


class UserName(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name"]


class CommentRow(serializers.ModelSerializer):
    author = UserName()

    class Meta:
        model = Comment
        fields = ["id", "body", "author"]


class PostDetail(serializers.ModelSerializer):
    author = UserName()
    comments = CommentRow(many=True)
    comment_total = serializers.Count("comments")

    class Meta:
        model = Post
        fields = ["id", "title", "author", "comments", "comment_total"]


def _timed(call: Callable[[], Any], calls: int, rounds: int) -> float:
    """Median µs per call over *rounds* rounds of *calls* calls."""
    results = []
    for _ in range(rounds):
        start = perf_counter()
        for _ in range(calls):
            call()
        results.append((perf_counter() - start) / calls * 1e6)
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20000)
    options = parser.parse_args()
    good_queryset = Post.objects.select_related("author").annotate(comment_count=Count("comments"))
    cases = [
        ("list (only)", PostList, Post.objects.all()),
        ("good (keeps join, adds only)", PostGood, good_queryset),
        ("detail (join, Prefetch, annotate)", PostDetail, Post.objects.all()),
        ("bad (peers)", PostBad, Post.objects.all()),
    ]
    print(f"{'case':36} {'apply µs':>9} {'derive µs':>10}")
    for label, serializer, queryset in cases:
        plan = Plan.for_serializer(serializer)
        apply = _timed(lambda plan=plan, qs=queryset: plan.apply(qs), options.calls, options.rounds)
        derive = _timed(
            lambda s=serializer: Plan.for_serializer(s), options.calls // 100, options.rounds
        )
        print(f"{label:36} {apply:9.2f} {derive:10.1f}")


if __name__ == "__main__":
    main()
