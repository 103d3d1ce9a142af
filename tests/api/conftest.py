"""The real app (Litestar, container, Postgres, Redis) driven over HTTP; tables and cache emptied per test."""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tenant_adapters.jwt import JwtTokens
from tenant_core import Principal, Role
from tenant_entrypoints.config import Config
from tenant_entrypoints.http.app import create_app

TEST_JWT_SECRET = "test-secret-" + "x" * 32
TEST_CREDENTIALS_KEYS = "test=" + base64.b64encode(b"k" * 32).decode()
tokens = JwtTokens(TEST_JWT_SECRET)


def bearer(role: Role, tenant_id: str | None = None, subject: str | None = None, ttl: int = 600) -> dict[str, str]:
    token = tokens.issue(Principal(subject=subject or f"test-{role.value}", role=role, tenant_id=tenant_id), ttl)
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(Role.ADMIN, ttl=24 * 3600)


def config_for(postgres_url: str, redis_url: str | None, **settings) -> Config:
    settings.setdefault("credentials_keys", TEST_CREDENTIALS_KEYS)
    settings.setdefault("webhook_allow_private", True)  # receivers in the tests listen on loopback
    settings.setdefault("webhook_retry_schedule", (0.2, 0.4, 0.8))
    settings.setdefault("event_retention_days", 36500.0)  # other suites write old events on the same database
    settings.setdefault("genesys_base_url", "http://127.0.0.1:9")  # never the real Genesys: nothing listens here
    return Config(database_url=postgres_url, redis_url=redis_url, jwt_secret=TEST_JWT_SECRET, **settings)


def app_for(postgres_url: str, redis_url: str | None, **settings):
    return create_app(config=config_for(postgres_url, redis_url, **settings))


@pytest.fixture(scope="session", params=["fast-lane", "no-fast-lane"])
async def session_client(request, postgres_url: str, redis_server) -> AsyncIterator[AsyncTestClient]:
    """The whole API suite runs with the resolution fast lane on and off: both must answer alike."""
    app = app_for(postgres_url, redis_server.url, fast_lane=request.param == "fast-lane")
    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(ADMIN)  # tests act as admin unless they send other credentials
        yield client


@pytest.fixture
async def client(session_client: AsyncTestClient, clean_postgres, clean_redis) -> AsyncTestClient:
    return session_client


@pytest.fixture(params=["/tenants", "/api/tenants"])
def prefix(request: pytest.FixtureRequest) -> str:
    """Every tenant route is served under both prefixes with identical behaviour."""
    return request.param


# Anything that looks like a tenant API key or a JWT. Secrets of stored credentials are added by the tests
# that store them (see ``secrets_in_play``).
_LEAK_PATTERNS = (re.compile(r"sk_[0-9a-f]{64}"), re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+"))


@pytest.fixture
def secrets_in_play() -> list[str]:
    """Tests append secret values here; none may appear in any log line."""
    return []


@pytest.fixture(autouse=True)
def no_secret_in_logs(capfd: pytest.CaptureFixture[str], secrets_in_play: list[str]) -> Iterator[None]:
    """Every API test doubles as a log-leak test: its log output must hold no key, token or secret."""
    yield
    captured = capfd.readouterr()
    output = captured.out + captured.err
    for pattern in _LEAK_PATTERNS:
        leak = pattern.search(output)
        assert leak is None, f"secret-looking value in logs: {leak.group(0)[:12]}…"
    for secret in secrets_in_play:
        assert secret not in output, "a stored secret appeared in the logs"
    sys.stderr.write(captured.err)  # keep the output visible in failure reports


@pytest.fixture
def anonymous(client: AsyncTestClient) -> httpx.AsyncClient:
    """The same running app, reached without the admin default: for calls that bring their own credentials
    (or none). Tests never change the shared client's headers. (Not closed: the transport is the shared
    client's.)"""
    return httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
