"""Contract section "Conventions" and the operations routes."""

from __future__ import annotations

from tests.api.test_tenants_api import assert_envelope


async def test_unknown_route_and_wrong_method_use_the_envelope(client):
    assert_envelope(await client.get("/nowhere"), 404, "NOT_FOUND")
    assert_envelope(await client.put("/tenants"), 405, "METHOD_NOT_ALLOWED")
    assert_envelope(await client.delete("/health"), 405, "METHOD_NOT_ALLOWED")


async def test_request_id_is_echoed_or_generated(client):
    echoed = await client.get("/health/live", headers={"X-Request-ID": "req-123"})
    assert echoed.headers["x-request-id"] == "req-123"
    generated = await client.get("/nowhere")
    assert len(generated.headers["x-request-id"]) == 32
    hostile = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"


async def test_health_live_and_ready(client):
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "healthy"
    assert health.json()["database"] == "connected" and health.json()["redis"] == "connected"
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/health/ready")).status_code == 200


async def test_openapi_documents_every_route_under_both_prefixes(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    paths = schema["paths"]
    for prefix in ("/tenants", "/api/tenants"):
        for path in (
            "",
            "/{tenant_id}",
            "/{tenant_id}/complete-onboarding",
            "/provision/genesys",
            "/by-phone/{phone_number_id}",
            "/by-integration/{integration_id}",
            "/by-genesys-org/{genesys_org_id}",
        ):
            assert f"{prefix}{path}" in paths, f"{prefix}{path}"
    assert "/health" in paths and "/health/ready" in paths
    assert (await client.get("/schema")).status_code == 200
