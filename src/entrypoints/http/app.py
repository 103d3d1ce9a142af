"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import gc
import os
import random
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Message, Receive, Scope, Send
from loguru import logger

from tenant_core import Principal, context
from tenant_entrypoints import metrics
from tenant_entrypoints.config import Config, ConfigError
from tenant_entrypoints.container import Container, Services, build_container
from tenant_entrypoints.http.allow_header import allow_every_method
from tenant_entrypoints.http.auth import AuthMiddleware
from tenant_entrypoints.http.credential_bodies import document_required_spellings
from tenant_entrypoints.http.dependencies import DEPENDENCIES
from tenant_entrypoints.http.early_refusals import refuse_before_routing
from tenant_entrypoints.http.errors import EXCEPTION_HANDLERS, REFUSAL, document_error_responses
from tenant_entrypoints.http.examples import add_examples
from tenant_entrypoints.http.fast_lane import FastAnswer, try_fast_lane
from tenant_entrypoints.http.openapi_refinements import (
    add_links,
    ecma_patterns,
    event_type_lists,
    forbid_unknown_fields,
    optional_bodies,
    parameters_are_never_null,
)
from tenant_entrypoints.http.request import TenantServiceRequest, check_body, with_body_deadline
from tenant_entrypoints.http.routes.api_keys import ApiKeyController, AuditController
from tenant_entrypoints.http.routes.credentials import CredentialController
from tenant_entrypoints.http.routes.events import EventController, WebhookController
from tenant_entrypoints.http.routes.health import health, live, prometheus_metrics, ready
from tenant_entrypoints.http.routes.resolution import ResolutionController
from tenant_entrypoints.http.routes.signup import SignupCallbackController, SignupStateController
from tenant_entrypoints.http.routes.tenants import TenantController
from tenant_entrypoints.http.schema_ui import OfflineSwaggerUI, schema_ui_assets
from tenant_entrypoints.log import ACCESS_LOG, configure_logging

MAX_BODY_BYTES = 64 * 1024
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: Longer paths and X-Forwarded-For values are cut short in the access line, which stays one bounded line.
_MAX_LOGGED = 512


class TenantServiceApp(Litestar):
    """Litestar plus what must wrap *every* request, routed or not: the request id, the access log, and the
    refusals that must happen before routing (see :mod:`tenant_entrypoints.http.early_refusals`)."""

    allowed_origins: tuple[str, ...] | None = None
    fast_lane: bool = True
    body_timeout: float = 10.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, forwarded_for = _request_headers(scope)
        status = 500
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = context.request_id.set(request_id)
        with logger.contextualize(correlationId=request_id):
            fast = None
            try:
                services = getattr(self.state, "services", None)
                if (refusal := refuse_before_routing(scope, self.allowed_origins)) is not None:
                    status = await refusal.send(send_with_id)
                elif self.fast_lane and services and (fast := await try_fast_lane(services, scope, send, header)):
                    status = 200
                else:
                    await super().__call__(scope, with_body_deadline(receive, self.body_timeout), send_with_id)
            finally:
                context.request_id.reset(token)
                elapsed = time.perf_counter() - started
                route = fast[0] if fast else scope.get("path_template") or "unmatched"
                metrics.observe_request(scope["method"], route, status, elapsed)
                _log_access(scope, request_id, forwarded_for, route, status, elapsed, fast)


def _log_access(
    scope: Scope,
    request_id: str,
    forwarded_for: str | None,
    route: str,
    status: int,
    elapsed: float,
    fast: FastAnswer | None,
) -> None:
    """The access line: who called (the principal the fast lane or the auth middleware found, or the one a
    refusal names), from where, for which tenant, and why a 401 or 403 refused it."""
    reason = tenant_id = None
    if fast is not None:
        principal: Principal | None = fast[1]
    else:
        state = scope.get("state") or {}
        principal = state.get("principal")
        if (refusal := state.get(REFUSAL)) is not None:
            reason = refusal.reason.value
            principal = principal or getattr(refusal, "principal", None)
        tenant_id = scope.get("path_params", {}).get("tenant_id")
    raw = scope.get("raw_path")
    path = raw.partition(b"?")[0].decode("latin-1") if raw else scope["path"]
    client = scope.get("client")
    ACCESS_LOG.write(
        request_id,
        scope["method"],
        path[:_MAX_LOGGED],
        route,
        status,
        round(elapsed * 1000, 3),
        client[0] if client else None,
        forwarded_for,
        principal,
        tenant_id if isinstance(tenant_id, str) else None,
        reason,
    )


def _request_headers(scope: Scope) -> tuple[str, str | None]:
    """The request's id (``X-Request-ID`` when it is a sane one, else a new one) and ``X-Forwarded-For``."""
    request_id = forwarded_for = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if request_id is None:
                candidate = value.decode("latin-1")
                request_id = candidate if _VALID_REQUEST_ID.fullmatch(candidate) else ""
        elif name == b"x-forwarded-for" and forwarded_for is None:
            forwarded_for = value.decode("latin-1")[:_MAX_LOGGED]
    # 32 hex digits, as a uuid4's hex. An id needs uniqueness, not secrecy: the random module (reseeded in
    # each forked worker) costs a fraction of uuid4 and, unlike os.urandom, makes no system call, which
    # releases the GIL to granian's threads mid-request (py-spy: 7.6% of a hot worker's samples).
    return request_id or f"{random.getrandbits(128):032x}", forwarded_for


def _lifespan(container: Container):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if not container.config.database_url():
            raise ConfigError("DATABASE_URL is not set (run `tenant-service serve` to use the embedded database)")
        if (started := container.init_resources()) is not None:
            await started
        try:
            app.state.services = await _resolved(container.services())
            if app.state.services.auth_disabled:
                logger.warning("AUTH_DISABLED=true: authentication is OFF; every caller acts as admin")
            # What start-up built lives as long as the process: move it out of the collector's way, so that
            # collections during requests walk only young objects (fewer long pauses on the hot path).
            worker = await _resolved(container.event_worker()) if container.config.event_delivery() else None
            gc.collect()
            gc.freeze()
            sampler = asyncio.create_task(_sample_pool(app.state.services), name="pool-metrics")
            if worker is not None:
                worker.start()
            yield
            sampler.cancel()
            if worker is not None:
                await worker.stop()
        finally:
            ACCESS_LOG.flush()
            if (stopped := container.shutdown_resources()) is not None:
                await stopped

    return lifespan


async def _sample_pool(services: Services, every_seconds: float = 5.0) -> None:
    while True:
        metrics.observe_pool(*services.storage.pool_usage())
        await asyncio.sleep(every_seconds)


async def _resolved(value: Any) -> Any:
    """Providers that depend on async resources hand out awaitables; others hand out the object."""
    return await value if hasattr(value, "__await__") else value


def _api_routers() -> list[Router]:
    # Existing clients use both prefixes; every tenant route is served under each, identically.
    return [
        Router(
            path=prefix,
            route_handlers=[
                ResolutionController,
                TenantController,
                ApiKeyController,
                AuditController,
                CredentialController,
                SignupStateController,
            ],
        )
        for prefix in ("/tenants", "/api/tenants")
    ] + [Router(path=prefix, route_handlers=[SignupCallbackController]) for prefix in ("/whatsapp", "/api/whatsapp")]


def create_app(container: Container | None = None, config: Config | None = None) -> Litestar:
    """Build the app. Without arguments, configuration comes from the environment (as under granian)."""
    config = config or Config.from_env()
    container = container or build_container(config)
    configure_logging(config.log_level, config.log_format, config.access_log_batch_ms)
    app = TenantServiceApp(
        request_class=TenantServiceRequest,
        before_request=check_body,
        before_send=[allow_every_method],
        route_handlers=[*_api_routers(), EventController, WebhookController, health, live, ready, prometheus_metrics],
        dependencies=DEPENDENCIES,
        middleware=[AuthMiddleware()],
        cors_config=CORSConfig(allow_origins=list(config.allowed_origins)) if config.allowed_origins else None,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[_lifespan(container)],
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="Tenant Service",
            version="1.0.0",
            description="Central configuration store of the WhatsApp Business ↔ Genesys Cloud platform.",
            path="/schema",
            render_plugins=[OfflineSwaggerUI()],
            components=Components(
                security_schemes={
                    "BearerAuth": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        bearer_format="JWT or sk_ API key",
                        description="A JWT (HS256) or a tenant API key",
                    ),
                    "ApiKeyAuth": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
                }
            ),
            security=[{"BearerAuth": []}, {"ApiKeyAuth": []}],
        ),
        logging_config=None,  # loguru does the logging (tenant_entrypoints.log)
        debug=os.environ.get("TENANT_SERVICE_DEBUG") == "1",
    )
    app.register(schema_ui_assets())  # the /schema page's files
    app.allowed_origins = config.allowed_origins or None
    app.fast_lane = config.fast_lane
    app.body_timeout = config.http_body_timeout
    document_error_responses(handler for route in app.routes for handler in getattr(route, "route_handlers", ()))
    add_links(app)
    optional_bodies(app)
    parameters_are_never_null(app)
    event_type_lists(app)
    forbid_unknown_fields(app)
    document_required_spellings(app)
    add_examples(app)
    ecma_patterns(app)
    return app
