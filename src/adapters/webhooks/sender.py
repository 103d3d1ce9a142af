"""Sends signed webhook deliveries with httpx; refuses URLs that lead into private networks.

Signing uses the maintained ``standardwebhooks`` library, so receivers verify with the same library in any
language. The address check runs when a subscription is saved and again before each attempt (DNS may
have changed in between); ``allow_private`` turns it off for tests and closed networks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook as Signer

from tenant_core.webhooks import DeliveryAttempt

_RESOLVE_SECONDS = 3.0
_MAX_ERROR = 300


class HttpWebhookSender:
    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout_seconds: float = 10.0,
        on_attempt=None,  # type: ignore[no-untyped-def]  # (status label, seconds) for metrics
    ) -> None:
        self._allow_private = allow_private
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds, follow_redirects=False, headers={"user-agent": "tenant-service-webhooks/1"}
        )
        self._on_attempt = on_attempt

    async def refusal(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "must be an absolute http(s) URL"
        if parts.username or parts.password:
            return "must not carry credentials"
        if self._allow_private:
            return None
        try:
            addresses = await _resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        except (OSError, TimeoutError):
            return f"host {parts.hostname} does not resolve"
        for address in addresses:
            if not address.is_global:
                return f"resolves to a non-public address ({address}); private networks are not allowed"
        return None

    async def send(self, url: str, secret: str, message_id: str, payload: bytes) -> DeliveryAttempt:
        at = datetime.now(UTC)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        if (reason := await self.refusal(url)) is not None:
            error = f"url refused: {reason}"
        else:
            headers = {
                "content-type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": Signer(secret).sign(message_id, at, payload.decode()),
            }
            try:
                response = await self._client.post(url, content=payload, headers=headers)
                status = response.status_code
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except httpx.TimeoutException:
                error = "timed out"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
        elapsed = time.perf_counter() - started
        if self._on_attempt is not None:
            self._on_attempt("ok" if error is None else "error", elapsed)
        return DeliveryAttempt(at=at, status_code=status, latency_ms=round(elapsed * 1000, 3), error=error)

    async def close(self) -> None:
        await self._client.aclose()


async def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), _RESOLVE_SECONDS)
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
