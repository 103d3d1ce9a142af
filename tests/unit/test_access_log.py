"""The access log writes JSON lines in batches in the service, and each at once elsewhere."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from tenant_core import Principal, Role
from tenant_entrypoints.log import AccessLog


def _log(batch_seconds: float) -> AccessLog:
    log = AccessLog()
    log.readable, log.enabled, log.batch_seconds = False, True, batch_seconds
    return log


async def test_lines_wait_for_the_batch_time_or_a_full_batch(capfd):
    log = _log(0.05)
    log.write("first", "GET", "/tenants/t_1", "/tenants/{tenant_id}", 200, 1.5)
    assert capfd.readouterr().err == ""  # held back …
    await asyncio.sleep(0.1)
    assert '"correlationId":"first"' in capfd.readouterr().err  # … until the batch time passed
    for n in range(AccessLog.BATCH_LINES):
        log.write(f"r{n}", "GET", "/health", "/health", 200, 0.1)
    assert capfd.readouterr().err.count('"msg":"request"') == AccessLog.BATCH_LINES  # a full batch goes at once
    log.write("last", "GET", "/health", "/health", 200, 0.1)
    log.flush()  # as the app does when it stops
    assert '"correlationId":"last"' in capfd.readouterr().err


async def test_without_batching_each_line_is_written_at_once(capfd):
    _log(0.0).write("now", "POST", "/tenants", "/tenants", 201, 3.0)
    written = capfd.readouterr().err
    assert '"correlationId":"now","method":"POST","path":"/tenants","route":"/tenants","status":201' in written
    stamp = datetime.fromisoformat(json.loads(written)["ts"])  # ISO 8601 in UTC, to the microsecond
    assert stamp.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - stamp) < timedelta(seconds=5)


def test_a_readable_line_names_the_caller_and_the_reason(capfd):
    log = _log(0.0)
    log.readable = True
    caller = Principal("key_1", Role.TENANT, tenant_id="t_1")
    log.write("corr-1", "PATCH", "/tenants/t_1", "/tenants/{tenant_id}", 403, 2.5, "10.0.0.1", None, caller, None, "x")
    line = capfd.readouterr().err
    assert "PATCH /tenants/t_1 403 (x)" in line and "tenant:key_1 tenant=t_1" in line
    assert line.rstrip().endswith("from 10.0.0.1 [corr-1]")


def test_a_readable_line_stays_one_line_whatever_the_path_named(capfd):
    """An anonymous GET /api/tenants/x%0A21:55:00.000%20INFO%20…/credentials/genesys put the decoded tenant id
    (a newline, then a forged line) into the readable line as it was; control characters, ESC included, are
    now escaped. (JSON lines were never affected: msgspec escapes them.)"""
    log = _log(0.0)
    log.readable = True
    forged = "x\n21:55:00.000 INFO    DELETE t_1 200 1.0ms admin:ops from 10.0.0.9\x1b[2K"
    caller = Principal("svc\r\nforged", Role.SERVICE)
    log.write("c-1", "GET", "/api/tenants/x%0A", "/api/tenants/{tenant_id}", 401, 0.5, "127.0.0.1", None, None, forged)
    log.write("c-2", "GET", "/tenants", "/tenants", 200, 0.5, "127.0.0.1", None, caller)
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == 2 and "\x1b" not in lines[0]
    assert "tenant=x\\n21:55:00.000 INFO" in lines[0] and "service:svc\\r\\nforged" in lines[1]
