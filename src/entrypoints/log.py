"""Logging set-up (only entrypoints configure sinks): one JSON object per line on stderr.

Application events go through loguru. The per-request access line is the exception: loguru spends about
25 µs building a record, a quarter of the hot path's whole budget, so :class:`AccessLog` encodes the same
JSON shape with msgspec and writes it to the same stream (about 3 µs), gated by the same LOG_LEVEL.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec
from loguru import logger

_encode = msgspec.json.Encoder().encode


def _json_sink(message: Any) -> None:
    record = message.record
    line: dict[str, Any] = {
        "ts": record["time"].isoformat(),
        "level": record["level"].name,
        "msg": record["message"],
        **record["extra"],
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


class AccessLog:
    """One JSON line per request: ts, level, msg, request_id, method, route, status, duration_ms, pid.

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
        self._batch: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._batch:
            lines, self._batch = "".join(self._batch), []
            sys.stderr.write(lines)

    def write(self, request_id: str, method: str, route: str, status: int, duration_ms: float) -> None:
        if not self.enabled:
            return
        if self.readable:
            stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
            sys.stderr.write(f"{stamp} INFO    {method} {route} {status} {duration_ms}ms [{request_id}]\n")
            return
        line = {
            "ts": datetime.now(UTC).isoformat(),
            "level": "INFO",
            "msg": "request",
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "pid": self.pid,
        }
        self._batch.append(_encode(line).decode() + "\n")
        if len(self._batch) >= self.BATCH_LINES or not self.batch_seconds:
            self.flush()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self.batch_seconds, self.flush)
            except RuntimeError:  # no event loop (a synchronous caller): write at once
                self.flush()


ACCESS_LOG = AccessLog()
atexit.register(ACCESS_LOG.flush)
