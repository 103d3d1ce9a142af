"""Request bodies: a deadline for their arrival, and JSON checked by the core's rules before a route sees it.

A body that has not fully arrived ``HTTP_BODY_TIMEOUT_SECONDS`` after the app first asks for it is answered
408 ``REQUEST_TIMEOUT`` and its connection closed (:func:`with_body_deadline`): a client that sends headers
and then trickles or withholds the body would otherwise hold a request, and its connection, for ever.

The body a route declares is checked first (:func:`check_body`): another ``Content-Type`` than JSON
(``text/plain``, a form) is a 415; one sent without a ``Content-Type`` is read as JSON, as the platform's
older callers send it; a missing or empty body where the route requires one is "Request body required".
Then it is decoded by :func:`tenant_core.validation.checked_json`, the step the core applies to commands
built in Python: the declared type, strictly (``"100"`` is not a number), with no NUL (``\\u0000``, which no
text column can store) — so a payload gives the same value or the same error in-process and over HTTP.

Litestar reports malformed JSON itself, but a body that is not UTF-8, or nested deeper than the decoder's
recursion limit, escapes as ``UnicodeDecodeError`` / ``RecursionError`` (a 500): both are answered as the
caller's mistake.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException, SerializationException
from litestar.types import Message, Receive

from tenant_core.errors import FieldProblem, ValidationFailedError
from tenant_core.validation import checked_json


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


class UnsupportedMediaTypeError(HTTPException):
    """The body is declared as something other than JSON: 415."""

    status_code = 415


def is_json(content_type: str | None) -> bool:
    """``application/json`` or any ``application/…+json``, with any parameters; no header counts as JSON."""
    if content_type is None or not content_type.strip():
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def body_required() -> ValidationFailedError:
    return ValidationFailedError("Request body required", [FieldProblem("body", "is required: send a JSON object")])


async def check_body(request: Request[Any, Any, Any]) -> None:
    """Before a route's arguments are gathered, the body it declares is checked: JSON by media type, present
    unless optional, and decoded by the core's rules into the declared type. (Litestar alone reads no empty
    body, reports it as a missing argument ``data``, and converts text to numbers.)"""
    declared = request.route_handler.parsed_fn_signature.parameters.get("data")
    if declared is None:
        return
    if not is_json(request.headers.get("content-type")):
        raise UnsupportedMediaTypeError(detail="Request bodies must be JSON (Content-Type: application/json)")
    if not (await request.body()).strip():
        if declared.is_optional:
            return
        raise body_required()
    checked_json(await request.json(), declared.annotation)  # Litestar then converts a value known to be good


class TenantServiceRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            return await super().json()
        except UnicodeDecodeError:
            raise ValidationFailedError.for_field("body", "must be UTF-8 encoded JSON") from None
        except RecursionError:
            raise ValidationFailedError.for_field("body", "JSON is nested too deeply") from None
        except SerializationException as exc:  # malformed JSON, or not UTF-8
            reason = "must be UTF-8 encoded JSON" if "UTF-8" in exc.detail else f"is not valid JSON: {exc.detail}"
            raise ValidationFailedError.for_field("body", reason) from None
