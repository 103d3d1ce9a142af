"""The one composition root: builds every adapter and use case from :class:`~tenant_entrypoints.config.Config`.

Nothing here connects at import time; resources open in the app's lifespan (``init_resources``) and close
in its shutdown. Tests replace a provider with ``container.storage.override(...)`` instead of patching.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, fields
from datetime import timedelta

import redis.asyncio as redis
from dependency_injector import containers, providers
from loguru import logger

from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.genesys import HttpGenesysCloud
from tenant_adapters.jwt import JwtTokens
from tenant_adapters.memory import InMemoryCache, InMemoryRateLimiter
from tenant_adapters.meta_graph import HttpMetaGraph
from tenant_adapters.postgres import PostgresStorage, create_pool
from tenant_adapters.rabbitmq import RabbitMqBus
from tenant_adapters.redis import RedisCache, RedisRateLimiter, TieredCache
from tenant_adapters.redis.cache import connect
from tenant_adapters.webhooks import HttpWebhookSender
from tenant_core import (
    ApiKeyService,
    AuditTrail,
    Authenticator,
    ConnectionChecks,
    GenesysProvisioning,
    RateLimitPolicy,
    SystemClock,
    TenantCache,
    TenantResolver,
    TenantService,
)
from tenant_core.entities import ApiKey
from tenant_core.lookup_cache import ReadThrough, TenantDirectory
from tenant_core.ports import Cache, Clock, InvalidationFollower, OperatedStorage, RateLimiter, Storage
from tenant_core.sealing import SealedValues, UnreadableValue
from tenant_core.signup_state import SignupStateCodec
from tenant_core.use_cases.connection_watch import ConnectionWatch
from tenant_core.use_cases.event_relay import EventRelay, FailedPublish
from tenant_core.use_cases.events import EventFeed
from tenant_core.use_cases.key_rotation import CredentialKeyRotation
from tenant_core.use_cases.legacy_import import LegacyImport
from tenant_core.use_cases.operations import OperationsReport
from tenant_core.use_cases.signup import WhatsAppSignup
from tenant_core.use_cases.vault import CredentialVault
from tenant_core.use_cases.webhook_delivery import FailedDelivery, WebhookDelivery
from tenant_core.use_cases.webhook_subscriptions import WebhookSubscriptions
from tenant_entrypoints import metrics
from tenant_entrypoints.config import Config
from tenant_entrypoints.event_worker import EventWorker


async def open_storage(dsn: str, pool_max: int) -> AsyncIterator[PostgresStorage]:
    pool = await create_pool(dsn, max_size=pool_max)
    storage = PostgresStorage(pool, dsn=dsn)
    try:
        yield storage
    finally:
        await storage.close()
        await pool.close()


async def open_webhook_sender(allow_private: bool, timeout_seconds: float) -> AsyncIterator[HttpWebhookSender]:
    sender = HttpWebhookSender(
        allow_private=allow_private, timeout_seconds=timeout_seconds, on_attempt=metrics.observe_webhook_attempt
    )
    try:
        yield sender
    finally:
        await sender.close()


async def open_bus(url: str | None, queue: str) -> AsyncIterator[RabbitMqBus | None]:
    if not url:
        yield None
        return
    bus = RabbitMqBus(url, queue)
    try:
        yield bus
    finally:
        await bus.close()


async def open_redis(url: str | None) -> AsyncIterator[redis.Redis | None]:
    if not url:
        yield None
        return
    client = connect(url)
    try:
        yield client
    finally:
        await client.aclose()


async def open_graph(
    app_id: str | None, app_secret: str | None, base_url: str, version: str, timeout_seconds: float
) -> AsyncIterator[HttpMetaGraph | None]:
    if not (app_id and app_secret):
        yield None  # signup answers 503 naming META_APP_ID and META_APP_SECRET; everything else runs
        return
    graph = HttpMetaGraph(
        app_id, app_secret, base_url, version, timeout_seconds=timeout_seconds, on_call=metrics.observe_graph
    )
    try:
        yield graph
    finally:
        await graph.close()


async def open_genesys(base_url: str | None, timeout_seconds: float) -> AsyncIterator[HttpGenesysCloud]:
    genesys = HttpGenesysCloud(base_url, timeout_seconds=timeout_seconds, on_call=metrics.observe_genesys)
    try:
        yield genesys
    finally:
        await genesys.close()


async def open_follower(storage: Storage) -> AsyncIterator[InvalidationFollower]:
    """This process's view of the cache invalidations every process commits (see ``open_cache``)."""
    async with storage.follow_invalidations() as follower:
        yield follower


async def open_cache(client: redis.Redis | None, follower: InvalidationFollower) -> AsyncIterator[Cache]:
    """A cache per process, following committed invalidations through the database; with Redis, in front of
    Redis as a shared second level. Either way every process, worker or instance, may cache."""
    if client is None:
        yield InMemoryCache(on_lookup=metrics.observe_cache, follower=follower)
        return
    cache = TieredCache(RedisCache(client), follower, on_lookup=metrics.observe_cache)
    await cache.start()
    try:
        yield cache
    finally:
        await cache.close()


def report_unreadable(value: UnreadableValue) -> None:
    """A stored secret that no configured key opens: an ERROR line naming it and its key (never the value)."""
    logger.bind(kind=value.kind, key_id=value.key_id, **value.record).error("Sealed value unreadable: {}", value.reason)
    metrics.observe_unreadable(value.kind)


def report_failed_delivery(failure: FailedDelivery) -> None:
    """A WARNING line per failed webhook attempt, and an ERROR line when it turned its subscription ``failing``
    (naming the subscription by id: its URL may carry credentials; never the payload or the secret)."""
    fields = {
        "subscriptionId": failure.webhook_id,
        "tenantId": failure.tenant_id,
        "eventId": failure.event_id,
        "eventType": failure.event_type,
        "deliveryId": failure.delivery_id,
        "attempt": failure.attempt,
        "reason": failure.reason,
    }
    retry = f"retry at {failure.next_attempt_at.isoformat()}" if failure.next_attempt_at else "no attempt left"
    logger.bind(**fields).warning("Webhook delivery attempt {} failed: {}; {}", failure.attempt, failure.reason, retry)
    if failure.subscription_failing:
        logger.bind(**fields).error(
            "Webhook subscription {} is failing: event {} could not be delivered", failure.webhook_id, failure.event_id
        )


def report_failed_publish(failure: FailedPublish) -> None:
    """A WARNING line per batch RabbitMQ did not confirm (it is published again; nothing is lost)."""
    logger.bind(
        eventId=failure.event_id,
        tenantId=failure.tenant_id,
        events=failure.events,
        attempt=failure.attempt,
        reason=failure.reason,
    ).warning("RabbitMQ publish attempt {} failed: {}", failure.attempt, failure.reason)


def relay_for(storage: OperatedStorage, bus: RabbitMqBus | None) -> EventRelay | None:
    """The bus relay, when a bus is configured."""
    return None if bus is None else EventRelay(storage, bus, on_failed_publish=report_failed_publish)


def watch_for(
    storage: PostgresStorage, checks: ConnectionChecks, clock: Clock, every_seconds: float, concurrency: int
) -> ConnectionWatch | None:
    """The scheduled connection checks, unless turned off (an interval of 0)."""
    if not every_seconds:
        return None
    return ConnectionWatch(storage, checks, storage.locks, clock, timedelta(seconds=every_seconds), concurrency)


def choose_rate_limiter(client: redis.Redis | None, workers: int, instances: int) -> RateLimiter:
    """Redis counts for the whole fleet. Without it (or while it is down) each process counts alone, so each
    admits its share of a limit: one of ``workers`` × ``instances``."""
    if client is None:
        return InMemoryRateLimiter(share_of=workers * instances)
    return RedisRateLimiter(client, share_of=workers * instances)


@dataclass(frozen=True, slots=True)
class Services:
    """What the HTTP routes use, resolved from the container once per process. Each field is also a Litestar
    dependency of the same name (see :mod:`tenant_entrypoints.http.dependencies`)."""

    storage: OperatedStorage
    cache: Cache
    tenants: TenantService
    resolver: TenantResolver
    provisioning: GenesysProvisioning
    api_keys: ApiKeyService
    audit_trail: AuditTrail
    authenticator: Authenticator
    rate_limits: RateLimitPolicy
    vault: CredentialVault
    signup: WhatsAppSignup
    connections: ConnectionChecks
    events: EventFeed
    webhooks: WebhookSubscriptions
    operations: OperationsReport
    auth_disabled: bool


class Container(containers.DeclarativeContainer):
    config = providers.Configuration()

    storage = providers.Resource(open_storage, dsn=config.database_url, pool_max=config.db_pool_max)
    redis_client = providers.Resource(open_redis, url=config.redis_url)
    follower = providers.Resource(open_follower, storage=storage)
    cache = providers.Resource(open_cache, client=redis_client, follower=follower)
    rate_limiter = providers.Singleton(
        choose_rate_limiter, client=redis_client, workers=config.workers, instances=config.instances
    )
    clock = providers.Singleton(SystemClock)
    tokens = providers.Singleton(
        JwtTokens,
        secret=config.jwt_keys,
        leeway_seconds=config.jwt_leeway_seconds,
        max_ttl_seconds=config.jwt_max_ttl_seconds,
        issuer=config.jwt_issuer,
        audience=config.jwt_audience,
    )
    cipher = providers.Singleton(AesGcmCipher, keys=config.cipher_keys)
    sealed = providers.Singleton(SealedValues, cipher=cipher, on_unreadable=report_unreadable)

    tenant_cache = providers.Singleton(TenantCache, cache=cache)
    key_cache = providers.Singleton(ReadThrough, cache=cache, type_=ApiKey)
    # The one answer to "does this tenant exist?" (and its fresh-read variant, ``directory.fresh``).
    directory = providers.Singleton(TenantDirectory, tenants=storage.provided.tenants, cache=tenant_cache)

    tenants = providers.Singleton(
        TenantService, storage=storage, cache=tenant_cache, directory=directory, clock=clock, sealed=sealed
    )
    resolver = providers.Singleton(TenantResolver, tenants=storage.provided.tenants, cache=tenant_cache)
    provisioning = providers.Singleton(GenesysProvisioning, storage=storage, cache=tenant_cache, clock=clock)
    api_keys = providers.Singleton(
        ApiKeyService, storage=storage, key_cache=key_cache, clock=clock, directory=directory
    )
    audit_trail = providers.Singleton(AuditTrail, storage=storage, directory=directory)
    authenticator = providers.Singleton(
        Authenticator, storage=storage, key_cache=key_cache, directory=directory, tokens=tokens, clock=clock
    )
    rate_limits = providers.Singleton(RateLimitPolicy, limiter=rate_limiter, directory=directory)
    vault = providers.Singleton(
        CredentialVault,
        storage=storage,
        sealed=sealed,
        tenant_cache=tenant_cache,
        directory=directory,
        clock=clock,
        meta_app_secret=config.meta_app_secret,
    )
    key_rotation = providers.Singleton(CredentialKeyRotation, storage=storage, sealed=sealed)
    legacy_import = providers.Singleton(
        LegacyImport, storage=storage, sealed=sealed, cache=tenant_cache, clock=clock, key_cache=key_cache
    )
    graph = providers.Resource(
        open_graph,
        app_id=config.meta_app_id,
        app_secret=config.meta_app_secret,
        base_url=config.meta_graph_url,
        version=config.meta_graph_version,
        timeout_seconds=config.meta_graph_timeout,
    )
    signup_states = providers.Singleton(SignupStateCodec, secret=config.state_secret, clock=clock)
    signup = providers.Singleton(
        WhatsAppSignup, storage=storage, states=signup_states, graph=graph, vault=vault, directory=directory
    )
    genesys = providers.Resource(open_genesys, base_url=config.genesys_base_url, timeout_seconds=config.genesys_timeout)
    connections = providers.Singleton(
        ConnectionChecks, storage=storage, vault=vault, directory=directory, clock=clock, genesys=genesys, graph=graph
    )

    events = providers.Singleton(EventFeed, storage=storage)
    webhook_sender = providers.Resource(
        open_webhook_sender, allow_private=config.webhook_allow_private, timeout_seconds=config.webhook_timeout
    )
    bus = providers.Resource(open_bus, url=config.rabbitmq_url, queue=config.rabbitmq_queue)
    webhooks = providers.Singleton(
        WebhookSubscriptions, storage=storage, sealed=sealed, sender=webhook_sender, directory=directory, clock=clock
    )
    webhook_delivery = providers.Singleton(
        WebhookDelivery,
        storage=storage,
        sealed=sealed,
        sender=webhook_sender,
        clock=clock,
        retry_schedule=config.webhook_retry_schedule,
        attempt_timeout=config.webhook_timeout,
        on_failed_attempt=report_failed_delivery,
    )
    relay = providers.Singleton(relay_for, storage=storage, bus=bus)
    operations = providers.Singleton(OperationsReport, storage=storage, cache=cache, bus=bus, clock=clock)
    connection_watch = providers.Singleton(
        watch_for,
        storage=storage,
        checks=connections,
        clock=clock,
        every_seconds=config.connection_check_interval,
        concurrency=config.connection_check_concurrency,
    )
    event_worker = providers.Singleton(
        EventWorker,
        storage=storage,
        delivery=webhook_delivery,
        feed=events,
        clock=clock,
        retention_days=config.event_retention_days,
        relay=relay,
        watch=connection_watch,
    )


# Every field of Services is the provider of the same name (a use case is one provider and one field).
Container.services = providers.Singleton(
    Services,
    **{f.name: getattr(Container, f.name) for f in fields(Services) if f.name != "auth_disabled"},
    auth_disabled=Container.config.auth_disabled,
)


def build_container(config: Config) -> Container:
    """The container for ``config``: the one place that turns settings into the values providers take."""
    container = Container()
    container.config.from_dict(
        {
            **config.as_dict(),
            "jwt_keys": config.jwt_keys(),
            "state_secret": config.signing_secret().encode(),
            "cipher_keys": config.cipher_keys(),
        }
    )
    return container
