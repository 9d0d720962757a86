"""``Model.objects`` offers every public QuerySet method but those left out on purpose."""

from __future__ import annotations

import inspect

from aksara.db import Database
from aksara.orm.manager import Manager
from aksara.orm.queryset import QuerySet
from examples.blog.models import User

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
