"""The bounds of every paged listing, in one place."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from tenant_core.errors import ValidationFailedError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
#: Offsets beyond this are refused rather than handed to the database (deep pages want a cursor).
MAX_OFFSET = 1_000_000


def page_window(limit: int, offset: int, after: str | None = None) -> tuple[int, int]:
    """``(limit, offset)`` checked: limit at least 1 (clamped to :data:`MAX_PAGE_SIZE`), offset 0..MAX_OFFSET,
    and a page is chosen by offset or by the cursor ``after``, not both."""
    if limit < 1:
        raise ValidationFailedError.for_field("limit", "must be at least 1")
    if offset < 0:
        raise ValidationFailedError.for_field("offset", "must be 0 or more")
    if offset > MAX_OFFSET:
        raise ValidationFailedError.for_field("offset", f"must be at most {MAX_OFFSET:,}")
    if after is not None and offset:
        raise ValidationFailedError.for_field("after", "page by offset or by cursor, not both")
    return min(limit, MAX_PAGE_SIZE), offset


def encode_cursor(*position: object) -> str:
    """An opaque cursor for keyset paging: the position of the last row of a page (datetimes as ISO text)."""
    values = [v.isoformat() if isinstance(v, datetime) else v for v in position]
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> list[object]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error):
        values = None
    if not isinstance(values, list) or not values:
        raise ValidationFailedError.for_field("after", "is not a cursor this service issued")
    return values


def tenant_position(cursor: str) -> tuple[datetime, str]:
    """The (createdAt, id) a tenant-list cursor stands for."""
    try:
        created_at, row_id = decode_cursor(cursor)
        position = datetime.fromisoformat(str(created_at))
    except (ValueError, TypeError):
        position = None
    if position is None or position.tzinfo is None:  # every cursor this service issues carries its zone
        raise ValidationFailedError.for_field("after", "is not a cursor this service issued")
    return position, str(row_id)


def audit_position(cursor: str) -> int:
    """The event id an audit-log cursor stands for."""
    (event_id, *rest) = decode_cursor(cursor)
    if rest or not isinstance(event_id, int) or isinstance(event_id, bool):
        raise ValidationFailedError.for_field("after", "is not a cursor this service issued")
    return event_id
