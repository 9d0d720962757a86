"""Field round-trips on both databases: what is written is what is read back, through
every write path (create, save, update, bulk_create) and every read path."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

import aksara
from aksara.db import Database
from examples.blog.models import Post, User
from tests.models import Kitchen
from tests.orm.conftest import capture, kitchen_rows

UTC = dt.UTC
PLUS_0530 = dt.timezone(dt.timedelta(hours=5, minutes=30))
MINUS_0800 = dt.timezone(dt.timedelta(hours=-8))

# (field, value written, value expected back)
ROUND_TRIPS: list[tuple[str, Any, Any]] = [
    ("label", "", ""),
    ("label", "é" * 20, "é" * 20),
    ("label", "🙂 emoji ok", "🙂 emoji ok"),
    ("label", "quote ' \" ; --", "quote ' \" ; --"),
    ("notes", "x" * 100_000, "x" * 100_000),
    ("notes", "multi\nline\ttext\r\n", "multi\nline\ttext\r\n"),
    ("notes", "", ""),
    ("small", -(2**31), -(2**31)),
    ("small", 2**31 - 1, 2**31 - 1),
    ("big", 2**63 - 1, 2**63 - 1),
    ("big", -(2**63), -(2**63)),
    ("big", 0, 0),
    ("ratio", 0.1, 0.1),
    ("ratio", 1 / 3, 1 / 3),
    ("ratio", -1.5e300, -1.5e300),
    ("ratio", 2.5e-300, 2.5e-300),
    ("ratio", 7, 7.0),
    ("price", Decimal("0.01"), Decimal("0.01")),
    ("price", Decimal("-999999.99"), Decimal("-999999.99")),
    ("price", Decimal("123456.78"), Decimal("123456.78")),
    ("price", Decimal("1.10"), Decimal("1.10")),
    ("price", 5, Decimal("5.00")),
    ("price", Decimal("2.5"), Decimal("2.50")),
    ("flag", True, True),
    ("flag", False, False),
    (
        "moment",
        dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
    ),
    (
        "moment",
        dt.datetime(2024, 6, 1, 8, 0, tzinfo=PLUS_0530),
        dt.datetime(2024, 6, 1, 2, 30, tzinfo=UTC),
    ),
    (
        "moment",
        dt.datetime(1999, 12, 31, 20, 0, 1, tzinfo=MINUS_0800),
        dt.datetime(2000, 1, 1, 4, 0, 1, tzinfo=UTC),
    ),
    (
        "moment",
        dt.datetime(2024, 1, 2, 3, 4, 5, 6),
        dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    ),
    ("moment", dt.datetime(1900, 1, 1, tzinfo=UTC), dt.datetime(1900, 1, 1, tzinfo=UTC)),
    ("day", dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
    ("day", dt.date(1900, 1, 1), dt.date(1900, 1, 1)),
    ("day", dt.date(9999, 12, 31), dt.date(9999, 12, 31)),
    (
        "token",
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
    ),
    (
        "token",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e"),
    ),
    (
        "data",
        {"a": 1, "b": [1, 2, {"c": None}], "d": {"e": {"f": "g"}}},
        {"a": 1, "b": [1, 2, {"c": None}], "d": {"e": {"f": "g"}}},
    ),
    ("data", [1, "two", 3.5, True, None, [], {}], [1, "two", 3.5, True, None, [], {}]),
    ("data", {}, {}),
    ("data", [], []),
    ("data", "just a string", "just a string"),
    ("data", 42, 42),
    ("data", 0, 0),
    ("data", False, False),
    ("data", {"unicode": "żółć 🙂", "zz": 1, "aa": 2}, {"unicode": "żółć 🙂", "zz": 1, "aa": 2}),
]

NULLABLE = ("notes", "big", "ratio", "price", "moment", "day", "token", "data")


def _id(case: tuple[str, Any, Any]) -> str:
    text = repr(case[1])
    return f"{case[0]}={text[:30]}"


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same type (so 1 == 1.0 or a datetime == date slip does not pass)."""
    return (a == b and type(a) is type(b)) or (
        isinstance(a, uuid.UUID) and isinstance(b, uuid.UUID) and a == b
    )


@pytest.mark.parametrize("case", ROUND_TRIPS, ids=[_id(c) for c in ROUND_TRIPS])
@pytest.mark.parametrize("path", ["create", "save", "update", "bulk_create"])
async def test_round_trip(db: Database, case: tuple[str, Any, Any], path: str) -> None:
    name, written, wanted = case
    values = {"label": "x", name: written}
    if path == "create":
        obj = await Kitchen.objects.create(**values)
    elif path == "save":
        obj = await Kitchen.objects.create(label="x")
        setattr(obj, name, written)
        await obj.save()
    elif path == "update":
        obj = await Kitchen.objects.create(label="x")
        assert await Kitchen.objects.filter(pk=obj.pk).update(**{name: written}) == 1
    else:
        (obj,) = await Kitchen.objects.bulk_create([Kitchen(**values)])
    loaded = await Kitchen.objects.get(pk=obj.pk)
    assert same(getattr(loaded, name), wanted), (getattr(loaded, name), wanted)
    (value,) = await Kitchen.objects.filter(pk=obj.pk).values_list(name, flat=True)
    assert same(value, wanted), (value, wanted)
    # The stored value is found again by an equality filter.
    if name not in ("data", "notes"):
        assert await Kitchen.objects.filter(**{name: written}).count() == 1


@pytest.mark.parametrize("name", NULLABLE)
async def test_null_round_trip(db: Database, name: str) -> None:
    obj = await Kitchen.objects.create(label="x", **{name: None})
    loaded = await Kitchen.objects.get(pk=obj.pk)
    assert getattr(loaded, name) is None
    filled = await Kitchen.objects.create(label="y", **{name: kitchen_rows()[2][name]})
    filled_loaded = await Kitchen.objects.get(pk=filled.pk)
    assert getattr(filled_loaded, name) is not None
    await Kitchen.objects.filter(pk=filled.pk).update(**{name: None})
    assert getattr(await Kitchen.objects.get(pk=filled.pk), name) is None
    assert await Kitchen.objects.filter(**{name: None}).count() == 2


async def test_every_field_at_once(kitchens: list[Kitchen]) -> None:
    rows = kitchen_rows()
    loaded = await Kitchen.objects.order_by("id")
    assert len(loaded) == len(rows)
    for obj, row in zip(loaded, rows, strict=True):
        for name, value in row.items():
            assert getattr(obj, name) == value, (obj.label, name)
        assert obj.touched_at is not None


async def test_read_types(kitchens: list[Kitchen]) -> None:
    loaded = await Kitchen.objects.get(pk=kitchens[2].pk)
    assert type(loaded.flag) is bool
    assert type(loaded.small) is int and type(loaded.big) is int
    assert type(loaded.ratio) is float
    assert isinstance(loaded.price, Decimal)
    assert type(loaded.day) is dt.date
    assert type(loaded.moment) is dt.datetime and loaded.moment.utcoffset() == dt.timedelta(0)
    assert isinstance(loaded.token, uuid.UUID)
    assert type(loaded.data) is dict


async def test_decimal_reads_back_with_its_decimal_places(db: Database) -> None:
    # Django quantizes DecimalField values to decimal_places on every backend.
    values = [Decimal("1.10"), Decimal("3.00"), Decimal("0.50"), Decimal("12.34")]
    for i, value in enumerate(values):
        await Kitchen.objects.create(label=f"k{i}", price=value)
    loaded = await Kitchen.objects.order_by("id").values_list("price", flat=True)
    assert [str(price) for price in loaded] == ["1.10", "3.00", "0.50", "12.34"]


async def test_datetimes_order_in_time_whatever_their_zone(db: Database) -> None:
    moments = [
        dt.datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 15, 0, tzinfo=PLUS_0530),  # 09:30 UTC
        dt.datetime(2024, 1, 1, 3, 0, tzinfo=MINUS_0800),  # 11:00 UTC
        dt.datetime(2024, 1, 1, 11, 59, 59, 999999),  # naive: UTC
        dt.datetime(2023, 12, 31, 23, 0, tzinfo=MINUS_0800),  # 07:00 UTC next day
    ]
    objs = await Kitchen.objects.bulk_create(
        [Kitchen(label=f"m{i}", moment=m) for i, m in enumerate(moments)]
    )
    aware = [m if m.tzinfo else m.replace(tzinfo=UTC) for m in moments]
    expected = [o.label for _, o in sorted(zip(aware, objs, strict=True), key=lambda pair: pair[0])]
    assert [k.label for k in await Kitchen.objects.order_by("moment")] == expected
    cutoff = dt.datetime(2024, 1, 1, 6, 0, tzinfo=MINUS_0800)  # 14:00 UTC
    after = sorted(o.label for o, m in zip(objs, aware, strict=True) if m > cutoff)
    assert sorted(k.label for k in await Kitchen.objects.filter(moment__gt=cutoff)) == after


@pytest.mark.parametrize("path", ["bulk_create", "bulk_update"])
async def test_json_lists_in_bulk_writes(db: Database, path: str) -> None:
    values: list[Any] = [[1, 2], [3, 4], [], ["a", {"b": [5]}], {"k": [1]}, None, [[1], [2, 3]]]
    if path == "bulk_create":
        objs = await Kitchen.objects.bulk_create(
            [Kitchen(label=f"j{i}", data=v) for i, v in enumerate(values)]
        )
    else:
        objs = await Kitchen.objects.bulk_create(
            [Kitchen(label=f"j{i}", data={"old": i}) for i in range(len(values))]
        )
        for obj, value in zip(objs, values, strict=True):
            obj.data = value
        assert await Kitchen.objects.bulk_update(objs, ["data"]) == len(values)
    stored = await Kitchen.objects.order_by("id").values_list("id", "label", "data")
    assert stored == [
        (obj.pk, f"j{i}", v) for i, (obj, v) in enumerate(zip(objs, values, strict=True))
    ]


async def test_json_default_and_mutation(db: Database) -> None:
    user = await User.objects.create(name="a", email="a@example.com")
    post = await Post.objects.create(title="t", slug="s", author=user)
    post.metadata["tags"] = ["x", "y"]
    post.metadata["nested"] = {"deep": [1, {"deeper": True}]}
    await post.save()
    fresh = await Post.objects.get(pk=post.pk)
    assert fresh.metadata == {"tags": ["x", "y"], "nested": {"deep": [1, {"deeper": True}]}}


# Validation of values --------------------------------------------------------------------------


BAD_VALUES: list[tuple[str, Any]] = [
    ("label", "x" * 21),
    ("label", 5),
    ("label", None),
    ("small", "5"),
    ("small", 5.0),
    ("small", True),
    ("small", 2**31),
    ("small", None),
    ("big", 2**63),
    ("ratio", "1.5"),
    ("price", Decimal("1234567.89")),
    ("price", "1.00"),
    ("price", Decimal("NaN")),
    ("flag", "yes"),
    ("flag", 1),
    ("flag", None),
    ("moment", "2024-01-01"),
    ("moment", dt.date(2024, 1, 1)),
    ("day", dt.datetime(2024, 1, 1)),
    ("day", "2024-01-01"),
    ("token", "not-a-uuid"),
    ("token", 12),
    ("data", {"set": {1, 2}}),
    ("data", object()),
]


@pytest.mark.parametrize(
    ("name", "value"), BAD_VALUES, ids=[f"{n}={v!r}"[:40] for n, v in BAD_VALUES]
)
async def test_bad_values_are_refused_before_any_statement(
    db: Database, name: str, value: Any
) -> None:
    existing = await Kitchen.objects.create(label="ok")
    with capture() as seen:
        with pytest.raises(aksara.ValidationError) as error:
            await Kitchen.objects.create(**{"label": "x", name: value})
        assert error.value.field == name
        setattr(existing, name, value)
        with pytest.raises(aksara.ValidationError):
            await existing.save()
        with pytest.raises(aksara.ValidationError):
            await Kitchen.objects.filter(pk=existing.pk).update(**{name: value})
        with pytest.raises(aksara.ValidationError):
            await Kitchen.objects.bulk_create([Kitchen(**{"label": "y", name: value})])
    assert len(seen) == 0
    assert await Kitchen.objects.count() == 1
