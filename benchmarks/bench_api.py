"""Serializer output: the compiled serializer against hand-written and DRF-style loops.

    python -m benchmarks.bench_api                  # about 35 seconds
    python -m benchmarks.bench_api --rounds 31 --json results.json

1,000 posts are fetched once from a SQLite file with ``select_related("author")`` and
``prefetch_related("comments")`` (the ORM's own instances); the database is not in the
measured loop. Each side turns the page into JSON bytes, in interleaved rounds (the order
rotating, ``gc.collect()`` before each):

- ``compiled``: ``await PostSerializer.compile().many(page)`` then ``encode()``;
- ``hand dict + orjson``: a dict comprehension written for these fields, ``orjson.dumps``;
- ``hand dict + msgspec``: the same dicts through ``encode()`` (what generated code building
  dicts instead of Structs would cost: the reason the output is Structs);
- ``DRF-style loop``: per row, per field, a getattr chain and ``to_representation``, as
  Django REST framework's ``Serializer.to_representation`` does, then ``orjson.dumps``.

Three field sets: the page with its author's name (``source="author.name"``), seven flat
columns (target: at most 0.5 µs per row, build and encode), and id, title and the post's
three prefetched comments (a nested ``many=True`` serializer). Medians in µs per post.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

import aksara
from aksara.api import serializers
from aksara.api.serializers import ModelSerializer, encode
from examples.blog.models import Comment, Post, User

ROWS = 1_000
USERS = 100
COMMENTS_PER_POST = 3
_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class PostWithAuthor(ModelSerializer):
    author_name = serializers.String(source="author.name")

    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author_name", "is_published", "view_count", "created_at"]


class CommentBrief(ModelSerializer):
    class Meta:
        model = Comment
        fields = ["id", "body"]


class PostWithComments(ModelSerializer):
    comments = CommentBrief(many=True)

    class Meta:
        model = Post
        fields = ["id", "title", "comments"]


class FlatPost(ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author", "is_published", "view_count", "created_at"]


def _dicts_with_author(page: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "title": p.title,
            "slug": p.slug,
            "author_name": p.author.name,
            "is_published": p.is_published,
            "view_count": p.view_count,
            "created_at": p.created_at,
        }
        for p in page
    ]


def _dicts_flat(page: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "title": p.title,
            "slug": p.slug,
            "author": p.author_id,
            "is_published": p.is_published,
            "view_count": p.view_count,
            "created_at": p.created_at,
        }
        for p in page
    ]


def _dicts_with_comments(page: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "title": p.title,
            "comments": [{"id": c.id, "body": c.body} for c in p.comments],
        }
        for p in page
    ]


class _GenericField:
    """A DRF-style field: ``get_attribute`` walks the source attributes, then
    ``to_representation`` converts the value."""

    def __init__(self, name: str, source: str, convert: Callable[[Any], Any]) -> None:
        self.field_name = name
        self.source_attrs = source.split(".")
        self.convert = convert

    def get_attribute(self, instance: Any) -> Any:
        for attr in self.source_attrs:
            if instance is None:
                return None
            instance = getattr(instance, attr)
        return instance

    def to_representation(self, value: Any) -> Any:
        return self.convert(value)


def _datetime(value: dt.datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class _GenericSerializer:
    """DRF's ``Serializer.to_representation``: every field, every row."""

    def __init__(self, fields: list[_GenericField]) -> None:
        self.fields = fields

    def to_representation(self, instance: Any) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for field in self.fields:
            attribute = field.get_attribute(instance)
            row[field.field_name] = (
                None if attribute is None else field.to_representation(attribute)
            )
        return row


def _generic_many(fields: list[_GenericField]) -> Callable[[Any], list[dict[str, Any]]]:
    # DRF's ListSerializer over a nested serializer.
    child = _GenericSerializer(fields)
    return lambda rows: [child.to_representation(row) for row in rows]


def _generic(fields: list[_GenericField]) -> Callable[[list[Any]], bytes]:
    serializer = _GenericSerializer(fields)

    def render(page: list[Any]) -> bytes:
        return orjson.dumps([serializer.to_representation(instance) for instance in page])

    return render


def _generic_fields(author: _GenericField) -> list[_GenericField]:
    return [
        _GenericField("id", "id", int),
        _GenericField("title", "title", str),
        _GenericField("slug", "slug", str),
        author,
        _GenericField("is_published", "is_published", bool),
        _GenericField("view_count", "view_count", int),
        _GenericField("created_at", "created_at", _datetime),
    ]


_GENERIC_WITH_AUTHOR = _generic_fields(_GenericField("author_name", "author.name", str))
_GENERIC_FLAT = _generic_fields(_GenericField("author", "author_id", int))
_GENERIC_WITH_COMMENTS = [
    _GenericField("id", "id", int),
    _GenericField("title", "title", str),
    _GenericField(
        "comments",
        "comments",
        _generic_many([_GenericField("id", "id", int), _GenericField("body", "body", str)]),
    ),
]


async def _seed(path: Path) -> list[Any]:
    aksara.configure(DATABASE_URL=f"sqlite:///{path}")
    await aksara.connect()
    await aksara.create_tables([User, Post, Comment])
    users = await User.objects.bulk_create(
        [User(name=f"Author {i:03d}", email=f"author{i}@example.com") for i in range(USERS)]
    )
    await Post.objects.bulk_create(
        [
            Post(
                title=f"Post number {i} about things",
                slug=f"post-number-{i}",
                author=users[(i * 7) % USERS],
                is_published=i % 3 != 0,
                view_count=(i * 37) % 1000,
                created_at=_START + dt.timedelta(minutes=i),
            )
            for i in range(ROWS)
        ]
    )
    posts = await Post.objects.order_by("id")
    await Comment.objects.bulk_create(
        [
            Comment(post=post, author=users[(i + j) % USERS], body=f"Comment {j} on post {i}")
            for i, post in enumerate(posts)
            for j in range(COMMENTS_PER_POST)
        ]
    )
    page = await Post.objects.select_related("author").prefetch_related("comments").order_by("id")
    await aksara.disconnect()
    return page


Side = Callable[[list[Any]], Awaitable[bytes]]


def _sides(
    compiled_class: type[ModelSerializer],
    dicts: Callable[[list[Any]], list[dict[str, Any]]],
    generic_fields: list[_GenericField],
) -> dict[str, Side]:
    compiled = compiled_class.compile()
    generic = _generic(generic_fields)

    async def compiled_side(page: list[Any]) -> bytes:
        return encode(await compiled.many(page, {}))

    async def orjson_side(page: list[Any]) -> bytes:
        return orjson.dumps(dicts(page), option=orjson.OPT_UTC_Z)

    async def msgspec_side(page: list[Any]) -> bytes:
        return encode(dicts(page))

    async def generic_side(page: list[Any]) -> bytes:
        return generic(page)

    return {
        "compiled": compiled_side,
        "hand dict + orjson": orjson_side,
        "hand dict + msgspec": msgspec_side,
        "DRF-style loop": generic_side,
    }


async def _measure(
    page: list[Any], sides: dict[str, Side], rounds: int, reps: int
) -> dict[str, list[float]]:
    first = {name: json.loads(await side(page)) for name, side in sides.items()}
    reference = first["compiled"]
    for name, value in first.items():
        if value != reference:
            raise SystemExit(f"{name} renders differently from the compiled serializer")
    samples: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in sides}
    names = list(sides)
    per_row = 1e6 / reps / len(page)
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            side = sides[name]
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(reps):
                await side(page)
            samples[name]["cpu"].append((time.process_time() - cpu) * per_row)
            samples[name]["wall"].append((time.perf_counter() - start) * per_row)
    return samples


def _compile_lookup_ns() -> dict[str, float]:
    """What ``compile()`` costs per request once the selection is cached."""
    result = {}
    for label, fields in (
        ("compile(None)", None),
        ("compile(3 names)", ["id", "title", "author_name"]),
    ):
        PostWithAuthor.compile(fields)
        runs = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(100_000):
                PostWithAuthor.compile(fields)
            runs.append((time.perf_counter() - start) / 100_000 * 1e9)
        result[label] = statistics.median(runs)
    return result


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--reps", type=int, default=20, help="renders of the page per sample")
    parser.add_argument("--json", type=Path, help="write every sample here")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        page = await _seed(Path(directory) / "bench_api.sqlite3")
    workloads = {
        "posts with author name": _sides(PostWithAuthor, _dicts_with_author, _GENERIC_WITH_AUTHOR),
        "7 flat fields": _sides(FlatPost, _dicts_flat, _GENERIC_FLAT),
        "posts with 3 comments each": _sides(
            PostWithComments, _dicts_with_comments, _GENERIC_WITH_COMMENTS
        ),
    }
    report: dict[str, Any] = {"rows": len(page), "rounds": options.rounds, "reps": options.reps}
    print(
        f"Serializer output, {len(page)} rows, {options.rounds} rounds x {options.reps} renders; median µs per row"
    )
    for workload, sides in workloads.items():
        samples = await _measure(page, sides, options.rounds, options.reps)
        report[workload] = samples
        base = {kind: statistics.median(samples["compiled"][kind]) for kind in ("wall", "cpu")}
        print(f"\n{workload}{'wall':>22s}{'CPU':>22s}")
        for name, values in samples.items():
            cells = []
            for kind in ("wall", "cpu"):
                median = statistics.median(values[kind])
                cells.append(f"{median:6.3f} µs ({median / base[kind]:4.2f}x)")
            print(f"  {name:20s}" + "".join(f"{cell:>22s}" for cell in cells))
    lookups = _compile_lookup_ns()
    report["compile_lookup_ns"] = lookups
    print(
        "\ncached compile() per request: "
        + ", ".join(f"{k} {v:.0f} ns" for k, v in lookups.items())
    )
    if options.json:
        options.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
