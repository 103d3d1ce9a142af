"""Requests refused before routing, in the error envelope, on the normal route and the fast lane alike.

- NUL in the path or query: no text column can store it, and every route would otherwise find out late.
- An ``OPTIONS`` request from an origin not in ``ALLOWED_ORIGINS``: Litestar takes every ``OPTIONS`` with an
  ``Origin`` for a CORS preflight (``Access-Control-Request-Method`` or not) and refuses it in plain text.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from litestar.types import Scope, Send

from tenant_entrypoints.http.errors import ErrorBody, ErrorDetail
from tenant_entrypoints.http.raw_response import send_json

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    body: ErrorBody

    async def send(self, send: Send) -> int:
        await send_json(send, self.status, _encode(self.body))
        return self.status


def _invalid(field: str, message: str) -> Refusal:
    detail = ErrorDetail(field=field, message=message)
    return Refusal(400, ErrorBody(error=f"Invalid {field}: {message}", code="VALIDATION_ERROR", details=[detail]))


def refuse_before_routing(scope: Scope, allowed_origins: tuple[str, ...] | None) -> Refusal | None:
    if "\x00" in scope["path"]:
        return _invalid("path", "must not contain NUL (%00) characters")
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return _invalid("query", "must not contain NUL (%00) characters")
    if allowed_origins is not None and scope["method"] == "OPTIONS":
        return _disallowed_preflight(scope, allowed_origins)
    return None


def _disallowed_preflight(scope: Scope, allowed_origins: tuple[str, ...]) -> Refusal | None:
    origin = dict(scope["headers"]).get(b"origin")
    if origin is None or "*" in allowed_origins:
        return None
    if origin.decode("latin-1") in allowed_origins:
        return None
    return Refusal(403, ErrorBody(error="This origin is not allowed to call the service (CORS)", code="FORBIDDEN"))
