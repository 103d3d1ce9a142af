"""The HTTP layer reads the credential registry too: a type registered before the app is built is stored, read
masked, revealed and deleted through the generic routes, and appears in the schema's enum of types.

It runs in a fresh interpreter (on in-memory adapters), because the routes read the registry when they load:
as they would for a type registered in ``tenant_core/credential_registry.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import asyncio, json
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from tenant_core.credential_registry import CREDENTIAL_POLICIES
from tests.support.sms_gateway import SENT, SmsGatewayPolicy

CREDENTIAL_POLICIES.register(SmsGatewayPolicy())  # before the routes load, as the registry's own lines are

from tenant_adapters.memory import InMemoryCache, InMemoryStorage
from tenant_entrypoints.config import Config
from tenant_entrypoints.container import build_container
from tenant_entrypoints.http.app import create_app
from tests.api.conftest import ADMIN, TEST_CREDENTIALS_KEYS, TEST_JWT_SECRET
from tests.support.builders import create_body


async def main():
    config = Config(database_url="postgresql://nobody@127.0.0.1:1/none", jwt_secret=TEST_JWT_SECRET,
                    credentials_keys=TEST_CREDENTIALS_KEYS)
    container = build_container(config)
    container.storage.override(providers.Object(InMemoryStorage()))
    container.cache.override(providers.Object(InMemoryCache()))
    seen = {}
    async with AsyncTestClient(create_app(container, config)) as client:
        tenant = (await client.post("/tenants", json=create_body(), headers=ADMIN)).json()["tenant"]["id"]
        path = f"/tenants/{tenant}/credentials"
        body = {"type": "sms_gateway", "credentials": SENT}
        seen["store"] = (await client.post(path, json=body, headers=ADMIN)).json()
        seen["masked"] = (await client.get(f"{path}/sms_gateway", headers=ADMIN)).json()["credentials"]
        revealed = await client.get(f"{path}/sms_gateway", params={"reveal": "true"}, headers=ADMIN)
        seen["revealed"] = revealed.json()["credentials"]
        seen["routed"] = (await client.get("/tenants/by-phone/4400123", headers=ADMIN)).status_code
        seen["deleted"] = (await client.delete(f"{path}/sms_gateway", headers=ADMIN)).json()
        seen["gone"] = (await client.get(f"{path}/sms_gateway", headers=ADMIN)).status_code
        schema = (await client.get("/schema/openapi.json")).json()
        seen["enum"] = sorted({tuple(s["enum"]) for s in _schemas(schema) if "sms_gateway" in s.get("enum", [])})
    print(json.dumps(seen))


def _schemas(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


asyncio.run(main())
"""


def test_a_type_registered_before_the_app_loads_works_over_http():
    """POST /credentials, GET /credentials/{type} (masked, then revealed), DELETE, and the schema's enum."""
    run = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["store"] == {"type": "sms_gateway", "message": "sms_gateway credentials stored successfully",
                             "success": True}  # fmt: skip
    assert seen["masked"] == {"apiKey": "****1234", "numberId": "4400123", "senderName": "Acme"}
    assert seen["revealed"]["apiKey"] == "gw-key-0000-1234"
    assert seen["routed"] == 200
    assert seen["deleted"] == {"message": "sms_gateway credentials deleted successfully"} and seen["gone"] == 404
    assert seen["enum"] == [["genesys", "whatsapp", "sms_gateway"]]
