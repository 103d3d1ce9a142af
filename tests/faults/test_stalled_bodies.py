"""Stalled request bodies: each is answered 408 and closed, and while they are held the service still answers.

A real ``serve`` process (granian, real sockets). The attack of the review: about 1,030 connections to the
public signup callback, each sending headers with ``content-length: 100`` and then one byte, made
``/health/live`` time out for as long as they were held, and a stalled body was never timed out.
"""

from __future__ import annotations

import asyncio
import json
import resource
import time

import httpx
import pytest

STALLED = 1_100
BODY_TIMEOUT_SECONDS = 3
_REQUEST = (
    b"POST /api/whatsapp/signup HTTP/1.1\r\nhost: tenant-service\r\ncontent-type: application/json\r\n"
    b"content-length: 100\r\n\r\n{"
)


@pytest.fixture
def open_files_for_the_attack() -> None:
    """The test process holds one socket per stalled body: make sure it may (the service raises its own)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = STALLED + 500
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"the open-file hard limit ({hard}) is below the {needed} this test needs")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def test_stalled_bodies_get_408_and_are_closed_while_the_service_keeps_answering(
    service_factory, postgres_url, clean_postgres, open_files_for_the_attack
):
    """1,100 stalled bodies: /health/live answers within 1 s meanwhile, and each stalled request is answered
    408 REQUEST_TIMEOUT in the envelope, then its connection is closed."""
    service = await service_factory(
        {"DATABASE_URL": postgres_url, "HTTP_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_SECONDS)}
    ).start()
    started = time.monotonic()
    stalled = []
    for _ in range(STALLED):
        reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
        writer.write(_REQUEST)
        stalled.append((reader, writer))
    await asyncio.gather(*(writer.drain() for _, writer in stalled))
    opened = time.monotonic() - started

    probes = []
    async with httpx.AsyncClient(base_url=service.url, timeout=5) as client:
        for _ in range(3):  # while every stalled body is held (the deadline is further off than this takes)
            probe_started = time.monotonic()
            response = await client.get("/health/live", headers={"connection": "close"})
            probes.append(time.monotonic() - probe_started)
            assert response.status_code == 200
    held = time.monotonic() - started
    report = f"opened {STALLED} in {opened:.2f} s; /health/live took {[round(p, 3) for p in probes]} s"
    assert held < BODY_TIMEOUT_SECONDS, f"the probes ran past the body deadline, so prove nothing ({report})"
    assert max(probes) < 1.0, report

    answers = await asyncio.wait_for(
        asyncio.gather(*(reader.read() for reader, _ in stalled)), timeout=BODY_TIMEOUT_SECONDS + 30
    )  # read() returns at end of stream: each connection was closed by the service
    for writer in (writer for _, writer in stalled):
        writer.close()
    statuses = {answer.split(b"\r\n", 1)[0] for answer in answers}
    assert statuses == {b"HTTP/1.1 408 Request Timeout"}, statuses
    head, _, body = answers[0].partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    assert json.loads(body)["code"] == "REQUEST_TIMEOUT"
    assert time.monotonic() - started >= BODY_TIMEOUT_SECONDS  # not answered before the deadline
