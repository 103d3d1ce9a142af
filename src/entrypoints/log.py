"""Logging set-up (only entrypoints configure sinks): one JSON object per line on stderr.

Application events go through loguru. The per-request access line is the exception: loguru spends about
25 µs building a record, a quarter of the hot path's whole budget, so :class:`AccessLog` encodes the same
JSON shape with msgspec and writes it to the same stream (about 3 µs), gated by the same LOG_LEVEL.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from loguru import logger

from tenant_core.security import Principal, Role

_encode = msgspec.json.Encoder().encode

#: The ``service`` field of every line: how the platform's log search tells this service's lines apart.
SERVICE = "tenant-service"


@functools.cache
def _camel(name: str) -> str:
    """``tenant_id`` → ``tenantId``: every field in the platform's spelling, whatever the code bound."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _json_sink(message: Any) -> None:
    record = message.record
    line: dict[str, Any] = {
        "ts": record["time"].isoformat(),
        "level": record["level"].name,
        "msg": record["message"],
        "service": SERVICE,
        **{_camel(name): value for name, value in record["extra"].items()},
    }
    if record["exception"] is not None:
        exc = record["exception"]
        line["error"] = f"{exc.type.__name__}" if exc.type else "unknown"
        # The formatted trace carries code lines but no variable values (diagnose is off).
        line["trace"] = message.rstrip("\n").split("\n", 1)[1] if "\n" in message else ""
    sys.stderr.write(_encode(line).decode() + "\n")


def _stderr(message: str) -> None:
    sys.stderr.write(message)  # whatever stderr is at each line: a CLI's progress bar keeps log lines above it


_READABLE_FORMAT = (
    "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> {message} <dim>{extra}</dim>\n{exception}"
)


def configure_logging(level: str = "INFO", log_format: str | None = None, access_batch_ms: float = 0.0) -> None:
    """JSON lines (production), or readable lines when stderr is a terminal; ``log_format`` forces one.
    ``access_batch_ms`` > 0 writes access lines in batches (see :class:`AccessLog`)."""
    readable = (log_format or ("text" if sys.stderr.isatty() else "json")) == "text"
    logger.remove()
    if readable:
        logger.add(_stderr, level=level, format=_READABLE_FORMAT, backtrace=False, diagnose=False, colorize=True)
    else:
        logger.add(_json_sink, level=level, format="{message}\n{exception}", backtrace=False, diagnose=False)
    ACCESS_LOG.enabled = logger.level(level).no <= logger.level("INFO").no
    ACCESS_LOG.readable = readable
    ACCESS_LOG.pid = os.getpid()
    ACCESS_LOG.batch_seconds = access_batch_ms / 1000


class AccessLine(msgspec.Struct, rename="camel", omit_defaults=True):
    """One access line; the README's "Logs" section describes each field. Fields without a value are left
    out. Nothing here is a credential: the caller is named by its subject, role and tenant."""

    ts: str
    level: str
    msg: str
    service: str
    correlation_id: str
    method: str
    path: str  # as requested (percent-encoded, without the query string)
    route: str  # the route template that served it, or "unmatched"
    status: int
    duration_ms: float
    pid: int
    client_ip: str | None = None
    forwarded_for: str | None = None
    subject: str | None = None
    role: Role | None = None
    tenant_id: str | None = None
    reason: str | None = None  # why a 401 or 403 refused the caller (tenant_core.Refusal)


class AccessLog:
    """One JSON line per request (:class:`AccessLine`).

    With ``batch_seconds`` (``ACCESS_LOG_BATCH_MS``: 50 ms in the service), JSON lines are written in
    batches: at 64 lines, or that long after the first line of a batch, and when the app stops. One write
    per line was 8% of a worker's time on the hot path; a crash loses at most the last batch of access
    lines (application events are never held back). Without it, each line is written at once.
    """

    enabled = True
    readable = False
    pid = os.getpid()  # which worker served it; refreshed by configure_logging in each worker
    BATCH_LINES = 64
    batch_seconds = 0.0

    def __init__(self) -> None:
        self._batch: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None
        self._second, self._second_text = -1, ""

    def _timestamp(self) -> str:
        """``datetime.now(UTC).isoformat()`` (with microseconds always), at a fifth of its cost: the date and
        time to the second are formatted once per second. It was the access line's most expensive part."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second, self._second_text = second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._second_text}.{int((now - second) * 1_000_000):06d}+00:00"

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._batch:
            lines, self._batch = b"".join(self._batch), []
            sys.stderr.write(lines.decode())

    def write(
        self,
        correlation_id: str,
        method: str,
        path: str,
        route: str,
        status: int,
        duration_ms: float,
        client_ip: str | None = None,
        forwarded_for: str | None = None,
        principal: Principal | None = None,
        tenant_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Log one request. ``tenant_id``: the tenant the request is about when the caller is not a tenant
        (a tenant principal is always logged with its own)."""
        if not self.enabled:
            return
        subject = role = None
        if principal is not None:
            subject, role = principal.subject, principal.role
            tenant_id = principal.tenant_id or tenant_id
        if self.readable:
            stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
            # A tenant id comes percent-decoded from the path, so from anyone: control characters are escaped.
            who = f" {role}:{_printable(subject)}" if subject else ""
            why = f" ({reason})" if reason else ""
            tenant = f" tenant={_printable(tenant_id)}" if tenant_id else ""
            sys.stderr.write(
                f"{stamp} INFO    {method} {path} {status}{why} {duration_ms}ms{who}{tenant} {route} "
                f"from {client_ip} [{correlation_id}]\n"
            )
            return
        line = AccessLine(
            self._timestamp(),
            "INFO",
            "request",
            SERVICE,
            correlation_id,
            method,
            path,
            route,
            status,
            duration_ms,
            self.pid,
            client_ip,
            forwarded_for,
            subject,
            role,
            tenant_id,
            reason,
        )
        self._batch.append(_encode(line) + b"\n")
        if len(self._batch) >= self.BATCH_LINES or not self.batch_seconds:
            self.flush()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self.batch_seconds, self.flush)
            except RuntimeError:  # no event loop (a synchronous caller): write at once
                self.flush()


def _printable(text: str) -> str:
    """``text`` with each control character escaped (``\\n``, ``\\x1b``), so that it cannot start a line or
    move the cursor."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


ACCESS_LOG = AccessLog()
atexit.register(ACCESS_LOG.flush)
