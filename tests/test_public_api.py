"""Each package's ``__all__`` lists exactly its public names, sorted, so the API never
drifts by accident."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "aksara",
    "aksara.api",
    "aksara.auth",
    "aksara.api.openapi",
    "aksara.cache",
    "aksara.cache.backends",
    "aksara.checks",
    "aksara.db",
    "aksara.db.dialects",
    "aksara.debug",
    "aksara.migrations",
    "aksara.monitoring",
    "aksara.orm",
]
#: Submodules that are public names of their package (``from aksara.api import serializers``).
PUBLIC_MODULES = ("fields", "serializers", "versions")


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        attribute
        for attribute, value in vars(module).items()
        if not attribute.startswith("_")
        and not (isinstance(value, types.ModuleType) and attribute not in PUBLIC_MODULES)
    }
    assert set(module.__all__) == public
    assert list(module.__all__) == sorted(module.__all__)
