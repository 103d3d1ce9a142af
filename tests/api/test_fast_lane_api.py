"""The resolution fast lane answers exactly like the normal route, and only when it may."""

from __future__ import annotations

import asyncio
import time

import pytest

from tenant_core import Role
from tenant_entrypoints.http.fast_lane import FastAnswer, try_fast_lane
from tests.api.conftest import bearer
from tests.support.builders import create_body

HEADER = (b"x-request-id", b"fast")


async def lane(client, path: str, headers: dict[str, str]) -> tuple[FastAnswer | None, list[dict]]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    answer = await try_fast_lane(client.app.state.services, scope, send, HEADER)
    return answer, sent


async def warmed_lane(client, path: str, headers: dict[str, str]):
    """The normal route's answer (which warms the cache), then the lane's. On a loaded machine the cache
    follower's latest confirmation can be older than the staleness bound, and then the cache is (rightly) not
    served and the lane declines: warm and ask again until it answers, for a few seconds at most."""
    deadline = time.monotonic() + 10
    while True:
        normal = await client.get(path, headers=headers)
        answer, sent = await lane(client, path, headers)
        if answer is not None or time.monotonic() > deadline:
            return normal, answer, sent
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("prefix", ["/tenants", "/api/tenants"])
async def test_fast_lane_matches_the_normal_route_byte_for_byte(client, prefix):
    await client.post(
        "/tenants", json=create_body(phoneNumberId="9001", genesysIntegrationId="i-9", genesysOrgId="o-9")
    )
    service = bearer(Role.SERVICE, subject="router-fast")
    for path in (f"{prefix}/by-phone/9001", f"{prefix}/by-integration/i-9", f"{prefix}/by-genesys-org/o-9"):
        normal, answer, sent = await warmed_lane(client, path, service)  # the first also verifies the token
        assert normal.status_code == 200
        assert answer is not None and answer[0].startswith(prefix) and answer[1].subject == "router-fast"
        start, body = sent
        assert start["status"] == 200 and body["body"] == normal.content
        assert dict(start["headers"])[b"content-type"] == normal.headers["content-type"].encode()


async def test_fast_lane_declines_what_it_must_not_answer(client):
    created = (await client.post("/tenants", json=create_body(phoneNumberId="9002"))).json()
    service = bearer(Role.SERVICE, subject="router-decline")
    await client.get("/tenants/by-phone/9002", headers=service)
    await client.get("/tenants/by-phone/unknown", headers=service)  # a known miss, now in the cache
    never_verified = bearer(Role.SERVICE, subject="fresh-token")
    own = bearer(Role.TENANT, tenant_id=created["tenant"]["id"])
    await client.get("/tenants/by-phone/9002", headers=own)  # 403, but the token is now verified
    declined = [
        ("/tenants/by-phone/unknown", service),  # not found: rendered by the normal route
        ("/tenants/by-phone/9002", never_verified),  # token not verified yet
        ("/tenants/by-phone/9002", {}),  # no credentials
        ("/tenants/by-phone/9002", {"Authorization": f"Bearer {created['apiKey']}"}),  # API key
        ("/tenants/by-phone/9002", own),  # tenant principal: forbidden, and rate-limited anyway
        ("/tenants/by-phone/9002", {**service, "Origin": "https://console.example"}),  # a browser: CORS applies
        ("/tenants/t_0000000000000000", service),  # not a resolution route
    ]
    for path, headers in declined:
        answer, sent = await lane(client, path, headers)
        assert answer is None and sent == [], path
