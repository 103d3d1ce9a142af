"""The bounds of every paged listing, in one place."""

from __future__ import annotations

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
