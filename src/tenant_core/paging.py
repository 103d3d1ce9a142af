"""The bounds of every paged listing, in one place."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from tenant_core.errors import ValidationFailedError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
#: Offsets beyond this are refused rather than handed to the database (deep pages want a cursor).
MAX_OFFSET = 1_000_000
#: Positions and ids are bigint columns: a cursor naming anything larger is not one this service issued.
MAX_POSITION = 2**63 - 1


def page_size(limit: int) -> int:
    """The size of a page asked for with ``limit``: at least 1 (else refused), at most :data:`MAX_PAGE_SIZE`
    (larger asks are clamped). Every listing, paged by offset or by cursor, sizes its pages here."""
    if limit < 1:
        raise ValidationFailedError.for_field("limit", "must be at least 1")
    return min(limit, MAX_PAGE_SIZE)


def page_window(limit: int, offset: int, after: str | None = None) -> tuple[int, int]:
    """``(limit, offset)`` checked: the limit by :func:`page_size`, offset 0..MAX_OFFSET, and a page is chosen
    by offset or by the cursor ``after``, not both."""
    size = page_size(limit)
    if offset < 0:
        raise ValidationFailedError.for_field("offset", "must be 0 or more")
    if offset > MAX_OFFSET:
        raise ValidationFailedError.for_field("offset", f"must be at most {MAX_OFFSET:,}")
    if after is not None and offset:
        raise ValidationFailedError.for_field("after", "page by offset or by cursor, not both")
    return size, offset


def encode_cursor(*position: object) -> str:
    """An opaque cursor for keyset paging: the position of the last row of a page (datetimes as ISO text)."""
    values = [v.isoformat() if isinstance(v, datetime) else v for v in position]
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _not_issued(field: str = "after") -> ValidationFailedError:
    return ValidationFailedError.for_field(field, "is not a cursor this service issued")


def decode_cursor(cursor: str) -> list[object]:
    """The values of a cursor made by :func:`encode_cursor`; :class:`ValidationFailedError` for anything else."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error, RecursionError):  # RecursionError: "[[[[…" nested deep
        values = None
    if not isinstance(values, list) or not values:
        raise _not_issued()
    return values


def tenant_position(cursor: str) -> tuple[datetime, str]:
    """The (createdAt, id) a tenant-list cursor stands for, the time in UTC."""
    values = decode_cursor(cursor)
    if len(values) != 2 or not all(isinstance(v, str) and "\x00" not in v for v in values):
        raise _not_issued()
    created_at, row_id = values
    try:
        # Every cursor this service issues carries its zone; one whose UTC time falls outside the calendar
        # (0001-01-01T00:00:00+23:59) would overflow in the database driver.
        position = datetime.fromisoformat(created_at)
        position = position.astimezone(UTC) if position.tzinfo is not None else None
    except (ValueError, OverflowError):
        position = None
    if position is None:
        raise _not_issued()
    return position, row_id


def audit_position(cursor: str) -> int:
    """The event id an audit-log cursor stands for."""
    (event_id, *rest) = decode_cursor(cursor)
    if rest or not isinstance(event_id, int) or isinstance(event_id, bool) or not 0 <= event_id <= MAX_POSITION:
        raise _not_issued()
    return event_id


def feed_position(cursor: str) -> int:
    """The feed position an events cursor (a ``next``, or an event's ``sequence``) stands for."""
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 19) or int(cursor) > MAX_POSITION:
        raise ValidationFailedError.for_field("after", "must be a cursor from this feed (a `next` or `sequence`)")
    return int(cursor)
