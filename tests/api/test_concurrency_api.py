"""Races are settled by the database: exactly one winner, no 5xx."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.support.builders import create_body


async def test_twenty_concurrent_creates_with_one_email(client):
    responses = await asyncio.gather(
        *(client.post("/tenants", json=create_body(email="race@acme.com")) for _ in range(20))
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}
    assert (await client.get("/tenants")).json()["total"] == 1


async def test_twenty_concurrent_provisions_of_one_org(client):
    body = {"genesysOrgId": "org-race", "genesysOrgName": "Race", "genesysRegion": "mypurecloud.com"}
    responses = await asyncio.gather(*(client.post("/tenants/provision/genesys", json=body) for _ in range(20)))
    assert Counter(r.status_code for r in responses) == {201: 1, 200: 19}
    assert len({r.json()["tenantId"] for r in responses}) == 1
    assert (await client.get("/tenants")).json()["total"] == 1


async def test_concurrent_patches_lose_no_update(client):
    """Without If-Match, concurrent writers are serialized by compare-and-set: every change lands."""
    tenant = (await client.post("/tenants", json=create_body())).json()["tenant"]
    url = f"/tenants/{tenant['id']}"
    responses = await asyncio.gather(*(client.patch(url, json={"metadata": {"n": i}}) for i in range(10)))
    assert all(r.status_code == 200 for r in responses)
    assert (await client.get(url)).json()["version"] == 11
