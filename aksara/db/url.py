"""Parsing of ``DATABASE_URL`` values."""

from __future__ import annotations

from dataclasses import dataclass

from aksara.conf import mask_url
from aksara.exceptions import ConfigurationError

__all__ = ["DatabaseURL", "parse_url"]


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """A parsed database URL: the backend's name and what its driver needs to connect."""

    backend: str
    target: str

    @property
    def is_memory(self) -> bool:
        """True for an in-memory SQLite database (one connection holds all of it)."""
        return self.backend == "sqlite" and self.target == ":memory:"


def parse_url(url: str) -> DatabaseURL:
    """Split *url* into backend and driver target; ``sqlite:///rel``, ``sqlite:////abs``."""
    if url.startswith("sqlite://"):
        path = url[len("sqlite://") :]
        if not path.startswith("/") or len(path) < 2:
            raise ConfigurationError(
                f"SQLite URLs look like 'sqlite:///relative.sqlite3', 'sqlite:////abs/path' "
                f"or 'sqlite:///:memory:'; got {mask_url(url)!r}."
            )
        return DatabaseURL("sqlite", path[1:])
    if url.startswith(("postgresql://", "postgres://")):
        return DatabaseURL("postgresql", url)
    raise ConfigurationError(
        f"Unsupported database URL {mask_url(url)!r}: use 'sqlite:///…' or 'postgresql://…'."
    )
