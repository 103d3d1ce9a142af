"""Translate asyncpg failures into core errors, in one place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import asyncpg

from tenant_core.entities import UNIQUE_FIELDS, wire_name
from tenant_core.errors import ConflictError, UnavailableError, ValidationFailedError

# Failures that mean "the database cannot be reached right now", as opposed to a bad statement.
UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.OperatorInterventionError,  # 57: admin shutdown, cannot connect now
    asyncpg.InsufficientResourcesError,  # 53: too many connections, disk full
    asyncpg.InterfaceError,  # connection closed under us, pool closing
    # A connection cut mid-statement is left in a state asyncpg reports as "another operation is in
    # progress" on its next use (seen when Postgres stops under load); the pool then discards it.
    asyncpg.InternalClientError,
)

_CONSTRAINT_FIELDS = {f"tenants_{field}_unique": wire_name(field) for field in UNIQUE_FIELDS}


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Unique violations become ConflictError naming the field; text Postgres cannot store (NUL) and values
    its checks refuse ValidationFailedError; connectivity failures UnavailableError."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        field = _CONSTRAINT_FIELDS.get(exc.constraint_name or "")
        if field is None:
            raise ConflictError("The request conflicts with existing data") from None
        raise ConflictError(f"{field} is already taken", field) from None
    except (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError):
        # The HTTP layer refuses NUL up front; this keeps in-process callers from a raw database error.
        raise ValidationFailedError("Text must not contain NUL (\\u0000) characters") from None
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
        # A value the schema's own checks refuse (a CHECK, NOT NULL, a number out of range): the caller's
        # input, never the database's fault. Use cases validate first; this keeps a gap from being a 500.
        constraint = getattr(exc, "constraint_name", None)
        raise ValidationFailedError(f"The database refused a value ({constraint or type(exc).__name__})") from None
    except UNAVAILABLE as exc:
        raise UnavailableError("The database is unavailable") from exc
