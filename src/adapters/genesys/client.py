"""The :class:`~tenant_core.ports.GenesysCloud` port over HTTP with httpx.

Each region is a host (``mypurecloud.ie``): tokens come from ``login.<host>``, the API is ``api.<host>``.
``base_url`` (tests only) sends both to one server and names the host in the ``Host`` header, as the
real call would, so a fake on loopback can still tell regions apart. Reads are retried on transport
errors and 5xx answers; nothing here ever names a secret or a token in a message or a log line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, TypeVar
from urllib.parse import quote

import httpx
import msgspec
from loguru import logger
from msgspec import Meta

from tenant_core.errors import ExternalServiceError
from tenant_core.ports import GenesysOrganization

_T = TypeVar("_T")


class _Token(msgspec.Struct):
    access_token: Annotated[str, Meta(min_length=1)]


class _TokenRefusal(msgspec.Struct):
    error: str | None = None


class _Organization(msgspec.Struct):
    id: Annotated[str, Meta(min_length=1, max_length=255)]
    name: Annotated[str, Meta(max_length=255)] = ""


class HttpGenesysCloud:
    """The :class:`~tenant_core.ports.GenesysCloud` port over HTTP: client-credentials tokens, org and
    integration lookups per region."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout_seconds: float = 10.0,
        read_attempts: int = 2,
        backoff_seconds: float = 0.2,
        client: httpx.AsyncClient | None = None,
        on_call: Callable[[str, str], None] | None = None,
    ) -> None:
        """``on_call(step, outcome)`` is told of every HTTP attempt: ok, refused, error or timeout (metrics)."""
        self._base_url = base_url.rstrip("/") if base_url else None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=min(3.0, timeout_seconds))
        )
        self._attempts = max(1, read_attempts)
        self._backoff = backoff_seconds
        self._on_call = on_call or (lambda step, outcome: None)

    async def close(self) -> None:
        await self._client.aclose()

    async def token(self, region: str, client_id: str, client_secret: str) -> str:
        response = await self._call(
            "token",
            "POST",
            f"login.{region}",
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, client_secret),
        )
        if response.status_code in (400, 401):
            try:
                code = msgspec.json.decode(response.content, type=_TokenRefusal).error
            except msgspec.DecodeError:
                code = None
            reason = f" ({code})" if code and code.replace("_", "").isalnum() else ""
            raise ExternalServiceError(
                f"Genesys Cloud refused the client credentials{reason}",
                step="token",
                refused=True,
                status=response.status_code,
            )
        return _decoded(_ok(response, "token"), _Token, "token").access_token

    async def organization(self, region: str, token: str) -> GenesysOrganization:
        response = await self._call("organization", "GET", f"api.{region}", "/api/v2/organizations/me", token=token)
        org = _decoded(_ok(response, "organization"), _Organization, "organization")
        return GenesysOrganization(id=org.id, name=org.name)

    async def has_open_messaging_integration(self, region: str, token: str, integration_id: str) -> bool:
        path = f"/api/v2/conversations/messaging/integrations/open/{quote(integration_id, safe='')}"
        response = await self._call("integration", "GET", f"api.{region}", path, token=token)
        if response.status_code == 404:
            return False
        _ok(response, "integration")
        return True

    async def _call(
        self,
        step: str,
        method: str,
        host: str,
        path: str,
        *,
        token: str | None = None,
        data: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> httpx.Response:
        url, headers = f"https://{host}{path}", {"Accept": "application/json"}
        if self._base_url is not None:
            url, headers["Host"] = f"{self._base_url}{path}", host
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        attempts = 1 if method == "POST" else self._attempts
        for attempt in range(1, attempts + 1):
            try:
                response = await self._client.request(method, url, headers=headers, data=data, auth=auth)
            except httpx.TimeoutException:
                self._on_call(step, "timeout")
                failure = ExternalServiceError(
                    f"Genesys Cloud ({host}) did not answer in time", step=step, refused=False
                )
            except httpx.HTTPError as exc:
                self._on_call(step, "error")
                failure = ExternalServiceError(
                    f"Genesys Cloud ({host}) is unreachable ({type(exc).__name__})", step=step, refused=False
                )
            else:
                self._on_call(
                    step, "ok" if response.status_code < 400 else "refused" if response.status_code < 500 else "error"
                )
                if response.status_code < 500:
                    return response
                failure = ExternalServiceError(
                    f"Genesys Cloud ({host}) failed (HTTP {response.status_code})",
                    step=step,
                    refused=False,
                    status=response.status_code,
                )
            if attempt < attempts:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        logger.warning("Genesys call failed", step=step, host=host, status=failure.status)
        raise failure


def _ok(response: httpx.Response, step: str) -> bytes:
    if response.status_code >= 400:
        raise ExternalServiceError(
            f"Genesys Cloud refused {step} (HTTP {response.status_code})",
            step=step,
            refused=True,
            status=response.status_code,
        )
    return response.content


def _decoded(body: bytes, type_: type[_T], step: str) -> _T:
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.DecodeError:
        raise ExternalServiceError(
            f"Genesys Cloud answered {step} with an unexpected body", step=step, refused=False
        ) from None
