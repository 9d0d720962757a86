"""The exceptions of schema migrations."""

from __future__ import annotations

from aksara.exceptions import AksaraError

__all__ = ["MigrationError", "UnsafeMigrationError"]


class MigrationError(AksaraError):
    """A migration cannot be made or applied (no folder, unknown revision, a failed step)."""


class UnsafeMigrationError(MigrationError):
    """A change would lose data unless confirmed: a rename seen as drop + add, a drop of a
    column or table that holds data."""
