"""The request class: JSON bodies decoded with the failures Litestar lets through turned into 400s.

Litestar reports malformed JSON itself, but a body that is not UTF-8, or nested deeper than the decoder's
recursion limit, escapes as ``UnicodeDecodeError`` / ``RecursionError`` (a 500). And JSON may carry NUL
(``\\u0000``), which no text column can store. All three are the caller's mistake and answered as such.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from tenant_core.errors import ValidationFailedError

_NUL_ESCAPE = b"\\u0000"


def nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) in ``value`` holding NUL, or ``None``."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return path or "body"
            if (found := nul_path(item, child)) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := nul_path(item, f"{path}[{index}]")) is not None:
                return found
    return None


class TenantServiceRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            value = await super().json()
        except UnicodeDecodeError:
            raise ValidationFailedError.for_field("body", "must be UTF-8 encoded JSON") from None
        except RecursionError:
            raise ValidationFailedError.for_field("body", "JSON is nested too deeply") from None
        if _NUL_ESCAPE in await self.body() and (field := nul_path(value)) is not None:
            raise ValidationFailedError.for_field(field, "must not contain NUL (\\u0000) characters")
        return value
