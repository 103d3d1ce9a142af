"""Every route in the OpenAPI document, fed hostile input, answers a 4xx envelope and logs no error.

The inputs: NUL in path values, query values and JSON values; invalid UTF-8; JSON nested 2,000 levels; a
10 MB body; integers past 64 bits; non-ASCII digits; CRLF inside header values. Resolution routes are called
with an already-verified token, so their requests reach the fast lane first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support.builders import create_body

HUGE = "99999999999999999999999"
_LOG_ERROR = re.compile(r'"level":"ERROR"|\| ERROR ')


def _cases(template: str, path: str, has_body: bool) -> Iterator[tuple[str, str, dict]]:
    """``(case, target, request kwargs)`` for one operation."""
    if "{" in template:  # the last path value carries the NUL
        yield "nul-in-path", re.sub(r"/[^/]+$", "/x%00y", path), {}
    yield "nul-in-query", path + "?limit=1&q=a%00b&offset=0", {}
    yield "huge-query-integers", f"{path}?limit={HUGE}&offset={HUGE}", {}
    yield "non-ascii-digits-in-query", f"{path}?limit=%C2%B2&offset=%D9%A3", {}
    yield "crlf-in-authorization", path, {"headers": {"Authorization": b"Bearer x\r\nX-Injected: 1"}}
    yield "crlf-in-if-match", path, {"headers": {"If-Match": b'"1"\r\nX-Injected: 1'}}
    if has_body:
        yield "nul-in-json", path, {"content": b'{"name": "a\\u0000b", "code": "\\u0000", "type": "genesys"}'}
        yield "invalid-utf8", path, {"content": b'{"name": "\xff\xfe\xfd"}'}
        yield "deep-json", path, {"content": b'{"name": ' + b"[" * 2000 + b"]" * 2000 + b"}"}
        yield "ten-megabytes", path, {"content": b'{"name": "' + b"a" * (10 * 1024 * 1024) + b'"}'}
        yield "huge-integer-in-json", path, {"content": ('{"rateLimit": ' + HUGE + ', "limit": ' + HUGE + "}").encode()}
        yield "non-ascii-digit-in-json", path, {"content": '{"rateLimit": "٣", "whatsappConfigured": "²"}'.encode()}


@pytest.fixture(scope="module")
def operations(session_client_schema: dict) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in session_client_schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


@pytest.fixture(scope="module")
async def session_client_schema(session_client) -> dict:
    return (await session_client.get("/schema/openapi.json")).json()


async def _world(client) -> dict[str, str]:
    created = (await client.post("/tenants", json=create_body(phoneNumberId="1555"))).json()
    tenant_id = created["tenant"]["id"]
    key = (await client.post(f"/tenants/{tenant_id}/api-keys", json={"name": "k"})).json()
    hook = {"url": "http://127.0.0.1:9/hook", "eventTypes": ["tenant.created"]}
    webhook = (await client.post("/webhooks", json=hook)).json()
    return {
        "webhook_id": webhook["id"],
        "delivery_id": "dlv_none",
        "tenant_id": tenant_id,
        "key_id": key["id"],
        "kind": "genesys",
        "phone_number_id": "1555",
        "integration_id": "intg-none",
        "genesys_org_id": "org-none",
    }


def _concrete(template: str, world: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: world[m.group(1)], template)


async def test_every_route_answers_hostile_input_with_a_4xx_envelope(client, operations, capfd):
    world = await _world(client)
    await client.get("/tenants/by-phone/1555")  # the admin token is verified: resolution takes the fast lane
    failures = []
    for method, template in operations:
        if template.startswith(("/schema", "/health", "/metrics")):
            continue
        path = _concrete(template, world)
        for case, target, request in _cases(template, path, method in ("POST", "PUT", "PATCH")):
            headers = {"content-type": "application/json", **request.pop("headers", {})}
            response = await client.request(method, target, headers=headers, **request)
            body = response.json() if response.headers.get("content-type") == "application/json" else None
            if not (400 <= response.status_code < 500 and body and {"error", "code"} <= set(body)):
                if response.status_code < 300 and case in ("huge-query-integers", "non-ascii-digits-in-query"):
                    continue  # a route without those query parameters ignores them, as it should
                if response.status_code < 300 and case.startswith("crlf-in-if-match"):
                    continue  # If-Match only matters to PATCH; elsewhere the header is ignored
                failures.append(f"{case}: {method} {template} → {response.status_code} {response.text[:120]}")
    logged = capfd.readouterr()
    assert not failures, "\n".join(failures)
    errors = [line for line in (logged.out + logged.err).splitlines() if _LOG_ERROR.search(line)]
    assert not errors, errors[:3]
