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


def page_window(limit: int, offset: int) -> tuple[int, int]:
    """``(limit, offset)`` checked: limit at least 1 (clamped to :data:`MAX_PAGE_SIZE`), offset 0..MAX_OFFSET."""
    if limit < 1:
        raise ValidationFailedError.for_field("limit", "must be at least 1")
    if offset < 0:
        raise ValidationFailedError.for_field("offset", "must be 0 or more")
    if offset > MAX_OFFSET:
        raise ValidationFailedError.for_field("offset", f"must be at most {MAX_OFFSET:,}")
    return min(limit, MAX_PAGE_SIZE), offset


def encode_cursor(created_at: datetime, row_id: str) -> str:
    """An opaque cursor for keyset paging: the position (createdAt, id) of the last row of a page."""
    raw = json.dumps([created_at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created_at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(created_at), str(row_id)
    except (ValueError, TypeError, binascii.Error):
        raise ValidationFailedError.for_field("after", "is not a cursor this service issued") from None
