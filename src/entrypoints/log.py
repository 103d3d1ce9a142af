"""loguru set-up (only entrypoints configure sinks): one JSON object per line on stderr."""

from __future__ import annotations

import sys
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


def configure_logging(level: str = "INFO") -> None:
    logger.remove()
    logger.add(_json_sink, level=level, format="{message}\n{exception}", backtrace=False, diagnose=False)
