"""/metrics exposes the operator's series in Prometheus text format."""

from __future__ import annotations

from tests.support.builders import create_body


async def test_metrics_expose_requests_latency_cache_and_pool(client):
    await client.post("/tenants", json=create_body(phoneNumberId="8001"))
    for _ in range(3):
        assert (await client.get("/tenants/by-phone/8001")).status_code == 200
    await client.get("/tenants/by-phone/none")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'tenant_service_http_requests_total{method="POST",route="/tenants",status="201"}' in text
    assert 'route="/tenants/by-phone/{phone_number_id}",status="404"' in text
    latency = 'tenant_service_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/tenants/by-phone/'
    assert latency in text
    assert 'tenant_service_cache_lookups_total{level="l1",outcome="hit"}' in text
    assert 'tenant_service_cache_lookups_total{level="l2",outcome="miss"}' in text
    assert "tenant_service_db_pool_connections" in text


async def test_any_method_an_anonymous_caller_invents_adds_no_series(client, anonymous):
    """Each new method a caller sent (no credentials needed, up to tens of kilobytes long) became a series of
    the request counter and the latency histogram, kept for the life of the process: 300 requests with 50 KB
    methods made a 287 MB /metrics. Methods outside HTTP's own are counted as OTHER."""
    for n in range(3):
        invented = f"INVENTED{n}" + "M" * 2000
        assert (await anonymous.request(invented, "/no/such/path")).status_code == 404
    text = (await client.get("/metrics")).text
    assert "INVENTED" not in text
    assert 'tenant_service_http_requests_total{method="OTHER",route="unmatched",status="404"}' in text
