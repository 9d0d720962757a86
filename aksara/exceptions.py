"""The exceptions Aksara raises; all derive from :class:`AksaraError`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean 'x'?' when *name* is close to one of *choices*, else ''."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


class AksaraError(Exception):
    """Base class of every error Aksara raises."""


class ConfigurationError(AksaraError):
    """A setting is unknown, misspelt or has a value of the wrong kind."""


class DatabaseError(AksaraError):
    """The database or its driver reported an error."""


class ConnectionLostError(DatabaseError):
    """The connection to the database broke while a statement was running."""


class PoolTimeoutError(DatabaseError):
    """No pooled connection became free within the acquire timeout."""


class QueryTimeoutError(DatabaseError):
    """A statement ran past ``DATABASE_POOL["command_timeout"]`` or the server's
    ``statement_timeout`` and was cancelled."""


class IntegrityError(DatabaseError):
    """A unique, foreign-key, not-null or check constraint refused the statement.

    ``constraint`` names the constraint when the database or the model metadata tells it.
    """

    def __init__(self, message: str, *, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class ProtectedError(IntegrityError):
    """A row could not be deleted because a ``PROTECT`` foreign key still points at it."""


class QueryLimitError(DatabaseError):
    """A statement would pass a database limit (bound parameters, condition nesting).

    Raised before the statement is sent; the message names the limit and what to change.
    """


class TransactionError(DatabaseError):
    """A transaction was used in a way that cannot work (for example across tasks)."""


class FieldError(AksaraError, AttributeError):
    """A field, lookup or relation name does not exist on the model."""


class ValidationError(AksaraError, ValueError):
    """A value does not fit its field (type, length, nullability)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DeferredFieldError(AksaraError, AttributeError):
    """A field left out by ``only()`` / ``defer()`` was read."""


class ObjectDoesNotExist(AksaraError, LookupError):
    """``get()`` found no row; each model has its own ``Model.DoesNotExist`` subclass."""


class MultipleObjectsReturned(AksaraError, LookupError):
    """``get()`` found more than one row; each model has its own subclass."""


class WriteOutcomeUnknownError(ConnectionLostError):
    """The connection broke after a write was sent: it may or may not have been applied.

    Aksara never retries such a statement; check whether its effect is present first.
    """


class DatabaseUnavailableError(DatabaseError):
    """No connection to the database could be opened (server, name, role or file)."""


class DatabaseClosedError(DatabaseError):
    """The pool was closed (``disconnect()``) while a task waited for or used a connection."""
