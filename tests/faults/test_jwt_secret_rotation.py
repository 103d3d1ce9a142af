"""Rotating the JWT secret as an operator does, against real ``serve`` processes: with both secrets configured
old and new tokens work (the CLI's, and the kid-less ones the platform's services mint); restarted without the
old secret, its tokens stop, on every route including the resolution fast lane."""

from __future__ import annotations

import os
import signal

import httpx
import jwt

from tenant_adapters.jwt import JwtTokens
from tenant_core import Principal, Role
from tests.faults.test_credentials_key_rotation import own_database  # noqa: F401  (fixture)
from tests.support.cli import run_cli

OLD, NEW = "old-jwt-secret-" + "o" * 32, "new-jwt-secret-" + "n" * 32


async def _status(url: str, token: str, path: str) -> int:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        return (await client.get(path, headers={"Authorization": f"Bearer {token}"})).status_code


async def test_a_jwt_secret_rotates_without_a_flag_day(service_factory, own_database, tmp_path):  # noqa: F811
    base = {"DATABASE_URL": own_database, "JWT_SECRET": "", "TENANT_SERVICE_DATA_DIR": str(tmp_path)}
    both, only_new = {**base, "JWT_SECRETS": f"new={NEW},old={OLD}"}, {**base, "JWT_SECRETS": f"new={NEW}"}

    minted_old = await run_cli("token", "--role", "admin", env={**os.environ, **base, "JWT_SECRETS": f"old={OLD}"})
    old_token = minted_old.stdout.strip()
    platform_token = JwtTokens(OLD).issue(Principal("billing", Role.SERVICE))  # the shared secret, no kid
    minted_new = await run_cli("token", "--role", "admin", env={**os.environ, **both})
    new_token = minted_new.stdout.strip()
    assert jwt.get_unverified_header(old_token)["kid"] == "old" and jwt.get_unverified_header(new_token)["kid"] == "new"
    assert "kid" not in jwt.get_unverified_header(platform_token)

    service = await service_factory(both).start()
    async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
        created = await client.post(
            "/tenants",
            json={"name": "R", "email": "r@example.com", "phoneNumberId": "15550042"},
            headers={"Authorization": f"Bearer {new_token}"},
        )
        assert created.status_code == 201
    by_phone = "/tenants/by-phone/15550042"
    for token in (old_token, platform_token, new_token):
        assert await _status(service.url, token, "/tenants") == 200
        for _ in range(2):  # the second answer comes from the fast lane (cache-hot, token already verified)
            assert await _status(service.url, token, by_phone) == 200
    service.signal(signal.SIGTERM)
    assert service.wait() == 0

    restarted = await service_factory(only_new).start()
    for token in (old_token, platform_token):
        assert await _status(restarted.url, token, "/tenants") == 401
        assert await _status(restarted.url, token, by_phone) == 401
    assert await _status(restarted.url, new_token, "/tenants") == 200
    assert await _status(restarted.url, new_token, by_phone) == 200
    assert await _status(restarted.url, JwtTokens(NEW).issue(Principal("billing", Role.SERVICE)), by_phone) == 200
    restarted.signal(signal.SIGTERM)
    assert restarted.wait() == 0
