"""A fake Meta Graph API: a real HTTP server on 127.0.0.1 serving the Embedded Signup endpoints and the
WhatsApp connection check's (``debug_token``, a phone number, its registration).

Tests configure what it answers (including failures and slowness) and read what it was asked. Bodies
follow Graph's documented shapes, including its error object with ``fbtrace_id``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.loopback import LoopbackJsonServer

APP_ID = "1234567890"
APP_SECRET = "app-secret-for-tests"
CODE = "AQB-signup-code"
TOKEN = "EAAG-business-token-0001"


@dataclass
class Failure:
    status: int = 400
    message: str = "Invalid OAuth access token."
    code: int = 190
    subcode: int | None = None
    fbtrace_id: str = "AbCdEfGhIjK"
    delay_seconds: float = 0.0  # > the client's timeout simulates a hang

    def body(self) -> dict[str, Any]:
        error = {"message": self.message, "type": "OAuthException", "code": self.code, "fbtrace_id": self.fbtrace_id}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return {"error": error}


@dataclass
class GraphBehaviour:
    wabas: list[str] = field(default_factory=lambda: ["1000100", "1000200"])
    phones: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {
            "1000100": [
                {
                    "id": "1550001",
                    "display_phone_number": "+1 555-0001",
                    "quality_rating": "GREEN",
                    "verified_name": "Acme",
                    "code_verification_status": "VERIFIED",
                },
                {
                    "id": "1550002",
                    "display_phone_number": "+1 555-0002",
                    "quality_rating": "YELLOW",
                    "verified_name": "Acme Support",
                },
            ],
            "1000200": [{"id": "1550003", "display_phone_number": "+1 555-0003", "quality_rating": "GREEN"}],
        }
    )
    failures: dict[str, Failure] = field(default_factory=dict)  # step → failure
    transient_failures: dict[str, int] = field(default_factory=dict)  # step → how many 500s before success
    delays: dict[str, float] = field(default_factory=dict)  # step → seconds before a normal answer
    accept_any_code: bool = False  # for fuzzing: every code exchanges for TOKEN
    expires_at: int = 0  # debug_token's unix times; 0: never
    data_access_expires_at: int = 0
    revoked: bool = False  # the customer removed the app: TOKEN is refused with code 190


class FakeGraph(LoopbackJsonServer):
    def __init__(self) -> None:
        super().__init__()
        self.behaviour = GraphBehaviour()
        self.calls: list[tuple[str, str, dict[str, list[str]], str | None]] = []  # step, path, query, auth
        self.registrations: list[tuple[str, dict[str, Any]]] = []  # phone number id, the body Meta received

    def steps(self) -> list[str]:
        return [call[0] for call in self.calls]

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        segments = parts.path.strip("/").split("/")[1:]  # drop the version
        auth = request.headers.get("Authorization")
        sent = json.loads(self.body_of(request) or b"{}")
        step, status, body = self._route(method, segments, query, auth, sent)
        self.calls.append((step, parts.path, query, auth))
        failure = self.behaviour.failures.get(step)
        if self.behaviour.transient_failures.get(step, 0) > 0:
            self.behaviour.transient_failures[step] -= 1
            failure = Failure(status=500, message="An unknown error occurred", code=1)
        time.sleep(self.behaviour.delays.get(step, 0.0))
        if failure is not None:
            time.sleep(failure.delay_seconds)
            status, body = failure.status, failure.body()
        self.answer(request, status, body)

    def _route(
        self, method: str, segments: list[str], query: dict[str, list[str]], auth: str | None, sent: dict[str, Any]
    ):
        bad_token = {
            "error": {
                "message": "Invalid OAuth access token.",
                "type": "OAuthException",
                "code": 190,
                "fbtrace_id": "TokenTrace",
            }
        }
        if method == "GET" and segments == ["oauth", "access_token"]:
            ok = query.get("client_id") == [APP_ID] and query.get("client_secret") == [APP_SECRET]
            if not ok or (query.get("code") != [CODE] and not self.behaviour.accept_any_code):
                return (
                    "exchange_code",
                    400,
                    {
                        "error": {
                            "message": "Invalid verification code format.",
                            "type": "OAuthException",
                            "code": 100,
                            "fbtrace_id": "CodeTrace",
                        }
                    },
                )
            return "exchange_code", 200, {"access_token": TOKEN, "token_type": "bearer"}
        if method == "GET" and segments == ["debug_token"]:
            if query.get("access_token") != [f"{APP_ID}|{APP_SECRET}"] or query.get("input_token") != [TOKEN]:
                return "debug_token", 400, bad_token
            if self.behaviour.revoked:  # Meta answers 200 and says so inside the data
                error = {"code": 190, "message": "Error validating access token: the app was removed"}
                return "debug_token", 200, {"data": {"app_id": APP_ID, "is_valid": False, "error": error}}
            scopes = [{"scope": "business_management", "target_ids": ["biz-1"]}]
            if self.behaviour.wabas:
                scopes.append({"scope": "whatsapp_business_management", "target_ids": self.behaviour.wabas})
            scopes.append({"scope": "whatsapp_business_messaging", "target_ids": self.behaviour.wabas})
            return (
                "debug_token",
                200,
                {
                    "data": {
                        "app_id": APP_ID,
                        "type": "SYSTEM_USER",
                        "is_valid": True,
                        "expires_at": self.behaviour.expires_at,
                        "data_access_expires_at": self.behaviour.data_access_expires_at,
                        "scopes": [s["scope"] for s in scopes],
                        "granular_scopes": scopes,
                    }
                },
            )
        if len(segments) == 1 and method == "GET":
            if auth != f"Bearer {TOKEN}" or self.behaviour.revoked:
                return "phone_number", 401, bad_token
            for number in (n for numbers in self.behaviour.phones.values() for n in numbers):
                if number["id"] == segments[0]:
                    return "phone_number", 200, number
        if len(segments) == 2 and segments[1] == "register" and method == "POST":
            if auth != f"Bearer {TOKEN}" or self.behaviour.revoked:
                return "register", 401, bad_token
            self.registrations.append((segments[0], sent))
            return "register", 200, {"success": True}
        if len(segments) == 2 and segments[1] in ("phone_numbers", "subscribed_apps"):
            step = "phone_numbers" if segments[1] == "phone_numbers" else "subscribe_app"
            if auth != f"Bearer {TOKEN}" or self.behaviour.revoked:
                return step, 401, bad_token
            if step == "phone_numbers" and method == "GET":
                data = self.behaviour.phones.get(segments[0], [])
                return step, 200, {"data": data, "paging": {"cursors": {"before": "a", "after": "b"}}}
            if step == "subscribe_app" and method == "POST":
                return step, 200, {"success": True}
        return (
            "unknown",
            404,
            {
                "error": {
                    "message": "Unknown path",
                    "type": "GraphMethodException",
                    "code": 100,
                    "fbtrace_id": "NotFound",
                }
            },
        )
