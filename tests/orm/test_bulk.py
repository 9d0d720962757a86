"""bulk_create and bulk_update: primary keys, batching under SQLite's parameter limit,
every field kind, validation before any statement, and constraint errors."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest

import aksara
from aksara import IntegrityError
from aksara.db import Database
from examples.blog.models import Post, User
from tests.models import Kitchen
from tests.orm.conftest import capture, kitchen_rows

UTC = dt.UTC
KITCHEN_COLUMNS = (
    "label",
    "notes",
    "small",
    "big",
    "ratio",
    "price",
    "flag",
    "moment",
    "day",
    "token",
    "data",
)


def make_kitchen(i: int) -> Kitchen:
    return Kitchen(
        label=f"k{i:05d}",
        notes=None if i % 3 == 0 else f"notes {i}",
        small=i % 1000,
        big=i * 1_000_003,
        ratio=i / 8,
        price=Decimal(i % 10_000) / 100,
        flag=i % 2 == 0,
        moment=dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=i * 61),
        day=dt.date(2020, 1, 1) + dt.timedelta(days=i % 2000),
        token=uuid.UUID(int=i + 1),
        data={"i": i, "odd": bool(i % 2)},
    )


def as_tuple(obj: Any, names: tuple[str, ...] = KITCHEN_COLUMNS) -> tuple[Any, ...]:
    return (obj.pk, *(getattr(obj, name) for name in names))


async def test_bulk_create_sets_primary_keys(db: Database) -> None:
    users = [User(name=f"user {i}", email=f"u{i}@example.com") for i in range(10)]
    with capture() as seen:
        result = await User.objects.bulk_create(users)
    assert len(seen) == 1
    assert result == users and all(a is b for a, b in zip(result, users, strict=True))
    keys = [user.pk for user in users]
    assert all(isinstance(key, int) for key in keys)
    assert keys == sorted(set(keys))
    rows = await User.objects.order_by("id").values_list("id", "email")
    assert rows == [(user.pk, user.email) for user in users]
    assert all(user.created_at is not None for user in users)


async def test_bulk_created_instances_save_as_updates(db: Database) -> None:
    users = await User.objects.bulk_create(
        [User(name=f"user {i}", email=f"u{i}@example.com") for i in range(3)]
    )
    users[1].name = "renamed"
    with capture() as seen:
        await users[1].save()
    assert [sql.split()[0] for sql in seen.statements] == ["UPDATE"]
    rows = await User.objects.order_by("id").values_list("id", "name")
    assert rows == [(u.pk, "renamed" if i == 1 else f"user {i}") for i, u in enumerate(users)]


async def test_bulk_create_twelve_thousand_rows_in_batches(db: Database) -> None:
    objects = [make_kitchen(i) for i in range(12_000)]
    with capture() as seen:
        await Kitchen.objects.bulk_create(objects)
    inserts = [event for event in seen.events if event.sql.startswith("INSERT")]
    if db.dialect.name == "sqlite":
        # 12 columns a row and at most 32766 parameters a statement: 2730 rows a batch.
        assert len(inserts) == math.ceil(12_000 / (32_766 // 12))
        assert all(len(event.params) <= 32_766 for event in inserts)
    else:
        assert len(inserts) >= 1
    assert sum(event.rows for event in inserts) == 12_000
    keys = [obj.pk for obj in objects]
    assert None not in keys and len(set(keys)) == 12_000
    assert await Kitchen.objects.count() == 12_000
    by_label = dict(await Kitchen.objects.values_list("label", "id"))
    assert by_label == {obj.label: obj.pk for obj in objects}
    stored = await Kitchen.objects.order_by("id").values_list("id", *KITCHEN_COLUMNS)
    assert stored == [as_tuple(obj) for obj in objects]


@pytest.mark.parametrize("batch_size", [1, 7, 25, 100])
async def test_bulk_create_batch_size(db: Database, batch_size: int) -> None:
    objects = [make_kitchen(i) for i in range(25)]
    with capture() as seen:
        await Kitchen.objects.bulk_create(objects, batch_size=batch_size)
    assert len([sql for sql in seen.statements if sql.startswith("INSERT")]) == math.ceil(
        25 / batch_size
    )
    stored = await Kitchen.objects.order_by("id").values_list("id", *KITCHEN_COLUMNS)
    assert stored == [as_tuple(obj) for obj in objects]


async def test_bulk_create_of_posts_with_author_instances(db: Database) -> None:
    authors = await User.objects.bulk_create(
        [User(name=f"author {i}", email=f"a{i}@example.com") for i in range(3)]
    )
    posts = await Post.objects.bulk_create(
        [
            Post(title=f"Post {i}", slug=f"post-{i}", author=authors[i % 3], metadata={"i": i})
            for i in range(30)
        ]
    )
    rows = await Post.objects.order_by("id").values_list(
        "id", "author_id", "title", "metadata", "content"
    )
    assert rows == [
        (p.pk, authors[i % 3].pk, f"Post {i}", {"i": i}, "") for i, p in enumerate(posts)
    ]
    assert await Post.objects.filter(author=authors[1]).count() == 10


async def test_bulk_create_with_explicit_primary_keys(db: Database) -> None:
    users = [User(id=100 + i * 10, name=f"u{i}", email=f"u{i}@example.com") for i in range(5)]
    await User.objects.bulk_create(users)
    assert [row[0] for row in await User.objects.order_by("id").values_list("id")] == [
        100,
        110,
        120,
        130,
        140,
    ]
    with pytest.raises(ValueError):
        await User.objects.bulk_create(
            [User(id=1, name="a", email="a@x"), User(name="b", email="b@x")]
        )


async def test_bulk_create_of_nothing_sends_nothing(db: Database) -> None:
    with capture() as seen:
        assert await Kitchen.objects.bulk_create([]) == []
    assert len(seen) == 0


async def test_bulk_create_refuses_other_models(db: Database) -> None:
    with pytest.raises(TypeError):
        await Kitchen.objects.bulk_create([Kitchen(label="a"), User(name="b", email="b@x")])  # type: ignore[list-item]
    assert await Kitchen.objects.count() == 0


async def test_bulk_create_validates_before_any_statement(db: Database) -> None:
    too_long = [make_kitchen(i) for i in range(5)]
    too_long[3].label = "x" * 21
    wrong_type = [make_kitchen(i) for i in range(5)]
    wrong_type[4].small = "five"
    missing = [make_kitchen(i) for i in range(5)]
    missing[0].label = None
    for objects in (too_long, wrong_type, missing):
        with capture() as seen, pytest.raises(aksara.ValidationError):
            await Kitchen.objects.bulk_create(objects)
        assert len(seen) == 0
    assert await Kitchen.objects.count() == 0


async def test_bulk_create_unique_violation(db: Database) -> None:
    await User.objects.create(name="a", email="taken@example.com")
    with pytest.raises(IntegrityError) as error:
        await User.objects.bulk_create(
            [User(name="b", email="free@example.com"), User(name="c", email="taken@example.com")]
        )
    assert error.value.constraint == "users_email_key"
    assert await User.objects.count() == 1


async def test_bulk_create_foreign_key_violation(db: Database) -> None:
    user = await User.objects.create(name="a", email="a@example.com")
    with pytest.raises(IntegrityError) as error:
        await Post.objects.bulk_create(
            [
                Post(title="ok", slug="ok", author=user),
                Post(title="bad", slug="bad", author_id=user.pk + 1000),
            ]
        )
    assert error.value.constraint == "posts_author_id_fkey"
    assert await Post.objects.count() == 0


# bulk_update -------------------------------------------------------------------------------------------


async def test_bulk_update_writes_the_named_fields_only(kitchens: list[Kitchen]) -> None:
    originals = {k.pk: as_tuple(k) for k in kitchens}
    chosen = kitchens[::2]
    for k in chosen:
        k.small = k.small * 10 + 1
        k.notes = None if k.notes else f"now {k.pk}"
        k.label = "ignored"  # changed in memory, not named: must not be written
    with capture() as seen:
        count = await Kitchen.objects.bulk_update(chosen, ["small", "notes"])
    assert count == len(chosen)
    assert len(seen) == 1
    stored = await Kitchen.objects.order_by("id").values_list("id", *KITCHEN_COLUMNS)
    expected = []
    for k in kitchens:
        row = list(originals[k.pk])
        if k in chosen:
            row[1 + KITCHEN_COLUMNS.index("small")] = k.small
            row[1 + KITCHEN_COLUMNS.index("notes")] = k.notes
        expected.append(tuple(row))
    assert stored == expected


async def test_bulk_update_every_field_kind(kitchens: list[Kitchen]) -> None:
    rows = kitchen_rows()
    for k, values in zip(kitchens, reversed(rows), strict=True):
        for name, value in values.items():
            if name != "label":
                setattr(k, name, value)
    names = [name for name in KITCHEN_COLUMNS if name != "label"]
    assert await Kitchen.objects.bulk_update(kitchens, names) == len(kitchens)
    stored = await Kitchen.objects.order_by("id").values_list("id", *KITCHEN_COLUMNS)
    assert stored == [as_tuple(k) for k in kitchens]


async def test_bulk_update_in_batches(db: Database) -> None:
    objects = await Kitchen.objects.bulk_create([make_kitchen(i) for i in range(50)])
    for obj in objects:
        obj.big = -obj.big
        obj.moment = obj.moment + dt.timedelta(days=1)
    with capture() as seen:
        assert await Kitchen.objects.bulk_update(objects, ["big", "moment"], batch_size=16) == 50
    # Four batches, made one unit by a transaction.
    assert [sql.split()[0] for sql in seen.statements] == [
        "BEGIN",
        *["UPDATE"] * 4,
        "COMMIT",
    ]
    stored = await Kitchen.objects.order_by("id").values_list("id", "big", "moment")
    assert stored == [(o.pk, o.big, o.moment) for o in objects]


async def test_bulk_update_foreign_keys(db: Database) -> None:
    a, b = await User.objects.bulk_create(
        [User(name="a", email="a@example.com"), User(name="b", email="b@example.com")]
    )
    posts = await Post.objects.bulk_create(
        [Post(title=f"t{i}", slug=f"s{i}", author=a) for i in range(6)]
    )
    for post in posts[::2]:
        post.author = b
    assert await Post.objects.bulk_update(posts, ["author"]) == 6
    rows = await Post.objects.order_by("id").values_list("id", "author_id")
    assert rows == [(p.pk, b.pk if i % 2 == 0 else a.pk) for i, p in enumerate(posts)]


async def test_bulk_update_refusals(kitchens: list[Kitchen]) -> None:
    assert await Kitchen.objects.bulk_update([], ["small"]) == 0
    with pytest.raises(ValueError):
        await Kitchen.objects.bulk_update(kitchens, [])
    with pytest.raises(ValueError):
        await Kitchen.objects.bulk_update(kitchens, ["id"])
    with pytest.raises(ValueError):
        await Kitchen.objects.bulk_update([*kitchens, Kitchen(label="new")], ["small"])
    kitchens[0].small = "x"
    with capture() as seen, pytest.raises(aksara.ValidationError):
        await Kitchen.objects.bulk_update(kitchens, ["small"])
    assert len(seen) == 0


async def test_in_bulk_of_many_keys(db: Database) -> None:
    objects = await Kitchen.objects.bulk_create([make_kitchen(i) for i in range(3_000)])
    wanted = [obj.pk for obj in objects[::3]]
    found = await Kitchen.objects.in_bulk(wanted)
    assert sorted(found) == sorted(wanted)
    assert all(found[obj.pk].label == obj.label for obj in objects[::3])
