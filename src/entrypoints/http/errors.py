"""Every non-2xx response is the contract's error envelope; this module is the one place that decides it.

Core errors map by class in :data:`CORE_ERRORS`; framework errors (unknown route, wrong method, bad JSON,
oversized body) map by status in :data:`STATUS_CODES`; anything else is a 500 that reveals nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from loguru import logger
from msgspec import UNSET, UnsetType

from tenant_core.errors import (
    AuthenticationFailedError,
    ConflictError,
    CredentialsUnreadableError,
    CursorExpiredError,
    ExternalServiceError,
    FieldProblem,
    ForbiddenError,
    GraphApiError,
    InvalidSignupStateError,
    MetaAppNotConfiguredError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitedError,
    SignupError,
    TenantLockedError,
    TenantServiceError,
    TenantSuspendedError,
    UnavailableError,
    ValidationFailedError,
    WabaNotFoundError,
)
from tenant_core.validation import problem_from_msgspec


class ErrorDetail(msgspec.Struct, rename="camel", omit_defaults=True):
    """One entry of ``details``: the field at fault, or for SIGNUP_ERROR what Meta's Graph API said."""

    field: str
    message: str
    fbtrace_id: str | UnsetType = UNSET
    graph_code: int | UnsetType = UNSET
    graph_subcode: int | UnsetType = UNSET
    graph_type: str | UnsetType = UNSET

    @classmethod
    def of(cls, problem: FieldProblem) -> ErrorDetail:
        return cls(field=problem.field, message=problem.message)


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """The error envelope. ``details`` lists the fields at fault (validation errors, Graph failures); for a
    suspended tenant met by resolution (423) it is ``{"tenantId": ...}``."""

    error: str
    code: str
    details: list[ErrorDetail] | dict[str, str] | UnsetType = UNSET


#: Where a 401 or 403 leaves its error in the request's scope state, for the access line to read.
REFUSAL = "refusal"

#: Looked up along the error's class hierarchy, so a subclass maps as its nearest listed ancestor.
CORE_ERRORS: dict[type[TenantServiceError], tuple[int, str]] = {
    ValidationFailedError: (400, "VALIDATION_ERROR"),
    AuthenticationFailedError: (401, "UNAUTHORIZED"),
    RateLimitedError: (429, "RATE_LIMITED"),
    ForbiddenError: (403, "FORBIDDEN"),
    TenantSuspendedError: (403, "TENANT_SUSPENDED"),
    TenantLockedError: (423, "TENANT_SUSPENDED"),
    NotFoundError: (404, "NOT_FOUND"),
    ConflictError: (409, "CONFLICT"),
    PreconditionFailedError: (412, "PRECONDITION_FAILED"),
    CursorExpiredError: (410, "CURSOR_EXPIRED"),
    UnavailableError: (503, "SERVICE_UNAVAILABLE"),
    ExternalServiceError: (502, "UPSTREAM_ERROR"),
    CredentialsUnreadableError: (500, "INTERNAL_ERROR"),
    InvalidSignupStateError: (400, "INVALID_STATE"),
    WabaNotFoundError: (400, "WABA_NOT_FOUND"),
    GraphApiError: (502, "SIGNUP_ERROR"),
    SignupError: (502, "SIGNUP_ERROR"),
    TenantServiceError: (500, "INTERNAL_ERROR"),
}

STATUS_CODES: dict[int, str] = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}

_FRAMEWORK_MESSAGES = {
    404: "Route not found",
    405: "Method not allowed for this route",
    413: "Request body is larger than 64 KiB",
    415: "Request bodies must be JSON (Content-Type: application/json)",
}


def error_response(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> Response[ErrorBody]:
    return Response(content=body, status_code=status, headers=headers)


#: Where the core's message needs the deployment's words (settings, headers) that the core does not know.
WIRE_MESSAGES: dict[type[TenantServiceError], str] = {
    MetaAppNotConfiguredError: "No Meta app is configured: set META_APP_ID and META_APP_SECRET",
}


def core_error(request: Request[Any, Any, Any], exc: TenantServiceError) -> Response[ErrorBody]:
    status, code = next(CORE_ERRORS[cls] for cls in type(exc).__mro__ if cls in CORE_ERRORS)
    if isinstance(exc, AuthenticationFailedError | ForbiddenError):
        request.scope["state"][REFUSAL] = exc  # the access line says why; the body stays generic
    body = ErrorBody(error=WIRE_MESSAGES.get(type(exc), exc.message), code=code)
    if isinstance(exc, TenantLockedError):
        body.details = {"tenantId": exc.tenant_id}
    if isinstance(exc, ValidationFailedError):
        body.details = [ErrorDetail.of(p) for p in exc.details]
    if isinstance(exc, GraphApiError):
        body.details = [_graph_detail(exc)]
    if isinstance(exc, UnavailableError):
        logger.warning("Dependency unavailable: {}", exc.message)
    if isinstance(exc, CredentialsUnreadableError):
        # The operator got the reason (an ERROR line from SealedValues); the caller only needs to know it is not
        # their fault.
        body = ErrorBody(error="Stored credentials could not be decrypted", code=code)
    return error_response(status, body, _headers_for(exc))


def _graph_detail(exc: GraphApiError) -> ErrorDetail:
    def given(value: Any) -> Any:
        return UNSET if value is None else value

    return ErrorDetail(
        field=f"metaGraph.{exc.step}",
        message=exc.graph_message or exc.message,
        fbtrace_id=given(exc.fbtrace_id),
        graph_code=given(exc.graph_code),
        graph_subcode=given(exc.graph_subcode),
        graph_type=given(exc.graph_type),
    )


def _headers_for(exc: TenantServiceError) -> dict[str, str] | None:
    if isinstance(exc, AuthenticationFailedError):
        return {"WWW-Authenticate": 'Bearer realm="tenant-service"'}
    if isinstance(exc, RateLimitedError):
        return {
            "Retry-After": str(exc.retry_after_seconds),
            "X-RateLimit-Limit": str(exc.limit),
            "X-RateLimit-Remaining": "0",
        }
    return None


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[ErrorBody]:
    """Litestar's own validation (bodies, query and path parameters) in the envelope, naming each field as
    the caller sent it (``type``, ``If-Match``), not as the handler's argument is called."""
    wire = _wire_names(request)
    problems = [_problem_from_item(item, wire) for item in (exc.extra if isinstance(exc.extra, list) else [])]
    if not problems:  # body decoding failed: msgspec's message carries the JSON path
        problems = [_problem_from_detail(exc.detail)]
    details = [ErrorDetail.of(p) for p in problems]
    summary = "; ".join(f"{d.field}: {d.message}" for d in details)
    return error_response(400, ErrorBody(error=f"Invalid request: {summary}", code="VALIDATION_ERROR", details=details))


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    if status >= 500:
        return internal_error(_, exc)
    code = STATUS_CODES.get(status, "VALIDATION_ERROR" if status == 400 else "ERROR")
    if status == 400:
        problem = _problem_from_detail(exc.detail)
        body = ErrorBody(error=f"Invalid request: {problem.message}", code=code, details=[ErrorDetail.of(problem)])
        return error_response(400, body)
    message = _FRAMEWORK_MESSAGES.get(status, exc.detail)
    return error_response(status, ErrorBody(error=message, code=code), headers=exc.headers)


def internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    # diagnose=False in the log configuration keeps variable values (possibly secrets) out of the trace.
    logger.opt(exception=exc).error("Unhandled error")
    return error_response(500, ErrorBody(error="Internal server error", code="INTERNAL_ERROR"))


def _wire_names(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Argument name → the name of the query parameter or header it is read from, where they differ."""
    try:
        parameters = request.route_handler.parsed_fn_signature.parameters
    except Exception:  # noqa: BLE001 - no route (a refusal before routing): no names to translate
        return {}
    names = {}
    for name, parameter in parameters.items():
        kwarg = parameter.kwarg_definition
        alias = getattr(kwarg, "query", None) or getattr(kwarg, "header", None) or getattr(kwarg, "name", None)
        if isinstance(alias, str) and alias != name:
            names[name] = alias
    return names


def _problem_from_item(item: Any, wire: dict[str, str]) -> FieldProblem:
    """One Litestar error item (``key`` is ``data`` for the body root) → the field in wire terms."""
    key = str(item.get("key") or "") if isinstance(item, dict) else ""
    message = str(item.get("message", "is invalid")) if isinstance(item, dict) else "is invalid"
    path = "" if key in ("", "data") else wire.get(key, key)
    return problem_from_msgspec(f"{message} - at `$.{path}`" if path else message)


def _problem_from_detail(detail: str) -> FieldProblem:
    # Litestar prefixes decoding failures ("Invalid JSON: ..."); what follows is msgspec's message.
    message = detail.split(": ", 1)[1] if detail.startswith(("Invalid", "Malformed")) and ": " in detail else detail
    return problem_from_msgspec(message)


_ERROR_DESCRIPTIONS = {
    400: "VALIDATION_ERROR (details name each field), INVALID_STATE or WABA_NOT_FOUND",
    401: "UNAUTHORIZED: missing, invalid or expired credentials",
    403: "FORBIDDEN: not allowed, including another tenant's resources; TENANT_SUSPENDED: the caller's tenant is "
    "suspended and may only read its own record",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT: a unique field is taken, or the status transition is not allowed",
    410: "CURSOR_EXPIRED: the feed cursor is older than retention; read from the start and rebuild",
    412: "PRECONDITION_FAILED: If-Match does not name the current version",
    413: "PAYLOAD_TOO_LARGE: body over 64 KiB",
    415: "UNSUPPORTED_MEDIA_TYPE: the body is declared as something other than JSON",
    423: "TENANT_SUSPENDED: the resolved tenant is suspended; stop serving it (details.tenantId names it)",
    429: "RATE_LIMITED (see Retry-After)",
    500: "INTERNAL_ERROR",
    502: "SIGNUP_ERROR: Meta's Graph API refused or failed (details carry its message and fbtrace_id); "
    "UPSTREAM_ERROR: Genesys Cloud refused a connection check's call or did not answer",
    503: "SERVICE_UNAVAILABLE: the database is unreachable, or the feature is not configured",
}


def document_error_responses(route_handlers: Iterable[Any]) -> None:
    """Tell the OpenAPI document the truth: every error status answers with :class:`ErrorBody`.

    Litestar would otherwise describe its own 400 body, which this service never sends.
    """
    envelope = {
        status: ResponseSpec(data_container=ErrorBody, description=description, generate_examples=False)
        for status, description in _ERROR_DESCRIPTIONS.items()
    }
    for handler in route_handlers:
        takes_body = "data" in handler.parsed_fn_signature.parameters  # only those answer 415
        errors = {status: spec for status, spec in envelope.items() if status != 415 or takes_body}
        handler.responses = {**errors, **(handler.responses or {})}


EXCEPTION_HANDLERS = {
    TenantServiceError: core_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}
