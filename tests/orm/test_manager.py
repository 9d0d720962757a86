"""``Model.objects`` offers every public QuerySet method but those left out on purpose."""

from __future__ import annotations

import inspect

import pytest

from aksara.db import Database
from aksara.orm.manager import Manager
from aksara.orm.queryset import QuerySet
from examples.blog.models import Post, User

#: QuerySet methods a manager does not offer, and why.
EXCLUDED = {
    # ``Model.objects.delete()`` would empty the table by accident; write
    # ``Model.objects.all().delete()`` to mean it (Django's rule).
    "delete",
    # ``with_query(query)`` wraps a modified copy of a QuerySet's own query; a manager has
    # no query of its own to start from.
    "with_query",
}


def _public_methods(cls: type) -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and callable(member)
    }


def test_manager_offers_every_public_queryset_method() -> None:
    missing = _public_methods(QuerySet) - _public_methods(Manager) - EXCLUDED
    assert not missing, f"Manager lacks QuerySet methods: {sorted(missing)}"


def test_exclusions_are_queryset_methods() -> None:
    assert EXCLUDED.issubset(_public_methods(QuerySet))
    assert not EXCLUDED & _public_methods(Manager)


async def test_manager_reverse_runs_the_queryset_reverse(db: Database) -> None:
    for i in range(3):
        await User.objects.create(name=f"u{i}", email=f"u{i}@example.com")
    names = [user.name for user in await User.objects.reverse()]
    assert names == ["u2", "u1", "u0"]


class _Active(Manager[User]):
    def get_queryset(self) -> QuerySet[User]:
        return super().get_queryset().filter(is_active=True)


def test_every_call_starts_from_the_one_frozen_queryset_of_the_model() -> None:
    assert User.objects.get_queryset() is User.objects.get_queryset()
    assert User.objects.all().query is User._meta.query
    manager: Manager[object] = Manager()  # type: ignore[type-var]
    manager.model = User  # type: ignore[assignment]
    assert manager.get_queryset().model is User
    manager.model = Post  # type: ignore[assignment]
    assert manager.get_queryset().model is Post


async def test_get_queryset_override_is_where_every_method_starts(db: Database) -> None:
    await User.objects.create(name="on", email="on@example.com", is_active=True)
    off = await User.objects.create(name="off", email="off@example.com", is_active=False)
    active = _Active()
    active.model = User
    assert [user.name for user in await active.all()] == ["on"]
    # get by key is no shortcut past the override's filter.
    with pytest.raises(User.DoesNotExist):
        await active.get(pk=off.pk)
    assert (await User.objects.get(pk=off.pk)).name == "off"
