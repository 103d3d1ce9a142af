"""A fake Genesys Cloud: a real HTTP server on 127.0.0.1 playing ``login.<region>`` and ``api.<region>``.

The service reaches it through ``GENESYS_BASE_URL`` and names the real host in the ``Host`` header, so the
fake knows which region was asked: an OAuth client exists in one region only, as in Genesys. Bodies follow
Genesys' documented shapes (``{"error": "invalid_client"}``, the org, the Open Messaging integration).
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.support.loopback import LoopbackJsonServer

REGION = "mypurecloud.ie"
CLIENT_ID = "genesys-client-0001"
CLIENT_SECRET = "genesys-secret-do-not-leak-0001"
ORG_ID = "6f3c1b2a-0000-4000-8000-00000000a001"
ORG_NAME = "Acme Europe"
INTEGRATION_ID = "9b1d4c2e-0000-4000-8000-00000000b001"


@dataclass
class GenesysBehaviour:
    clients: dict[tuple[str, str], tuple[str, str]] = field(
        default_factory=lambda: {(REGION, CLIENT_ID): (CLIENT_SECRET, ORG_ID)}
    )  # (region, client id) → (secret, org id)
    orgs: dict[str, str] = field(default_factory=lambda: {ORG_ID: ORG_NAME})
    integrations: dict[str, set[str]] = field(default_factory=lambda: {ORG_ID: {INTEGRATION_ID}})
    delays: dict[str, float] = field(default_factory=dict)  # step → seconds before answering
    accept_anything: bool = False  # for fuzzing: every client of every region is ORG_ID's, with every integration


class FakeGenesys(LoopbackJsonServer):
    def __init__(self) -> None:
        super().__init__()
        self.behaviour = GenesysBehaviour()
        self.calls: list[tuple[str, str, str]] = []  # step, host, path
        self._tokens: dict[str, str] = {}  # access token → org id

    def reset(self) -> None:
        self.behaviour = GenesysBehaviour()
        self.calls.clear()

    def steps(self) -> list[str]:
        return [call[0] for call in self.calls]

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        host = (request.headers.get("Host") or "").split(":")[0]
        service, _, region = host.partition(".")
        form = parse_qs(self.body_of(request).decode())
        step, status, body = self._route(method, service, region, request.path, request.headers, form)
        self.calls.append((step, host, request.path))
        time.sleep(self.behaviour.delays.get(step, 0.0))
        self.answer(request, status, body)

    def _route(self, method: str, service: str, region: str, path: str, headers: Any, form: dict[str, list[str]]):
        if service == "login" and method == "POST" and path == "/oauth/token":
            return self._token(region, headers.get("Authorization") or "", form)
        if service != "api":
            return "unknown", 404, {"message": "Not found", "code": "not.found", "status": 404}
        org = self._tokens.get((headers.get("Authorization") or "").removeprefix("Bearer "))
        step = "organization" if path == "/api/v2/organizations/me" else "integration"
        if org is None:
            return step, 401, {"message": "Authentication failed", "code": "authentication.required", "status": 401}
        if step == "organization" and method == "GET":
            return step, 200, {"id": org, "name": self.behaviour.orgs[org], "state": "active"}
        prefix = "/api/v2/conversations/messaging/integrations/open/"
        if method == "GET" and path.startswith(prefix):
            integration = path.removeprefix(prefix)
            if self.behaviour.accept_anything or integration in self.behaviour.integrations.get(org, set()):
                return step, 200, {"id": integration, "name": "WhatsApp", "status": "Active"}
            return step, 404, {"message": "Integration not found", "code": "not.found", "status": 404}
        return "unknown", 404, {"message": "Not found", "code": "not.found", "status": 404}

    def _token(self, region: str, authorization: str, form: dict[str, list[str]]):
        if form.get("grant_type") != ["client_credentials"]:
            return "token", 400, {"error": "unsupported_grant_type", "description": "grant type not supported"}
        try:
            client_id, _, secret = base64.b64decode(authorization.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            client_id, secret = "", ""
        known = self.behaviour.clients.get((region, client_id))
        if self.behaviour.accept_anything:
            known = (secret, ORG_ID)
        if known is None or known[0] != secret:
            return "token", 401, {"error": "invalid_client", "description": "client not found or secret mismatch"}
        token = secrets.token_urlsafe(24)
        self._tokens[token] = known[1]
        return "token", 200, {"access_token": token, "token_type": "bearer", "expires_in": 86400}
