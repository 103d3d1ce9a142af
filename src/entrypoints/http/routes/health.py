"""Contract section "Operations": health, liveness, readiness."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Response, get
from litestar.di import NamedDependency

from tenant_core import Principal
from tenant_core.errors import UnavailableError
from tenant_entrypoints import metrics
from tenant_entrypoints.container import Services
from tenant_entrypoints.http.schemas import Health, Liveness


@get("/health", summary="Overall health", tags=["Operations"], opt={"public": True}, security=[{}])
async def health(services: NamedDependency[Services]) -> Response[Health]:
    redis = await services.cache.status()
    try:
        await services.storage.ping()
    except UnavailableError:
        return Response(Health("unhealthy", "disconnected", redis, datetime.now(UTC)), status_code=503)
    status = "degraded" if redis == "disconnected" else "healthy"
    return Response(Health(status, "connected", redis, datetime.now(UTC)))


@get("/health/live", summary="The process is running", tags=["Operations"], opt={"public": True}, security=[{}])
async def live() -> Liveness:
    return Liveness("alive")


@get(
    "/health/ready",
    summary="Database answers and migrations are applied",
    tags=["Operations"],
    opt={"public": True},
    security=[{}],
)
async def ready(services: NamedDependency[Services]) -> Response[Liveness]:
    try:
        missing = await services.storage.missing_migrations()
    except UnavailableError:
        return Response(Liveness("database unavailable"), status_code=503)
    if missing:
        return Response(Liveness(f"migrations pending: {', '.join(sorted(missing))}"), status_code=503)
    return Response(Liveness("ready"))


@get(
    "/metrics",
    summary="Prometheus metrics (admin and service principals)",
    tags=["Operations"],
    media_type=metrics.CONTENT_TYPE,
)
async def prometheus_metrics(
    principal: NamedDependency[Principal], services: NamedDependency[Services]
) -> Response[bytes]:
    snapshot = await services.operations.snapshot(principal)
    return Response(metrics.render(snapshot), media_type=metrics.CONTENT_TYPE)
