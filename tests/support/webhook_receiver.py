"""A webhook receiver: a real HTTP server on 127.0.0.1 that verifies Standard Webhooks signatures with the
``standardwebhooks`` library, as a customer's receiver would.

Tests set its secret and behaviour (fail the first N attempts of each message, answer slowly), stop it and
start it again on the same port, and read what it received, deduplicated by ``webhook-id`` or not.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from tests.support.servers import free_port


@dataclass
class Received:
    message_id: str
    event: dict[str, Any]
    at: float


def _opened(gate: threading.Event) -> threading.Event:
    gate.set()
    return gate


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    secret: str | None = None
    fail_first: int = 0  # answer fail_status to the first N attempts of every message
    fail_status: int = 503
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)  # every verified 2xx answer, duplicates included
    rejected_signatures: int = 0
    incomplete: int = 0  # requests cut short by the sender's death
    attempts: dict[str, int] = field(default_factory=dict)
    overlapping: list[str] = field(default_factory=list)  # ids that came while the same subject's were in flight
    gate: threading.Event = field(default_factory=lambda: _opened(threading.Event()))  # clear it to hold answers
    _in_flight: dict[str, int] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender went away mid-request (killed): nothing to verify
                    with receiver._lock:
                        receiver.incomplete += 1
                    self.close_connection = True
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret or "whsec_").verify(body, headers)
                except (WebhookVerificationError, ValueError):
                    with receiver._lock:
                        receiver.rejected_signatures += 1
                    self._answer(401)
                    return
                message_id = headers["webhook-id"]
                with receiver._lock:
                    tries = receiver.attempts[message_id] = receiver.attempts.get(message_id, 0) + 1
                if tries <= receiver.fail_first:
                    self._answer(receiver.fail_status)
                    return
                event = json.loads(body)
                subject = event.get("subject", "")
                with receiver._lock:
                    receiver._in_flight[subject] = receiver._in_flight.get(subject, 0) + 1
                    if receiver._in_flight[subject] > 1:
                        receiver.overlapping.append(message_id)
                receiver.gate.wait()
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                with receiver._lock:  # out of flight before answering: the answer lets the sender go on
                    receiver._in_flight[subject] -= 1
                    receiver.received.append(Received(message_id, event, time.monotonic()))
                self._answer(204)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def unique(self) -> dict[str, dict[str, Any]]:
        """Received events by ``webhook-id``: what a receiver that deduplicates keeps."""
        with self._lock:
            return {r.message_id: r.event for r in self.received}

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.event for r in self.received]

    async def wait_for(self, predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"receiver never saw what was expected; got {len(self.received)} deliveries")
