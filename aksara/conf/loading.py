"""The table of every setting (its validator and default, gathered from the modules of each
concern) and :class:`Settings`, which loads the settings module lazily and validates it."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from typing import Any

from aksara.conf import caching, databases, queries, security, serving
from aksara.conf.databases import _refuse_both
from aksara.exceptions import ConfigurationError, suggest

# Error messages list the settings sorted: this order is only that of as_dict().
_CONCERNS = (databases, queries, serving, caching, security)

_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    key: validator for concern in _CONCERNS for key, validator in concern.VALIDATORS.items()
}
_DEFAULTS: dict[str, Any] = {
    key: default for concern in _CONCERNS for key, default in concern.DEFAULTS.items()
}


def _validate(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    _refuse_both(values, origin)
    clean: dict[str, Any] = {}
    for key, value in values.items():
        validator = _VALIDATORS.get(key)
        if validator is None:
            raise ConfigurationError(
                f"Unknown setting {key!r} in {origin}.{suggest(key, _VALIDATORS)} "
                f"Valid settings: {', '.join(sorted(_VALIDATORS))}."
            )
        clean[key] = validator(value)
    return clean


class Settings:
    """The process's settings, loaded lazily from the settings module on first read."""

    def __init__(self) -> None:
        self._values: dict[str, Any] | None = None
        self._overrides: dict[str, Any] = {}

    def _load(self) -> dict[str, Any]:
        values = dict(_DEFAULTS)
        module_name = os.environ.get("AKSARA_SETTINGS_MODULE")
        if module_name:
            try:
                module = importlib.import_module(module_name)
            except ImportError as error:
                raise ConfigurationError(
                    f"AKSARA_SETTINGS_MODULE names {module_name!r}, which cannot be imported: "
                    f"{error}"
                ) from error
        else:
            try:
                module = importlib.import_module("settings")
            except ModuleNotFoundError as error:
                if error.name != "settings":
                    raise
                module = None
        if module is not None:
            declared = getattr(module, "AKSARA", None)
            if declared is not None:
                if not isinstance(declared, Mapping):
                    raise ConfigurationError(f"{module.__name__}.AKSARA must be a dict.")
                values.update(_validate(declared, f"{module.__name__}.AKSARA"))
        values.update(self._overrides)
        return values

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not loaded yet: after the first read every setting is a
        # plain instance attribute, so hot paths read them at attribute speed.
        if name.startswith("_"):
            raise AttributeError(name)
        if self._values is None:
            self._values = self._load()
            vars(self).update(self._values)
        try:
            return self._values[name]
        except KeyError:
            raise ConfigurationError(
                f"Unknown setting {name!r}.{suggest(name, _VALIDATORS)} "
                f"Valid settings: {', '.join(sorted(_VALIDATORS))}."
            ) from None

    def configure(self, **keys: Any) -> None:
        """Override settings in code; the values are validated like the settings module's."""
        clean = _validate(keys, "configure()")
        if clean.get("DATABASES") is not None:
            # DATABASES replaces an earlier configure()'s shorthand.
            for key in ("DATABASE_URL", "DATABASE_POOL"):
                self._overrides.pop(key, None)
                if self._values is not None:
                    self._values[key] = vars(self)[key] = _DEFAULTS[key]
        elif ("DATABASE_URL" in clean or "DATABASE_POOL" in clean) and "DATABASES" not in clean:
            current = self._overrides.get("DATABASES")
            if current is None and self._values is not None:
                current = self._values.get("DATABASES")
            if current is not None:
                raise ConfigurationError(
                    "configure() sets DATABASE_URL / DATABASE_POOL while DATABASES is in "
                    'force: set DATABASES["default"] instead (or DATABASES=None first).'
                )
        self._overrides.update(clean)
        if self._values is not None:
            self._values.update(clean)
            vars(self).update(clean)

    def reset(self) -> None:
        """Forget overrides and reload from the settings module on next read."""
        self._overrides.clear()
        if self._values is not None:
            for name in self._values:
                vars(self).pop(name, None)
        self._values = None

    def as_dict(self) -> dict[str, Any]:
        """Return a copy of every setting in force."""
        if self._values is None:
            self._values = self._load()
        return dict(self._values)
