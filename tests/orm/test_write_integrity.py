"""Write-path integrity: bulk writes are all-or-nothing, explicit primary keys advance the
identity, update_or_create survives concurrent callers, select_for_update needs atomic(),
and integers beyond a column's range neither crash filters nor reach LIMIT / OFFSET."""

from __future__ import annotations

import asyncio

import pytest

import aksara
from aksara import FieldError, IntegrityError, ValidationError
from aksara.db import Database
from aksara.db.transaction import atomic
from aksara.exceptions import TransactionError
from examples.blog.models import Post, User
from tests.conftest import pool_options
from tests.models import Kitchen
from tests.orm.conftest import capture

INT64_MAX = 2**63 - 1


def users(count: int, *, start: int = 0, taken: int | None = None) -> list[User]:
    """*count* new users; the one at index *taken* reuses the email ``taken@example.com``."""
    return [
        User(
            name=f"user {i}",
            email="taken@example.com" if i == taken else f"u{start + i}@example.com",
        )
        for i in range(count)
    ]


def kinds(statements: list[str]) -> list[str]:
    return [sql.split()[0] for sql in statements]


# bulk_create / bulk_update are all-or-nothing ----------------------------------------------------


async def test_bulk_create_failing_in_a_later_batch_writes_nothing(db: Database) -> None:
    await User.objects.create(name="first", email="taken@example.com")
    batch = users(15, taken=12)
    with capture() as seen, pytest.raises(IntegrityError) as error:
        await User.objects.bulk_create(batch, batch_size=5)
    assert error.value.constraint == "users_email_key"
    assert kinds(seen.statements) == ["BEGIN", "INSERT", "INSERT", "INSERT", "ROLLBACK"]
    assert await User.objects.values_list("email", flat=True) == ["taken@example.com"]
    # The keys of the rolled-back rows are not left on the instances: saving them inserts.
    assert all(user.pk is None for user in batch)
    batch[12].email = "free@example.com"
    assert len(await User.objects.bulk_create(batch, batch_size=5)) == 15
    assert await User.objects.count() == 16


async def test_bulk_create_with_the_default_batch_size_is_all_or_nothing(db: Database) -> None:
    # Five columns: 6,553 rows a statement on SQLite, one statement on PostgreSQL.
    await User.objects.create(name="first", email="taken@example.com")
    with pytest.raises(IntegrityError):
        await User.objects.bulk_create(users(14_000, taken=13_999))
    assert await User.objects.count() == 1


async def test_bulk_update_failing_in_a_later_batch_changes_nothing(db: Database) -> None:
    saved = await User.objects.bulk_create(users(15))
    for i, user in enumerate(saved):
        user.email = f"changed{i}@example.com"
    saved[13].email = saved[0].email  # a duplicate in the third batch
    with capture() as seen, pytest.raises(IntegrityError):
        await User.objects.bulk_update(saved, ["email"], batch_size=5)
    assert kinds(seen.statements) == ["BEGIN", "UPDATE", "UPDATE", "UPDATE", "ROLLBACK"]
    stored = await User.objects.order_by("id").values_list("email", flat=True)
    assert stored == [f"u{i}@example.com" for i in range(15)]


async def test_single_batch_outside_atomic_is_one_statement(db: Database) -> None:
    with capture() as seen:
        saved = await User.objects.bulk_create(users(10))
    assert kinds(seen.statements) == ["INSERT"]
    for user in saved:
        user.name = user.name.upper()
    with capture() as seen:
        assert await User.objects.bulk_update(saved, ["name"]) == 10
    assert kinds(seen.statements) == ["UPDATE"]


async def test_bulk_failure_inside_atomic_leaves_the_transaction_usable(db: Database) -> None:
    await User.objects.create(name="first", email="taken@example.com")
    async with atomic():
        kept = await User.objects.create(name="kept", email="kept@example.com")
        for batch_size in (5, None):  # several batches, then one
            with pytest.raises(IntegrityError):
                await User.objects.bulk_create(users(15, taken=12), batch_size=batch_size)
        with pytest.raises(IntegrityError):
            kept.email = "taken@example.com"
            await User.objects.bulk_update([kept], ["email"])
        kept.email = "kept@example.com"
        after = await User.objects.create(name="after", email="after@example.com")
    emails = await User.objects.order_by("id").values_list("email", flat=True)
    assert emails == ["taken@example.com", "kept@example.com", "after@example.com"]
    assert after.pk is not None


async def test_single_batch_inside_atomic_costs_only_what_the_database_needs(
    db: Database,
) -> None:
    async with atomic():
        with capture() as seen:
            await User.objects.bulk_create(users(10))
    if db.dialect.aborts_transaction_on_error:
        # A failed statement would abort the whole transaction: a savepoint keeps it usable.
        assert kinds(seen.statements) == ["SAVEPOINT", "INSERT", "RELEASE"]
    else:
        assert kinds(seen.statements) == ["INSERT"]


# Explicit primary keys advance the identity --------------------------------------------------------


async def test_create_with_an_explicit_key_advances_the_identity(db: Database) -> None:
    await User.objects.create(id=3, name="three", email="3@example.com")
    created = [await User.objects.create(name=f"n{i}", email=f"n{i}@example.com") for i in range(3)]
    assert [user.pk for user in created] == [4, 5, 6]


async def test_bulk_create_with_explicit_keys_advances_the_identity(db: Database) -> None:
    await User.objects.bulk_create(
        [User(id=i, name=f"n{i}", email=f"n{i}@example.com") for i in range(1, 101)]
    )
    user = await User.objects.create(name="next", email="next@example.com")
    assert user.pk == 101


async def test_an_explicit_key_never_moves_the_identity_backwards(db: Database) -> None:
    await User.objects.create(id=50, name="fifty", email="50@example.com")
    await User.objects.create(id=10, name="ten", email="10@example.com")
    await User.objects.bulk_create([User(id=20, name="twenty", email="20@example.com")])
    user = await User.objects.create(name="next", email="next@example.com")
    assert user.pk == 51


async def test_save_inserting_an_explicit_key_advances_the_identity(db: Database) -> None:
    await User(id=7, name="seven", email="7@example.com").save()
    async with atomic():
        await User.objects.create(id=9, name="nine", email="9@example.com")
    user = await User.objects.create(name="next", email="next@example.com")
    assert user.pk == 10


async def test_concurrent_explicit_keys_leave_the_identity_past_all_of_them(
    db: Database,
) -> None:
    async def insert(block: int) -> None:
        await User.objects.bulk_create(
            [
                User(id=block * 100 + i, name=f"{block}-{i}", email=f"{block}-{i}@example.com")
                for i in range(1, 6)
            ]
        )

    await asyncio.gather(*[insert(block) for block in range(10, 0, -1)])
    fresh = await asyncio.gather(
        *[User.objects.create(name=f"new{i}", email=f"new{i}@example.com") for i in range(5)]
    )
    assert sorted(user.pk for user in fresh) == [1006, 1007, 1008, 1009, 1010]


# update_or_create --------------------------------------------------------------------------------


async def test_concurrent_update_or_create_makes_one_row(db: Database) -> None:
    await aksara.connect(pool=pool_options(max_size=20))  # every caller in a transaction at once
    results = await asyncio.gather(
        *[
            User.objects.update_or_create(email="same@example.com", defaults={"name": f"n{i}"})
            for i in range(20)
        ]
    )
    rows = await User.objects.values_list("id", "name")
    assert len(rows) == 1
    pk, name = rows[0]
    assert {user.pk for user, _ in results} == {pk}
    assert sum(created for _, created in results) == 1
    assert name in {f"n{i}" for i in range(20)}


async def test_concurrent_get_or_create_makes_one_row(db: Database) -> None:
    await aksara.connect(pool=pool_options(max_size=20))
    results = await asyncio.gather(
        *[
            User.objects.get_or_create(email="same@example.com", defaults={"name": f"n{i}"})
            for i in range(20)
        ]
    )
    assert await User.objects.count() == 1
    assert len({user.pk for user, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_update_or_create_refuses_unknown_defaults_before_any_statement(
    db: Database,
) -> None:
    await User.objects.create(name="Ada", email="ada@example.com")
    for email in ("ada@example.com", "new@example.com"):  # the update path, the create path
        with capture() as seen, pytest.raises(FieldError, match="nn"):
            await User.objects.update_or_create(email=email, defaults={"nn": 7})
        assert len(seen) == 0
    assert await User.objects.values_list("name", flat=True) == ["Ada"]


# select_for_update --------------------------------------------------------------------------------


async def test_select_for_update_outside_atomic_is_refused(db: Database) -> None:
    user = await User.objects.create(name="Ada", email="ada@example.com")
    with capture() as seen:
        with pytest.raises(TransactionError, match="atomic"):
            await User.objects.select_for_update().get(pk=user.pk)
        with pytest.raises(TransactionError, match="atomic"):
            await User.objects.filter(pk=user.pk).select_for_update()
        with pytest.raises(TransactionError, match="atomic"):
            async with db.connection():  # a pinned connection is not a transaction
                await User.objects.select_for_update().first()
    assert len(seen) == 0


async def test_select_for_update_serialises_read_modify_write(db: Database) -> None:
    author = await User.objects.create(name="Ada", email="ada@example.com")
    post = await Post.objects.create(title="t", slug="t", author=author, view_count=0)

    async def increment() -> None:
        async with atomic():
            locked = await Post.objects.select_for_update().get(pk=post.pk)
            await asyncio.sleep(0.01)  # let the other tasks reach their SELECT
            locked.view_count += 1
            await locked.save(update_fields=["view_count"])

    await asyncio.gather(*[increment() for _ in range(10)])
    assert (await Post.objects.get(pk=post.pk)).view_count == 10


# Integers beyond a column's range -----------------------------------------------------------------


async def test_out_of_range_keys_match_no_row(db: Database) -> None:
    author = await User.objects.create(name="Ada", email="ada@example.com")
    for key in (2**63, 2**64, -(2**63) - 1):
        with pytest.raises(User.DoesNotExist):
            await User.objects.get(pk=key)
        assert await User.objects.filter(id=key) == []
        assert await Post.objects.filter(author_id=key).count() == 0
        assert await Post.objects.filter(author=key).count() == 0
        assert await Post.objects.filter(author__id=key).count() == 0
    assert await User.objects.filter(pk__in=[2**64, author.pk, -(2**64)]) == [author]
    assert await User.objects.filter(pk__in=[2**64]) == []
    assert await User.objects.in_bulk([2**63, author.pk]) == {author.pk: author}
    assert await User.objects.exclude(pk=2**64) == [author]


async def test_out_of_range_comparisons(db: Database) -> None:
    rows = [await Kitchen.objects.create(label=f"k{i}", small=i, big=i) for i in range(3)]
    empty = await Kitchen.objects.create(label="nulls", small=0, big=None)
    every = {row.pk for row in rows}
    cases = [
        ({"pk__gt": 2**64}, set()),
        ({"pk__gte": 2**63}, set()),
        ({"pk__lt": 2**64}, every | {empty.pk}),
        ({"pk__lte": 2**63}, every | {empty.pk}),
        ({"pk__gt": -(2**64)}, every | {empty.pk}),
        ({"pk__lt": -(2**63) - 1}, set()),
        ({"pk__range": (1, 2**64)}, every | {empty.pk}),
        ({"pk__range": (2**63, 2**64)}, set()),
        ({"small": 2**31}, set()),
        ({"small__lt": 2**31}, every | {empty.pk}),
        ({"small__gte": -(2**31) - 1}, every | {empty.pk}),
        ({"small__in": [2**31, 1, -(2**40)]}, {rows[1].pk}),
        ({"big__lt": 2**63}, every),  # NULL is not less than anything
        ({"big__gt": -(2**63) - 1}, every),
        ({"big__in": [2**63]}, set()),
        ({"big": -(2**64)}, set()),
    ]
    for lookups, expected in cases:
        found = {k.pk for k in await Kitchen.objects.filter(**lookups)}
        assert found == expected, lookups
        # exclude() keeps the rows filter() drops, NULLs included, as for in-range values.
        kept = {k.pk for k in await Kitchen.objects.exclude(**lookups)}
        assert kept == (every | {empty.pk}) - expected, lookups
    # A value the column cannot hold never reaches the driver, and the type is still checked.
    with pytest.raises(ValidationError):
        await Kitchen.objects.filter(small__in=["1", 2**40])


@pytest.mark.parametrize(
    "make",
    [
        lambda qs: qs.limit(2**63),
        lambda qs: qs.offset(2**64),
        lambda qs: qs.limit(-1),
        lambda qs: qs.offset(-1),
        lambda qs: qs[2**63 :],
        lambda qs: qs[: 2**64],
        lambda qs: qs[5:][INT64_MAX:],
        lambda qs: qs[2**63],
    ],
    ids=["limit", "offset", "negative limit", "negative offset", "start", "stop", "sum", "index"],
)
async def test_limits_and_offsets_beyond_int64_are_refused(db: Database, make: object) -> None:
    with capture() as seen, pytest.raises(ValidationError, match=str(INT64_MAX)):
        await make(User.objects.all())  # type: ignore[operator]
    assert len(seen) == 0


async def test_the_largest_limit_and_offset_run(db: Database) -> None:
    user = await User.objects.create(name="Ada", email="ada@example.com")
    assert await User.objects.limit(INT64_MAX) == [user]
    assert await User.objects.offset(INT64_MAX) == []
    assert await User.objects.all()[:INT64_MAX] == [user]
