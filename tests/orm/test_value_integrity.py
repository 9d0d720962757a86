"""Values reach the database and come back unchanged, or are refused with a named error,
the same way on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

import aksara
from aksara import Model, fields
from aksara.db import Database
from aksara.debug import capture_queries
from aksara.orm.expressions import Max, Min, Sum
from tests.models import Kitchen

UTC = dt.UTC


class Ledger(Model):
    """Numbers at the edges of their columns."""

    name = fields.String(max_length=40, default="")
    amount = fields.Decimal(max_digits=18, decimal_places=4, default=Decimal(0))
    count = fields.Integer(default=0)
    total = fields.BigInteger(default=0)
    ratio = fields.Float(default=0.0)
    share = fields.Decimal(max_digits=6, decimal_places=2, null=True)


async def _refused(write: Callable[[], Awaitable[Any]], field: str) -> str:
    """Run *write*, expect a ValidationError naming *field* and no statement sent."""
    async with capture_queries() as queries:
        with pytest.raises(aksara.ValidationError) as error:
            await write()
    assert error.value.field == field
    assert len(queries) == 0, [q.sql for q in queries]
    return str(error.value)


async def _every_write_refuses(
    model: type[Model],
    field_name: str,
    bad: Any,
    good: Any,
    *,
    matches_nothing: bool = False,
    **others: Any,
) -> list[str]:
    """create, save, bulk_create, bulk_update, update() and filter() all refuse *bad*.

    With *matches_nothing* (an integer beyond its column's range, as Django decides it),
    filter() instead finds no row.
    """
    name = field_name
    saved = await model.objects.create(**{name: good}, **others)
    count = await model.objects.count()
    messages = [
        await _refused(lambda: model.objects.create(**{name: bad}, **others), name),
        await _refused(lambda: model.objects.bulk_create([model(**{name: bad}, **others)]), name),
    ]
    setattr(saved, name, bad)
    messages.append(await _refused(saved.save, name))
    messages.append(await _refused(lambda: model.objects.bulk_update([saved], [name]), name))
    messages.append(
        await _refused(lambda: model.objects.filter(pk=saved.pk).update(**{name: bad}), name)
    )
    if matches_nothing:
        assert await model.objects.filter(**{name: bad}).count() == 0
    else:
        messages.append(await _refused(lambda: model.objects.filter(**{name: bad}).count(), name))
    fresh = await model.objects.get(pk=saved.pk)
    assert getattr(fresh, name) == good
    assert await model.objects.count() == count
    return messages


# -- floats, integers ----------------------------------------------------------------------


async def test_nan_float_is_refused(db: Database) -> None:
    messages = await _every_write_refuses(Ledger, "ratio", math.nan, 1.5)
    assert all("Ledger.ratio" in m and "NaN" in m for m in messages)


async def test_infinite_float_round_trips(db: Database) -> None:
    obj = await Ledger.objects.create(ratio=math.inf)
    assert (await Ledger.objects.get(pk=obj.pk)).ratio == math.inf


async def test_integer_outside_its_column_is_refused(db: Database) -> None:
    messages = await _every_write_refuses(Ledger, "count", 2**31, 7, matches_nothing=True)
    assert "between -2147483648 and 2147483647" in messages[0]
    await _every_write_refuses(Ledger, "total", -(2**63) - 1, 7, matches_nothing=True, name="other")


async def test_database_keeps_integers_in_range_for_sql_the_orm_did_not_check(
    db: Database,
) -> None:
    # SQLite: a CHECK constraint per Integer or Decimal column, and STRICT tables refusing
    # text in number columns; PostgreSQL: the column types themselves.
    obj = await Ledger.objects.create(count=2**31 - 1)
    for sql in (
        "UPDATE ledgers SET count = count + 1",
        "UPDATE ledgers SET count = 'many'",
        "UPDATE ledgers SET amount = 'x'",
    ):
        with pytest.raises(aksara.DatabaseError):
            await db.execute(sql)
    assert (await Ledger.objects.get(pk=obj.pk)).count == 2**31 - 1


# -- decimals ------------------------------------------------------------------------------


async def test_decimal_with_18_digits_round_trips_exactly(db: Database) -> None:
    values = [
        Decimal("99999999999999.9999"),
        Decimal("12345678901234.5678"),
        Decimal("12345678901234.5679"),
        Decimal("0.0001"),
        Decimal("-0.0001"),
        Decimal("-99999999999999.9999"),
        Decimal("0"),
    ]
    await Ledger.objects.bulk_create([Ledger(name=str(v), amount=v) for v in values])
    loaded = await Ledger.objects.order_by("amount").values_list("amount", flat=True)
    assert loaded == sorted(values)
    assert [str(v) for v in loaded] == [str(v.quantize(Decimal("0.0001"))) for v in sorted(values)]
    exact = await Ledger.objects.filter(amount=Decimal("12345678901234.5678")).values_list(
        "name", flat=True
    )
    assert exact == ["12345678901234.5678"]
    above = await Ledger.objects.filter(amount__gt=Decimal("12345678901234.5678")).count()
    assert above == 2
    assert await Ledger.objects.filter(amount__lt=0).count() == 2
    result = await Ledger.objects.filter(
        amount__gt=0, amount__lt=Decimal("99999999999999")
    ).aggregate(total=Sum("amount"), low=Min("amount"), high=Max("amount"))
    assert result == {
        "total": Decimal("24691357802469.1358"),
        "low": Decimal("0.0001"),
        "high": Decimal("12345678901234.5679"),
    }
    obj = await Ledger.objects.get(name="0.0001")
    obj.amount = Decimal("12345678901234.5677")
    await obj.save()
    assert (await Ledger.objects.get(pk=obj.pk)).amount == Decimal("12345678901234.5677")


async def test_decimal_with_more_places_than_the_column_is_refused(db: Database) -> None:
    messages = await _every_write_refuses(Ledger, "share", Decimal("1.005"), Decimal("1.50"))
    assert "keeps 2 decimal places" in messages[0]
    await _every_write_refuses(Ledger, "share", Decimal("10000.00"), Decimal("1.50"), name="b")


def test_sqlite_refuses_a_decimal_it_cannot_store_exactly() -> None:
    from aksara.db.dialects import PostgresDialect, SQLiteDialect
    from aksara.orm.registry import registry
    from aksara.orm.schema import schema_sql

    class Huge(Model):
        amount = fields.Decimal(max_digits=20, decimal_places=2)

    try:
        assert any("NUMERIC(20, 2)" in s for s in schema_sql([Huge], dialect=PostgresDialect()))
        with pytest.raises(aksara.FieldError, match=r"Huge.amount.*max_digits=20.*18"):
            schema_sql([Huge], dialect=SQLiteDialect())
    finally:
        registry.unregister(Huge)


# -- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "bad", "expected"),
    [
        ("label", "ab\x00c", "NUL character"),
        ("label", "ab\ud800", "lone surrogate"),
        ("notes", "\x00", "NUL character"),
        ("notes", "caf\udce9", "lone surrogate"),
    ],
)
async def test_text_the_databases_cannot_store_is_refused(
    db: Database, name: str, bad: str, expected: str
) -> None:
    others = {} if name == "label" else {"label": "k"}
    messages = await _every_write_refuses(Kitchen, name, bad, "fine ✓", **others)
    assert all(f"Kitchen.{name}" in m and expected in m for m in messages)


# -- datetimes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        dt.datetime.max,
        dt.datetime.min,
        dt.datetime.max.replace(tzinfo=UTC),
        dt.datetime(1, 1, 1, 3, tzinfo=dt.timezone(dt.timedelta(hours=5))),
        dt.datetime(9999, 12, 31, 20, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ],
    ids=["max", "min", "max-utc", "utc-before-year-1", "utc-after-9999"],
)
async def test_datetime_outside_what_both_store_is_refused(db: Database, bad: dt.datetime) -> None:
    good = dt.datetime(2024, 5, 1, tzinfo=UTC)
    messages = await _every_write_refuses(Kitchen, "moment", bad, good, label="k")
    assert all("Kitchen.moment must lie strictly between" in m for m in messages)


async def test_datetimes_at_the_edges_come_back_aware_on_every_read_path(db: Database) -> None:
    low = dt.datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    high = dt.datetime(9999, 12, 31, 23, 59, 59, 999998, tzinfo=UTC)
    east = dt.datetime(1, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=11)))
    await Kitchen.objects.bulk_create(
        [Kitchen(label="low", moment=low), Kitchen(label="high", moment=high)]
    )
    await Kitchen.objects.create(label="east", moment=east)
    instances = [k.moment for k in await Kitchen.objects.order_by("moment")]
    dicts = [d["moment"] for d in await Kitchen.objects.order_by("moment").values("moment")]
    flat = await Kitchen.objects.order_by("moment").values_list("moment", flat=True)
    result = await Kitchen.objects.aggregate(first=Min("moment"), last=Max("moment"))
    for moments in (instances, dicts, flat):
        assert moments == [low, east, high]
        assert all(m.utcoffset() == dt.timedelta(0) for m in moments)
    assert result == {"first": low, "last": high}
    assert result["first"].utcoffset() == result["last"].utcoffset() == dt.timedelta(0)
    assert await Kitchen.objects.filter(moment__lte=east).count() == 2


# -- JSON ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize(
    ("bad", "where", "expected"),
    [
        ({"score": math.nan}, "['score']", "no NaN or infinity"),
        ([1, [2, -math.inf]], "[1][1]", "no NaN or infinity"),
        ({"at": dt.datetime(2024, 1, 1)}, "['at']", "a datetime"),
        ({"at": dt.date(2024, 1, 1)}, "['at']", "a date"),
        ({"price": Decimal("1.10")}, "['price']", "a Decimal"),
        ({"id": uuid.UUID(int=1)}, "['id']", "a UUID"),
        ({"tags": {"a", "b"}}, "['tags']", "a set"),
        ({"raw": b"\x00"}, "['raw']", "a bytes"),
        ({"p": Point(1)}, "['p']", "a Point"),
        ({1: "one"}, "", "has the key 1"),
        ({"s": "a\x00"}, "['s']", "NUL character"),
        ({"s": "\udc80"}, "['s']", "lone surrogate"),
    ],
)
async def test_json_values_that_would_change_are_refused(
    db: Database, bad: Any, where: str, expected: str
) -> None:
    messages = await _every_write_refuses(Kitchen, "data", bad, {"ok": [1, None]}, label="k")
    assert all(f"Kitchen.data{where}" in m and expected in m for m in messages)


async def test_json_round_trips_what_it_accepts(db: Database) -> None:
    value = {
        "null": None,
        "text": "null \\u0000 00000000-0000-0000-0000-000000000001",
        "uuid_text": "00000000-0000-0000-0000-000000000001",
        "n": [1, -2.5, 2**63, True, "é"],
    }
    obj = await Kitchen.objects.create(label="k", data=value)
    assert (await Kitchen.objects.get(pk=obj.pk)).data == value


# -- UUIDs ---------------------------------------------------------------------------------


class Badge(Model):
    """A model keyed by a UUID."""

    id = fields.UUID(primary_key=True, default=uuid.uuid4)
    code = fields.UUID(null=True)


class BadgeHolder(Model):
    badge = fields.ForeignKey(Badge, on_delete=fields.CASCADE, related_name="holders")


async def test_uuids_read_back_as_uuid_uuid_on_every_read_path(db: Database) -> None:
    badge = await Badge.objects.create(code=uuid.UUID(int=7))
    await BadgeHolder.objects.create(badge=badge)
    loaded = await Badge.objects.get(pk=badge.pk)
    holder = await BadgeHolder.objects.select_related("badge").get()
    (row,) = await Badge.objects.values("id", "code")
    (pair,) = await Badge.objects.values_list("id", "code")
    flat = await BadgeHolder.objects.values_list("badge_id", flat=True)
    prefetched = await Badge.objects.prefetch_related("holders")
    found = [
        loaded.pk,
        loaded.code,
        holder.badge_id,
        holder.badge.pk,
        holder.badge.code,
        row["id"],
        row["code"],
        *pair,
        *flat,
        prefetched[0].holders.all()[0].badge_id,  # type: ignore[attr-defined]
    ]
    assert [type(value) for value in found] == [uuid.UUID] * len(found)
    assert found[1] == uuid.UUID(int=7) and found[0] == badge.pk
    # JSON encoders take them: orjson refuses a driver's UUID subclass.
    import orjson

    assert orjson.dumps(found) == orjson.dumps([str(value) for value in found])
    assert await BadgeHolder.objects.filter(badge__in=[badge.pk]).count() == 1


# -- F() arithmetic ------------------------------------------------------------------------

from aksara.orm.expressions import F  # noqa: E402


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"count": F("name")},
            r"Ledger.name \(String\), which computes a text, in Ledger.count \(Integer\)",
        ),
        ({"count": F("ratio")}, r"Ledger.ratio \(Float\), which computes a float"),
        ({"count": F("count") + 1.5}, r"computes a float, in Ledger.count"),
        ({"total": F("amount") * 2}, r"computes a decimal, in Ledger.total"),
        ({"count": F("count") + "1"}, r"arithmetic takes numbers only"),
        ({"count": F("count") + True}, r"arithmetic takes numbers only"),
        ({"ratio": F("ratio") % 2}, r"% takes integers only"),
        ({"amount": F("ratio") + F("amount")}, r"mixing float and Decimal"),
        ({"amount": F("amount") * F("share")}, r"a Decimal times a Decimal"),
        ({"amount": F("amount") / 3}, r"Decimal division"),
        ({"share": F("amount")}, r"has 4 decimal places and Ledger.share keeps 2"),
        ({"name": F("name") + F("name")}, r"arithmetic takes numbers only"),
        ({"name": F("count")}, r"cannot store Ledger.count \(Integer\)"),
    ],
)
async def test_badly_typed_update_expressions_fail_before_sql(
    db: Database, values: dict[str, Any], expected: str
) -> None:
    obj = await Ledger.objects.create(name="n", count=3, ratio=1.5, amount=Decimal("2.5"))
    async with capture_queries() as queries:
        with pytest.raises(aksara.FieldError, match=expected):
            await Ledger.objects.filter(pk=obj.pk).update(**values)
    assert len(queries) == 0
    fresh = await Ledger.objects.get(pk=obj.pk)
    assert (fresh.name, fresh.count, fresh.ratio, fresh.amount) == ("n", 3, 1.5, Decimal("2.5"))


async def test_update_expressions_compute_the_same_on_both_databases(db: Database) -> None:
    obj = await Ledger.objects.create(
        count=7, total=-7, ratio=0.5, amount=Decimal("10.0001"), share=Decimal("0.25")
    )
    changed = await Ledger.objects.filter(pk=obj.pk).update(
        count=F("count") / 2 + F("count") % 4,
        total=F("total") / 2,
        ratio=F("ratio") * 3 + F("count"),
        amount=(F("amount") + Decimal("0.0002") - F("share")) * 3 + F("count") - 1,
        share=-F("share") + 1,
    )
    assert changed == 1
    fresh = await Ledger.objects.get(pk=obj.pk)
    assert fresh.count == 3 + 3  # integer division truncates on both
    assert fresh.total == -3
    assert fresh.ratio == 8.5
    assert fresh.amount == Decimal("35.2509")
    assert fresh.share == Decimal("0.75")
    assert await Ledger.objects.filter(amount__gt=F("amount")).count() == 0
    assert await Ledger.objects.filter(count__lte=F("total") + 9).count() == 1


async def test_update_expression_values_are_checked_when_bound(db: Database) -> None:
    obj = await Ledger.objects.create(share=Decimal("1.00"))
    for bad in (F("share") + Decimal("0.001"), F("share") + 2**63):
        with pytest.raises(aksara.ValidationError):
            await Ledger.objects.filter(pk=obj.pk).update(share=bad)
    with pytest.raises(aksara.ValidationError, match="NaN"):
        await Ledger.objects.filter(pk=obj.pk).update(ratio=F("ratio") + math.nan)
    assert (await Ledger.objects.get(pk=obj.pk)).share == Decimal("1.00")


@pytest.mark.parametrize(
    "values",
    [
        {"count": F("count") / F("total")},
        {"count": F("count") % F("total")},
        {"ratio": F("ratio") / 0},
        {"amount": F("amount") * (F("count") / F("total"))},
    ],
)
async def test_division_by_zero_fails_on_both_databases(
    db: Database, values: dict[str, Any]
) -> None:
    obj = await Ledger.objects.create(count=5, total=0, ratio=1.0, amount=Decimal(1))
    with pytest.raises(aksara.DatabaseError, match=r"^division by zero$"):
        await Ledger.objects.filter(pk=obj.pk).update(**values)
    fresh = await Ledger.objects.get(pk=obj.pk)
    assert (fresh.count, fresh.ratio, fresh.amount) == (5, 1.0, Decimal(1))
    with pytest.raises(aksara.DatabaseError, match=r"^division by zero$"):
        await Ledger.objects.filter(count__gt=F("count") / F("total")).count()


@pytest.mark.parametrize(
    "values",
    [
        {"count": F("count") * 1_000_000},
        {"total": F("total") * F("total")},
        {"share": F("share") * 1000},
        {"amount": F("amount") + Decimal("99999999999999")},
    ],
)
async def test_update_expressions_cannot_leave_the_column_range(
    db: Database, values: dict[str, Any]
) -> None:
    obj = await Ledger.objects.create(
        count=10_000, total=2**62, share=Decimal("100.00"), amount=Decimal("99999999999.0")
    )
    with pytest.raises(aksara.IntegrityError):  # the same error class on both databases
        await Ledger.objects.filter(pk=obj.pk).update(**values)
    fresh = await Ledger.objects.get(pk=obj.pk)
    assert (fresh.count, fresh.total, fresh.share) == (10_000, 2**62, Decimal("100.00"))


@pytest.mark.parametrize(
    ("lookup", "expression", "expected"),
    [
        ("count__gt", F("name"), "their types differ"),
        ("moment__gt", F("day"), "their types differ"),
        ("price__gt", F("small"), "a Decimal compares with F"),
        ("price__gt", F("price") + 1, "a Decimal compares with F"),
    ],
)
async def test_badly_typed_filter_expressions_fail_on_both(
    db: Database, lookup: str, expression: Any, expected: str
) -> None:
    model = Ledger if lookup.startswith("count") else Kitchen
    with pytest.raises(aksara.FieldError, match=expected):
        await model.objects.filter(**{lookup: expression}).count()
