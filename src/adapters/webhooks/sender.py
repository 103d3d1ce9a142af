"""Sends signed webhook deliveries over HTTP, to the address that passed the check and no other.

Signing uses the maintained ``standardwebhooks`` library, so receivers verify with the same library in any
language. The URL rule is the core's (:mod:`tenant_core.webhook_urls`). Each attempt resolves the host
once, refuses the URL if any address is not globally reachable, and then connects only to those addresses:
the HTTP client never resolves the name itself, so a name that answers a public address to the check and
127.0.0.1 to the connection (DNS rebinding) cannot lead a delivery into the private network. The request
still carries the URL's own ``Host`` header, and TLS still sends and verifies the URL's host name.
Redirects are never followed, and proxy settings from the environment are not used (a proxy would resolve
the name again). ``allow_private`` skips the address check (tests, closed networks); pinning stays.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

import httpcore
from standardwebhooks import Webhook as Signer

from tenant_core.errors import ValidationFailedError
from tenant_core.webhook_urls import Address, WebhookTarget, address_refusal, parse_webhook_url
from tenant_core.webhooks import DeliveryAttempt

_RESOLVE_SECONDS = 3.0
_MAX_ERROR = 300
_USER_AGENT = b"tenant-service-webhooks/1"

#: ``(host, port) -> addresses``: how a sender learns where a name leads (tests inject their own).
Resolver = Callable[[str, int], Awaitable[list[Address]]]


async def system_resolver(host: str, port: int) -> list[Address]:
    """The host's addresses from the operating system's resolver, in its order, without duplicates."""
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), _RESOLVE_SECONDS)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


# The addresses the current attempt checked, for the network backend below: set around each request, in
# the task that makes it (httpcore opens connections in the caller's task).
_PINNED: contextvars.ContextVar[tuple[str, tuple[Address, ...]]] = contextvars.ContextVar("webhook_pinned")


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections to the checked addresses of the current attempt, never to a name."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        pinned_host, addresses = _PINNED.get(("", ()))
        if pinned_host != host or not addresses:
            raise httpcore.ConnectError(f"no checked address for {host}")
        failure: Exception | None = None
        for address in addresses:  # in the resolver's order, as a client resolving for itself would try them
            try:
                return await self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, *args: object, **kwargs: object) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are never delivered over a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class HttpWebhookSender:
    """The :class:`~tenant_core.ports.WebhookSender` port over HTTP(S).

    ``resolver`` and ``ssl_context`` exist for tests (a scripted DNS, a test certificate authority).
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout_seconds: float = 10.0,
        on_attempt=None,  # type: ignore[no-untyped-def]  # (status label, seconds) for metrics
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._timeouts = {phase: timeout_seconds for phase in ("connect", "read", "write", "pool")}
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or ssl.create_default_context(),
            network_backend=_PinnedBackend(),
            # A kept-alive connection stays with the address it was opened to, which was checked then.
            keepalive_expiry=30.0,
        )
        self._on_attempt = on_attempt

    async def refusal(self, url: str) -> str | None:
        try:
            if self._allow_private:  # nothing to refuse by address: a name that does not resolve yet may later
                parse_webhook_url(url)
                return None
            _, _, reason = await self._checked(url)
        except ValidationFailedError as exc:
            return exc.details[0].message
        return reason

    async def send(self, url: str, secret: str, message_id: str, payload: bytes) -> DeliveryAttempt:
        at = datetime.now(UTC)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            target, addresses, reason = await self._checked(url)
        except ValidationFailedError as exc:
            target, addresses, reason = None, (), exc.details[0].message
        if target is None or reason is not None:
            error = f"url refused: {reason}"
        else:
            headers = {
                "content-type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": Signer(secret).sign(message_id, at, payload.decode()),
            }
            try:
                status = await self._post(target, addresses, headers, payload)
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except httpcore.TimeoutException:
                error = "timed out"
            except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.ConnectionNotAvailable, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
        elapsed = time.perf_counter() - started
        if self._on_attempt is not None:
            self._on_attempt("ok" if error is None else "error", elapsed)
        return DeliveryAttempt(at=at, status_code=status, latency_ms=round(elapsed * 1000, 3), error=error)

    async def close(self) -> None:
        await self._pool.aclose()

    async def _checked(self, url: str) -> tuple[WebhookTarget, tuple[Address, ...], str | None]:
        """The URL's target, the addresses a delivery may connect to, and why it may not (or ``None``)."""
        target = parse_webhook_url(url)
        if target.address is not None:
            addresses: tuple[Address, ...] = (target.address,)
        else:
            try:
                addresses = tuple(await self._resolver(target.host, target.port))
            except (OSError, TimeoutError, UnicodeError):
                return target, (), f"host {target.host} does not resolve"
            if not addresses:
                return target, (), f"host {target.host} does not resolve"
        if not self._allow_private:
            for address in addresses:
                if (reason := address_refusal(address)) is not None:
                    return target, (), f"resolves to a non-public address ({reason}); private networks are not allowed"
        return target, addresses, None

    async def _post(
        self, target: WebhookTarget, addresses: tuple[Address, ...], headers: dict[str, str], payload: bytes
    ) -> int:
        request_headers = [
            (b"host", target.netloc.encode()),
            (b"user-agent", _USER_AGENT),
            (b"content-length", str(len(payload)).encode()),
            *((name.encode(), value.encode()) for name, value in headers.items()),
        ]
        url = httpcore.URL(scheme=target.scheme, host=target.host, port=target.port, target=target.target)
        token = _PINNED.set((target.host, addresses))
        try:
            # The body is never read: only the status counts, and a receiver cannot make the sender buffer
            # an endless answer.
            async with self._pool.stream(
                "POST", url, headers=request_headers, content=payload, extensions={"timeout": self._timeouts}
            ) as response:
                return response.status
        finally:
            _PINNED.reset(token)
