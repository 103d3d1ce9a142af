"""Configuration from the environment, checked once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from tenant_adapters.crypto import parse_keys
from tenant_adapters.jwt.tokens import (
    DEFAULT_LEEWAY_SECONDS,
    DEFAULT_MAX_TTL_SECONDS,
    MIN_SECRET_LENGTH,
    parse_jwt_secrets,
)
from tenant_adapters.meta_graph import DEFAULT_GRAPH_URL, DEFAULT_GRAPH_VERSION
from tenant_core.webhooks import DEFAULT_RETRY_SCHEDULE

LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")


#: Hosts GENESYS_BASE_URL may name: it exists to reach a fake Genesys in tests, never a real one.
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class ConfigError(ValueError):
    """A setting is malformed; the message says which and how to fix it."""


class Config(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None  # None: start the embedded Postgres in data_dir
    redis_url: str | None = None  # None: in-process cache
    host: str = "127.0.0.1"
    port: int = 3007
    log_level: str = "INFO"
    log_format: str | None = None  # "json" or "text"; None: text on a terminal, JSON otherwise
    data_dir: Path = Path(".tenant-service")
    db_pool_max: int = 10
    workers: int = 1
    instances: int = 1  # serve instances on this database: without Redis, each counts 1/instances of a rate limit
    jwt_secret: str | None = None  # None (and no jwt_secrets): generated once into data_dir/jwt-secret
    jwt_secrets: str | None = None  # "kid=secret,…": the first signs (with its kid), all verify
    jwt_issuer: str | None = None  # set: tokens must carry this iss (and the CLI mints it)
    jwt_audience: str | None = None  # set: tokens must carry this aud (and the CLI mints it)
    jwt_leeway_seconds: int = DEFAULT_LEEWAY_SECONDS
    jwt_max_ttl_seconds: int = DEFAULT_MAX_TTL_SECONDS
    auth_disabled: bool = False
    allowed_origins: tuple[str, ...] = ()
    credentials_keys: str | None = None  # "id=base64key,…"; None: generated once into data_dir
    meta_app_id: str | None = None  # both unset: WhatsApp signup answers 503, the rest runs
    meta_app_secret: str | None = None
    meta_graph_url: str = DEFAULT_GRAPH_URL
    meta_graph_version: str = DEFAULT_GRAPH_VERSION
    meta_graph_timeout: float = 10.0
    genesys_base_url: str | None = None  # tests only: login and API of every region at one loopback server
    genesys_timeout: float = 10.0
    # Access lines are written in batches of up to this many ms (the service's default is 50, from the
    # environment); 0 writes each at once, the default for apps built in-process (tests, embedding).
    access_log_batch_ms: float = 0.0
    fast_lane: bool = True  # cache-hot resolutions answered before the framework (FAST_LANE=false: off)
    http_idle_timeout: float = 30.0  # a connection that sends no request headers for this long is closed
    http_body_timeout: float = 10.0  # a request body not fully arrived this long after it is read for: 408
    http_max_connections: int = 8192  # open connections per worker; granian accepts no more (backpressure)
    shutdown_timeout: float = 30.0  # after SIGTERM, a worker still stopping this long is killed (WARNING)
    event_retention_days: float = 30.0  # the feed keeps events this long; older cursors get 410
    event_delivery: bool = True  # this process delivers webhooks and relays to RabbitMQ (EVENT_DELIVERY=false: not)
    webhook_allow_private: bool = False  # deliver to private/loopback addresses (tests, closed networks)
    webhook_timeout: float = 10.0
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE  # seconds before each retry
    rabbitmq_url: str | None = None  # set: publish every event to the tenant-events queue
    rabbitmq_queue: str = "tenant-events"
    migration_lock_timeout: float = 300.0  # how long a start waits for another process's migration
    # Each stored connection is checked again once its last check is this many seconds old (the service's
    # default is a day, from the environment); 0: no scheduled checks, the default for apps built in-process.
    connection_check_interval: float = 0.0
    connection_check_concurrency: int = 4  # scheduled checks in flight at once

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        config = cls(
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            host=env.get("HOST", "127.0.0.1"),
            port=_port(env.get("PORT", "3007")),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            log_format=env.get("LOG_FORMAT") or None,
            data_dir=Path(env.get("TENANT_SERVICE_DATA_DIR", ".tenant-service")).resolve(),
            db_pool_max=_positive_int("DB_POOL_MAX", env.get("DB_POOL_MAX", "10")),
            workers=_positive_int("TENANT_SERVICE_WORKERS", env.get("TENANT_SERVICE_WORKERS", "1")),
            instances=_positive_int("TENANT_SERVICE_INSTANCES", env.get("TENANT_SERVICE_INSTANCES", "1")),
            jwt_secret=env.get("JWT_SECRET") or None,
            jwt_secrets=env.get("JWT_SECRETS") or None,
            jwt_issuer=env.get("JWT_ISSUER") or None,
            jwt_audience=env.get("JWT_AUDIENCE") or None,
            jwt_leeway_seconds=_non_negative_int(
                "JWT_LEEWAY_SECONDS", env.get("JWT_LEEWAY_SECONDS", str(DEFAULT_LEEWAY_SECONDS))
            ),
            jwt_max_ttl_seconds=_positive_int(
                "JWT_MAX_TTL_SECONDS", env.get("JWT_MAX_TTL_SECONDS", str(DEFAULT_MAX_TTL_SECONDS))
            ),
            auth_disabled=_flag("AUTH_DISABLED", env.get("AUTH_DISABLED", "false")),
            allowed_origins=tuple(o.strip() for o in env.get("ALLOWED_ORIGINS", "").split(",") if o.strip()),
            credentials_keys=env.get("CREDENTIALS_KEYS") or None,
            meta_app_id=env.get("META_APP_ID") or None,
            meta_app_secret=env.get("META_APP_SECRET") or None,
            meta_graph_url=env.get("META_GRAPH_URL") or DEFAULT_GRAPH_URL,
            meta_graph_version=env.get("META_GRAPH_VERSION") or DEFAULT_GRAPH_VERSION,
            meta_graph_timeout=_positive_float(
                "META_GRAPH_TIMEOUT_SECONDS", env.get("META_GRAPH_TIMEOUT_SECONDS", "10")
            ),
            genesys_base_url=env.get("GENESYS_BASE_URL") or None,
            genesys_timeout=_positive_float("GENESYS_TIMEOUT_SECONDS", env.get("GENESYS_TIMEOUT_SECONDS", "10")),
            access_log_batch_ms=_non_negative_float("ACCESS_LOG_BATCH_MS", env.get("ACCESS_LOG_BATCH_MS", "50")),
            fast_lane=_flag("FAST_LANE", env.get("FAST_LANE", "true")),
            http_idle_timeout=_positive_float("HTTP_IDLE_TIMEOUT_SECONDS", env.get("HTTP_IDLE_TIMEOUT_SECONDS", "30")),
            http_body_timeout=_positive_float("HTTP_BODY_TIMEOUT_SECONDS", env.get("HTTP_BODY_TIMEOUT_SECONDS", "10")),
            http_max_connections=_positive_int("HTTP_MAX_CONNECTIONS", env.get("HTTP_MAX_CONNECTIONS", "8192")),
            shutdown_timeout=_positive_float("SHUTDOWN_TIMEOUT_SECONDS", env.get("SHUTDOWN_TIMEOUT_SECONDS", "30")),
            event_retention_days=_positive_float("EVENT_RETENTION_DAYS", env.get("EVENT_RETENTION_DAYS", "30")),
            event_delivery=_flag("EVENT_DELIVERY", env.get("EVENT_DELIVERY", "true")),
            webhook_allow_private=_flag("WEBHOOK_ALLOW_PRIVATE", env.get("WEBHOOK_ALLOW_PRIVATE", "false")),
            webhook_timeout=_positive_float("WEBHOOK_TIMEOUT_SECONDS", env.get("WEBHOOK_TIMEOUT_SECONDS", "10")),
            webhook_retry_schedule=_schedule(env.get("WEBHOOK_RETRY_SCHEDULE")),
            rabbitmq_url=env.get("RABBITMQ_URL") or None,
            rabbitmq_queue=env.get("RABBITMQ_QUEUE") or "tenant-events",
            migration_lock_timeout=_positive_float(
                "MIGRATION_LOCK_TIMEOUT_SECONDS", env.get("MIGRATION_LOCK_TIMEOUT_SECONDS", "300")
            ),
            connection_check_interval=_non_negative_float(
                "CONNECTION_CHECK_INTERVAL_SECONDS", env.get("CONNECTION_CHECK_INTERVAL_SECONDS", "86400")
            ),
            connection_check_concurrency=_positive_int(
                "CONNECTION_CHECK_CONCURRENCY", env.get("CONNECTION_CHECK_CONCURRENCY", "4")
            ),
        )
        config.check()
        return config

    def check(self) -> None:
        if self.database_url is not None:
            check_database_url(self.database_url, "DATABASE_URL")
        if self.redis_url is not None:
            check_url(self.redis_url, "REDIS_URL", ("redis", "rediss", "unix"), "redis://host:6379/0")
        if self.jwt_secret is not None and len(self.jwt_secret) < MIN_SECRET_LENGTH:
            raise ConfigError(f"JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        if self.jwt_secrets is not None:
            if self.jwt_secret is not None:
                raise ConfigError("set JWT_SECRET or JWT_SECRETS, not both (JWT_SECRETS=new=…,old=<the JWT_SECRET>)")
            try:
                parse_jwt_secrets(self.jwt_secrets)
            except ValueError as exc:
                raise ConfigError(f"JWT_SECRETS is invalid: {exc} (expected kid=secret,…)") from None
        if self.credentials_keys is not None:
            try:
                parse_keys(self.credentials_keys)
            except ValueError as exc:
                raise ConfigError(f"CREDENTIALS_KEYS is invalid: {exc} (expected id=base64-of-32-bytes,…)") from None
        if urlsplit(self.meta_graph_url).scheme not in ("http", "https"):
            raise ConfigError("META_GRAPH_URL must be an http(s) URL such as https://graph.facebook.com")
        if not self.meta_graph_version.startswith("v"):
            raise ConfigError("META_GRAPH_VERSION must look like v26.0")
        if self.genesys_base_url is not None:
            parts = urlsplit(self.genesys_base_url)
            if parts.scheme not in ("http", "https") or parts.hostname not in _LOOPBACK:
                raise ConfigError(
                    "GENESYS_BASE_URL is for tests: it must point at loopback, like http://127.0.0.1:8081"
                )
        if self.rabbitmq_url is not None:
            check_url(self.rabbitmq_url, "RABBITMQ_URL", ("amqp", "amqps"), "amqp://user:password@host:5672/")
        if self.log_format not in (None, "json", "text"):
            raise ConfigError("LOG_FORMAT must be json or text")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")

    def as_dict(self) -> dict[str, object]:
        return msgspec.structs.asdict(self)

    def jwt_keys(self) -> str | dict[str, str]:
        """The token secrets: ``JWT_SECRETS`` by kid (the first signs), else the one secret of
        :meth:`signing_secret` (tokens without a kid)."""
        if self.jwt_secrets is not None:
            return parse_jwt_secrets(self.jwt_secrets)
        return self.signing_secret()

    def signing_secret(self) -> str:
        """The secret that signs: the first of ``JWT_SECRETS``, ``JWT_SECRET``, or the secret generated once into
        the data directory (shared by serve and token). Signup states are signed with a key derived from it."""
        from tenant_entrypoints.local_secrets import read_or_create

        if self.jwt_secrets is not None:
            return next(iter(parse_jwt_secrets(self.jwt_secrets).values()))
        return self.jwt_secret or read_or_create(self.data_dir / "jwt-secret")

    def cipher_keys(self) -> dict[str, bytes]:
        """``CREDENTIALS_KEYS`` (the first key seals), or one local key generated once into the data directory."""
        from tenant_entrypoints.local_secrets import read_or_create

        return parse_keys(self.credentials_keys or f"local={read_or_create(self.data_dir / 'credentials-key')}")


def check_database_url(url: str, name: str) -> None:
    check_url(url, name, ("postgres", "postgresql"), "postgresql://user:password@host:5432/dbname")


def check_url(url: str, name: str, schemes: tuple[str, ...], example: str) -> None:
    """A URL of one of ``schemes`` whose parts read as meant. An unencoded ``#``, ``/`` or ``?`` in the password
    ends the host part early, and the password's start would be read as the port and quoted by whichever parser
    refuses it; the message names no part of the URL."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise ConfigError(f"{name} must look like {example}")
    try:
        port = parts.port
    except ValueError:  # not a number (most often a password's start), or out of range
        port = -1
    if port == -1 or parts.fragment or "@" in parts.path:
        raise ConfigError(
            f"{name} cannot be read as a URL like {example}: percent-encode '#', '/', '?' and '@' in the user "
            "name and password (# as %23) and give the port as a number"
        )


def _schedule(text: str | None) -> tuple[float, ...]:
    if not text:
        return DEFAULT_RETRY_SCHEDULE
    try:
        delays = tuple(float(part) for part in text.split(","))
    except ValueError:
        delays = ()
    if not delays or any(d <= 0 for d in delays):
        raise ConfigError("WEBHOOK_RETRY_SCHEDULE must be positive seconds separated by commas, like 5,30,120")
    return delays


def _flag(name: str, text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be true or false, not {text!r}")


def _port(text: str) -> int:
    port = _positive_int("PORT", text)
    if port > 65535:
        raise ConfigError(f"PORT must be between 1 and 65535, not {text!r}")
    return port


def _positive_float(name: str, text: str) -> float:
    return _positive(name, text, float, "a number of seconds")


def _non_negative_float(name: str, text: str) -> float:
    return 0.0 if text.strip() in ("0", "0.0") else _positive(name, text, float, "a number of milliseconds")


def _non_negative_int(name: str, text: str) -> int:
    return 0 if text.strip() == "0" else _positive_int(name, text)


def _positive_int(name: str, text: str) -> int:
    return int(_positive(name, text, int, "a whole number"))


def _positive(name: str, text: str, parse: type[int] | type[float], kind: str) -> float:
    try:
        value = parse(text)
    except ValueError:
        raise ConfigError(f"{name} must be {kind}, not {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be more than 0, not {text!r}")
    return value
