"""Exceptions raised by lakeroute.

Every error is a :class:`LakeError`; the common ones are also the builtin a Python user expects,
so ``except FileNotFoundError`` works on a missing object and ``except ValueError`` on a bad URI.
Messages name the URI and say what to do.
"""

from __future__ import annotations

__all__ = [
    "LakeError",
    "InvalidUriError",
    "PathEscapeError",
    "DatasetNotFoundError",
    "NotFoundError",
    "AlreadyExistsError",
    "PermissionDeniedError",
    "ReadOnlyError",
    "PreconditionError",
    "NotModifiedError",
    "CatalogError",
    "UnsupportedError",
    "LocalIOError",
    "StorageError",
    "BudgetExceededError",
]


class LakeError(Exception):
    """Base class of every lakeroute error."""


class InvalidUriError(LakeError, ValueError):
    """The URI (or a range, filter or partition value) is malformed."""


class PathEscapeError(InvalidUriError):
    """A key tried to leave its dataset (``..``, an encoded ``/``, a look-alike character)."""


class DatasetNotFoundError(LakeError, FileNotFoundError):
    """No dataset with that domain, name and version is declared; the message suggests names."""


class NotFoundError(LakeError, FileNotFoundError):
    """No object at that URI."""


class AlreadyExistsError(LakeError, FileExistsError):
    """A create-only write found an object already there; nothing was changed."""


class PermissionDeniedError(LakeError, PermissionError):
    """The credentials in use may not do this."""


class ReadOnlyError(LakeError, PermissionError):
    """The environment in use is read-only."""


class PreconditionError(LakeError):
    """A conditional write failed: the object changed since it was read."""


class NotModifiedError(LakeError):
    """The object has not changed since the version given."""


class CatalogError(LakeError, ValueError):
    """The catalog, a profile, an environment or a job descriptor has a problem."""


class UnsupportedError(LakeError, NotImplementedError):
    """The store does not support the operation."""


class LocalIOError(LakeError, OSError):
    """A local file could not be read or written."""


class StorageError(LakeError, OSError):
    """Any other storage failure (network, server errors after retries)."""


class BudgetExceededError(LakeError):
    """A read would take the process past its egress budget (``budget:`` in lakeroute.yaml), or a
    job's plan past the budget its descriptor sets; nothing was read. The message names the
    dataset and the budget. Not an ``OSError``: retrying will not help."""
