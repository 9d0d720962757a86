"""The codec: values and model instances round-trip; bytes it did not write are a logged
miss and are never unpickled."""

from __future__ import annotations

import datetime
import decimal
import enum
import logging
import pickle
import uuid
from typing import Any

import pytest

from aksara import Count
from aksara.cache import Cache, CacheValueError, CodecError
from aksara.cache.codec import HEADER, codec
from aksara.db import Database
from aksara.debug import capture_queries
from aksara.exceptions import DeferredFieldError
from examples.blog.models import Comment, Post, Tag, User


class Colour(enum.IntEnum):
    RED = 1


VALUES: list[Any] = [
    None,
    True,
    0,
    -(2**63),
    2**63 - 1,
    2**64 + 5,
    -(2**70),
    1.5,
    "text",
    "",
    b"\x00\xff",
    [1, [2, [3]]],
    (1, "two", (3.0,)),
    {1, 2},
    frozenset({"a"}),
    {"nested": {"list": [1, None]}, 5: "int key", (1, 2): "tuple key"},
    datetime.datetime(2024, 5, 6, 7, 8, 9, 123456),
    datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC),
    datetime.datetime(2024, 5, 6, 7, 8, tzinfo=datetime.timezone(datetime.timedelta(hours=5))),
    datetime.date(2024, 2, 29),
    datetime.time(23, 59, 1, 5),
    datetime.timedelta(days=-2, seconds=5, microseconds=7),
    decimal.Decimal("12.340"),
    decimal.Decimal("NaN").copy_abs(),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_round_trip_with_their_types(value: Any) -> None:
    back = codec.decode(codec.encode(value))
    if isinstance(value, decimal.Decimal) and value.is_nan():
        assert back.is_nan()
        return
    assert back == value
    assert type(back) is type(value)
    if isinstance(value, datetime.datetime):
        assert back.utcoffset() == value.utcoffset()


def test_subclasses_of_plain_types_are_stored_as_their_value() -> None:
    assert type(codec.decode(codec.encode(Colour.RED))) is int
    assert codec.decode(codec.encode([Colour.RED])) == [1]


def test_integers_are_ascii_so_that_redis_can_increment_them() -> None:
    assert codec.encode(42) == b"42"
    assert codec.decode(b"-17") == -17


@pytest.mark.parametrize(
    "foreign",
    [
        pickle.dumps({"a": 1}),
        b'{"json": true}',
        b"",
        b"12abc",
        HEADER[:3],
        HEADER + b"\xc1",  # msgpack never uses 0xc1
        HEADER + b"\xd4\x63\x00",  # an extension type the codec does not know
        b"\xc1AK\x02" + codec.encode("future format")[4:],
    ],
    ids=["pickle", "json", "empty", "digits-then-text", "short-header", "damaged", "ext", "v2"],
)
def test_bytes_the_codec_did_not_write_are_refused(foreign: bytes) -> None:
    with pytest.raises(CodecError):
        codec.decode(foreign)


class _Bomb:
    """Records whether unpickling ran it."""

    ran = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Bomb._explode, ())

    @staticmethod
    def _explode() -> None:
        _Bomb.ran = True


async def test_a_pickle_put_in_the_cache_is_a_logged_miss_never_executed(
    any_cache: Cache, caplog: pytest.LogCaptureFixture
) -> None:
    payload = pickle.dumps(_Bomb())
    await any_cache.set_raw("planted", payload)
    with caplog.at_level(logging.WARNING, logger="aksara.cache"):
        assert await any_cache.get("planted", "default") == "default"
        assert await any_cache.get_many(["planted"]) == {}
        assert await any_cache.get_or_set("planted", "recomputed") == "recomputed"
    assert _Bomb.ran is False
    assert "planted" in caplog.text
    assert "not written by Aksara" in caplog.text
    stats = any_cache.stats()
    assert (stats.hits, stats.misses) == (0, 3)
    assert await any_cache.get("planted") == "recomputed"


def test_a_model_entry_naming_an_unknown_model_or_private_attributes_is_refused() -> None:
    import msgspec

    def entry(label: str, values: dict[str, Any]) -> bytes:
        inner = msgspec.msgpack.encode([label, values])
        return HEADER + msgspec.msgpack.encode(msgspec.msgpack.Ext(1, inner))

    with pytest.raises(CodecError):
        codec.decode(entry("os.system", {"id": 1}))
    with pytest.raises(CodecError):
        codec.decode(entry("examples.blog.models.User", {"__class__": 1}))
    assert codec.decode(entry("examples.blog.models.User", {"id": 1})) == User(id=1)


def test_unstorable_values_name_what_can_be_stored() -> None:
    with pytest.raises(CacheValueError, match="datetime, date, time, timedelta, Decimal"):
        codec.encode({"key": object()})


async def seed() -> tuple[User, list[Post]]:
    author = await User.objects.create(name="Ann", email="ann@example.com")
    tag = await Tag.objects.create(name="fast")
    posts = []
    for index in range(3):
        post = await Post.objects.create(
            title=f"Post {index}",
            slug=f"post-{index}",
            author=author,
            metadata={"order": index, "words": ["a", "b"]},
            view_count=10 * index,
        )
        await post.tags.add(tag)
        for number in range(index):
            await Comment.objects.create(post=post, author=author, body=f"c{number}")
        posts.append(post)
    return author, posts


async def test_model_instances_round_trip_without_a_query(db: Database, any_cache: Cache) -> None:
    await seed()
    posts = await Post.objects.select_related("author").order_by("id")
    await any_cache.set("posts", posts)
    async with capture_queries() as queries:
        cached = await any_cache.get("posts")
        assert cached == posts
        assert [type(post) for post in cached] == [Post] * 3
        for before, after in zip(posts, cached, strict=True):
            assert after.__dict__.keys() - {"author"} == before.__dict__.keys() - {
                "author",
                "_peers",
            }
            assert after.title == before.title
            assert after.created_at == before.created_at
            assert after.metadata == before.metadata
            assert (await after.author).name == "Ann"
    assert len(queries) == 0
    cached[0].title = "changed"
    await cached[0].save(update_fields=["title"])
    assert (await Post.objects.get(pk=cached[0].pk)).title == "changed"


async def test_annotations_prefetched_rows_and_deferred_fields_survive(
    db: Database, any_cache: Cache
) -> None:
    await seed()
    posts = await (
        Post.objects.annotate(n=Count("comments"))
        .prefetch_related("comments", "tags")
        .order_by("id")
    )
    await any_cache.set("posts", posts)
    cached = await any_cache.get("posts")
    async with capture_queries() as queries:
        assert [post.n for post in cached] == [0, 1, 2]
        assert [len(post.comments) for post in cached] == [0, 1, 2]
        assert [comment.body for comment in cached[2].comments] == ["c0", "c1"]
        assert [tag.name for tag in cached[1].tags] == ["fast"]
    assert len(queries) == 0
    # The comment's link back to its post is left out (it would be a cycle): it loads again.
    assert (await cached[2].comments.all()[0].post).pk == cached[2].pk

    partial = await Post.objects.only("id", "title").order_by("id")
    await any_cache.set("partial", partial)
    restored = await any_cache.get("partial")
    assert restored[0].title == "Post 0"
    with pytest.raises(DeferredFieldError):
        _ = restored[0].slug
