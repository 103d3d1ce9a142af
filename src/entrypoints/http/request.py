"""Request bodies: a deadline for their arrival, and JSON decoded with the failures Litestar lets through
turned into 400s.

A body that has not fully arrived ``HTTP_BODY_TIMEOUT_SECONDS`` after the app first asks for it is answered
408 ``REQUEST_TIMEOUT`` and its connection closed (:func:`with_body_deadline`): a client that sends headers
and then trickles or withholds the body would otherwise hold a request, and its connection, for ever.

Litestar reports malformed JSON itself, but a body that is not UTF-8, or nested deeper than the decoder's
recursion limit, escapes as ``UnicodeDecodeError`` / ``RecursionError`` (a 500). And JSON may carry NUL
(``\\u0000``), which no text column can store. All three are the caller's mistake and answered as such.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException
from litestar.types import Message, Receive

from tenant_core.errors import ValidationFailedError

_NUL_ESCAPE = b"\\u0000"


class BodyTimeoutError(HTTPException):
    """The request body did not arrive in time: 408, and the connection is closed (its stream is unusable)."""

    status_code = 408


def with_body_deadline(receive: Receive, seconds: float) -> Receive:
    """``receive`` that gives up on the body ``seconds`` after its first call, raising :class:`BodyTimeoutError`
    (which the error table renders as 408). One deadline for the whole body, so a trickle cannot renew it."""
    deadline: float | None = None

    async def receive_before_deadline() -> Message:
        nonlocal deadline
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + seconds
        try:
            async with asyncio.timeout_at(deadline):
                return await receive()
        except TimeoutError:
            raise BodyTimeoutError(
                detail=f"The request body did not arrive within {seconds:g} seconds", headers={"connection": "close"}
            ) from None

    return receive_before_deadline


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
