"""The :class:`~tenant_core.ports.MetaGraph` port over HTTP with httpx.

Idempotent reads are retried with exponential backoff on transport errors and 5xx answers; the code
exchange (codes are single use), the subscription and the registration (writes) are never retried. Graph's error bodies
become one :class:`~tenant_core.errors.GraphApiError`; no URL, token or secret reaches a message or a log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import msgspec
from loguru import logger
from msgspec import Meta

from tenant_core.errors import GraphApiError
from tenant_core.ports import GraphPhoneNumber, TokenInfo

DEFAULT_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_GRAPH_VERSION = "v26.0"
_PHONE_FIELDS = "id,display_phone_number,verified_name,quality_rating,code_verification_status"


class _GraphError(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: int | None = None
    error_subcode: int | None = None
    fbtrace_id: str | None = None


class _ErrorBody(msgspec.Struct):
    error: _GraphError


#: Graph object ids are numeric strings. Anything else is refused, because ids go into request paths
#: (``../../evil?x=`` would address another endpoint with the user's token) and into stored credentials.
GraphId = Annotated[str, Meta(pattern=r"^[0-9]{1,32}$")]


class _Scope(msgspec.Struct):
    scope: str
    target_ids: list[str] = []


class _GraphIds(msgspec.Struct):
    ids: list[GraphId]


class _DebugData(msgspec.Struct):
    is_valid: bool = False
    expires_at: int = 0  # unix seconds; 0: never
    data_access_expires_at: int = 0
    granular_scopes: list[_Scope] = []


class _DebugToken(msgspec.Struct):
    data: _DebugData


class _PhoneNumber(msgspec.Struct):
    id: GraphId
    display_phone_number: Annotated[str, Meta(max_length=32)] | None = None
    quality_rating: Annotated[str, Meta(max_length=32)] | None = None
    verified_name: Annotated[str, Meta(max_length=255)] | None = None
    code_verification_status: Annotated[str, Meta(max_length=64)] | None = None


class _PhoneNumbers(msgspec.Struct):
    data: list[_PhoneNumber]


class _AccessToken(msgspec.Struct):
    access_token: str


class HttpMetaGraph:
    """The :class:`~tenant_core.ports.MetaGraph` port over Meta's Graph API with httpx (idempotent reads
    retried, writes never; no token or secret in a message)."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        base_url: str = DEFAULT_GRAPH_URL,
        version: str = DEFAULT_GRAPH_VERSION,
        *,
        timeout_seconds: float = 10.0,
        read_attempts: int = 3,
        backoff_seconds: float = 0.2,
        client: httpx.AsyncClient | None = None,
        on_call: Callable[[str, str], None] | None = None,
    ) -> None:
        """``on_call(step, outcome)`` is told of every HTTP attempt: ok, refused, error or timeout (metrics)."""
        self._on_call = on_call or (lambda step, outcome: None)
        self._app_id = app_id
        self._app_secret = app_secret
        self._version = version.strip("/")
        self._client = client or httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout_seconds, connect=min(3.0, timeout_seconds))
        )
        self._read_attempts = max(1, read_attempts)
        self._backoff = backoff_seconds

    async def close(self) -> None:
        await self._client.aclose()

    async def exchange_code(self, code: str) -> str:
        params = {"client_id": self._app_id, "client_secret": self._app_secret, "code": code}
        body = await self._call("exchange_code", "GET", "oauth/access_token", params=params, attempts=1)
        return _decode(body, _AccessToken, "exchange_code").access_token

    async def inspect_token(self, access_token: str) -> TokenInfo:
        params = {"input_token": access_token, "access_token": f"{self._app_id}|{self._app_secret}"}
        body = await self._call("debug_token", "GET", "debug_token", params=params)
        data = _decode(body, _DebugToken, "debug_token").data
        scopes: dict[str, list[str]] = {}
        for scope in data.granular_scopes:
            if scope.scope.startswith("whatsapp_"):  # their targets are WABA ids, which go into paths
                ids = _decode(msgspec.json.encode({"ids": scope.target_ids}), _GraphIds, "debug_token").ids
                scopes[scope.scope] = ids
        return TokenInfo(
            is_valid=data.is_valid,
            expires_at=_moment(data.expires_at),
            data_access_expires_at=_moment(data.data_access_expires_at),
            scopes=scopes,
        )

    async def phone_numbers(self, waba_id: str, access_token: str) -> list[GraphPhoneNumber]:
        body = await self._call("phone_numbers", "GET", f"{_segment(waba_id)}/phone_numbers", token=access_token)
        numbers = _decode(body, _PhoneNumbers, "phone_numbers").data
        return [GraphPhoneNumber(**msgspec.structs.asdict(number)) for number in numbers]

    async def phone_number(self, phone_number_id: str, access_token: str) -> GraphPhoneNumber:
        params = {"fields": _PHONE_FIELDS}
        body = await self._call("phone_number", "GET", _segment(phone_number_id), params=params, token=access_token)
        return GraphPhoneNumber(**msgspec.structs.asdict(_decode(body, _PhoneNumber, "phone_number")))

    async def subscribe_app(self, waba_id: str, access_token: str) -> None:
        path = f"{_segment(waba_id)}/subscribed_apps"
        await self._call("subscribe_app", "POST", path, token=access_token, attempts=1)

    async def register_phone(self, phone_number_id: str, access_token: str, pin: str) -> None:
        body = {"messaging_product": "whatsapp", "pin": pin}
        path = f"{_segment(phone_number_id)}/register"
        await self._call("register", "POST", path, token=access_token, attempts=1, json=body)

    async def _call(
        self,
        step: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        token: str | None = None,
        attempts: int | None = None,
        json: dict[str, str] | None = None,
    ) -> bytes:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        url = f"/{self._version}/{path}"
        attempts = attempts or self._read_attempts
        # Graph may quote what it was sent ("Malformed access token EAAG..."): its messages lose these.
        sent = {**(params or {}), **(json or {})}
        secrets = (token, self._app_secret, *(sent[name] for name in _SECRET & sent.keys()))
        for attempt in range(1, attempts + 1):
            try:
                response = await self._client.request(method, url, params=params, headers=headers, json=json)
            except httpx.TimeoutException:
                self._on_call(step, "timeout")
                failure = GraphApiError("Meta Graph API did not answer in time", step=step)
            except httpx.HTTPError as exc:
                self._on_call(step, "error")
                failure = GraphApiError(f"Meta Graph API unreachable ({type(exc).__name__})", step=step)
            else:
                if response.status_code < 400:
                    self._on_call(step, "ok")
                    logger.debug("Graph call succeeded", step=step, status=response.status_code)
                    return response.content
                self._on_call(step, "refused" if response.status_code < 500 else "error")
                failure = _graph_error(step, response, secrets)
                if response.status_code < 500:
                    break  # Graph refused: retrying cannot help
            if attempt < attempts:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        logger.warning("Graph call failed", step=step, graph_code=failure.graph_code, fbtrace_id=failure.fbtrace_id)
        raise failure


#: The parameters and body fields of a call that carry a secret (the app's secret is known to the client).
_SECRET = frozenset({"input_token", "code", "pin"})


def _graph_error(step: str, response: httpx.Response, secrets: tuple[str | None, ...]) -> GraphApiError:
    try:
        error = msgspec.json.decode(response.content, type=_ErrorBody).error
    except msgspec.DecodeError:
        error = _GraphError()
    message = error.message
    for secret in secrets:
        if message and secret:
            message = message.replace(secret, "****")
    return GraphApiError(
        f"Meta Graph API refused {step} (HTTP {response.status_code})",
        step=step,
        graph_message=message,
        graph_type=error.type,
        graph_code=error.code,
        graph_subcode=error.error_subcode,
        fbtrace_id=error.fbtrace_id,
    )


def _moment(unix_seconds: int) -> datetime | None:
    """Graph's expiry times: unix seconds, with 0 for "never"."""
    return None if unix_seconds <= 0 else datetime.fromtimestamp(unix_seconds, UTC)


def _segment(value: str) -> str:
    """One path segment, percent-encoded: an id can never add segments, a query or a fragment."""
    return quote(value, safe="")


def _decode(body: bytes, type_: Any, step: str) -> Any:
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.DecodeError:  # includes ValidationError: an id that is not an id
        raise GraphApiError(f"Meta Graph API answered {step} with an unexpected body", step=step) from None
