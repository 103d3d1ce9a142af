"""The API-key, audit-log, signup-nonce and rate-limiter ports: in-memory and real adapters behave alike."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tenant_adapters.memory import InMemoryRateLimiter
from tenant_adapters.redis import RedisRateLimiter
from tenant_core.api_key_secrets import new_api_key
from tenant_core.entities import AuditEvent
from tests.support.builders import tenant

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _tenant_with_keys(storage, *names: str):
    created = tenant()
    issued = [new_api_key(created.id, name, NOW + timedelta(seconds=n)) for n, name in enumerate(names)]
    async with storage.unit_of_work() as uow:
        await uow.tenants.add(created)
        for key in issued:
            await uow.api_keys.add(key.key)
    return created, issued


async def test_api_keys_are_found_by_hash_and_listed_newest_first(storage):
    owner, (first, second) = await _tenant_with_keys(storage, "ci", "ops")
    assert await storage.api_keys.find_by_hash(first.key.key_hash) == first.key
    assert await storage.api_keys.find_by_hash("0" * 64) is None
    assert [k.name for k in await storage.api_keys.list_for_tenant(owner.id)] == ["ops", "ci"]


async def test_a_key_is_revoked_only_by_its_own_tenant(storage):
    owner, (key,) = await _tenant_with_keys(storage, "ci")
    other, _ = await _tenant_with_keys(storage)
    async with storage.unit_of_work() as uow:
        assert await uow.api_keys.remove(other.id, key.key.id) is None
    async with storage.unit_of_work() as uow:
        assert (await uow.api_keys.remove(owner.id, key.key.id)).id == key.key.id
    assert await storage.api_keys.find_by_hash(key.key.key_hash) is None


async def test_a_revoked_key_leaves_a_record_that_only_authentication_asks_for(storage):
    owner, (key,) = await _tenant_with_keys(storage, "ci")
    async with storage.unit_of_work() as uow:
        await uow.api_keys.remove(owner.id, key.key.id)
    assert await storage.api_keys.find_by_hash(key.key.key_hash) is None
    assert await storage.api_keys.list_for_tenant(owner.id) == []
    revoked = await storage.api_keys.find_by_hash(key.key.key_hash, include_revoked=True)
    assert (revoked.id, revoked.tenant_id, revoked.revoked_at is not None) == (key.key.id, owner.id, True)
    async with storage.unit_of_work() as uow:  # the same key issued again (an import): the live one wins
        await uow.api_keys.add(key.key)
    assert await storage.api_keys.find_by_hash(key.key.key_hash, include_revoked=True) == key.key


async def test_touch_records_last_use(storage):
    owner, (key,) = await _tenant_with_keys(storage, "ci")
    await storage.api_keys.touch(key.key.id, NOW + timedelta(minutes=5))
    assert (await storage.api_keys.find_by_hash(key.key.key_hash)).last_used_at == NOW + timedelta(minutes=5)


async def test_audit_log_is_newest_first_paged_with_total_and_per_tenant(storage):
    ids = [tenant().id for _ in range(2)]
    async with storage.unit_of_work() as uow:
        for n in range(5):
            event = AuditEvent(NOW + timedelta(seconds=n), "actor", f"action.{n}", ids[n % 2], ["name"], None)
            await uow.audit.record(event)
    events, total = await storage.audit.list_for_tenant(ids[0], limit=2, offset=1)
    assert total == 3 and [e.action for e in events] == ["action.2", "action.0"]
    assert (await storage.audit.list_for_tenant("nobody", 10, 0)) == ([], 0)


async def test_audit_events_vanish_with_a_rolled_back_unit_of_work(storage):
    tenant_id = tenant().id
    with pytest.raises(RuntimeError):
        async with storage.unit_of_work() as uow:
            await uow.audit.record(AuditEvent(NOW, "actor", "tenant.updated", tenant_id, [], None))
            raise RuntimeError("the change failed")
    assert await storage.audit.list_for_tenant(tenant_id, 10, 0) == ([], 0)


async def test_a_signup_nonce_is_claimed_once_even_concurrently(storage):
    nonce, live_until = uuid.uuid4().hex, datetime.now(UTC) + timedelta(minutes=15)
    claims = await asyncio.gather(*(storage.signup_nonces.claim(nonce, live_until) for _ in range(8)))
    assert sorted(claims) == [False] * 7 + [True]
    assert await storage.signup_nonces.claim(uuid.uuid4().hex, live_until) is True


@pytest.fixture(params=["memory", "redis"])
async def limiter(request, clean_redis):
    if request.param == "memory":
        yield InMemoryRateLimiter()
        return
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(clean_redis)
    yield RedisRateLimiter(client)
    await client.aclose()


async def test_rate_limiter_counts_per_key_within_a_window(limiter):
    counts = [(await limiter.hit("tenant:a", 3, 60))[0] for _ in range(4)]
    assert counts == [1, 2, 3, 4]
    count, reset = await limiter.hit("tenant:b", 3, 60)
    assert count == 1 and 1 <= reset <= 61


async def test_audit_log_pages_by_cursor_from_an_event(storage):
    tenant_id = tenant().id
    async with storage.unit_of_work() as uow:
        for n in range(5):
            await uow.audit.record(AuditEvent(NOW + timedelta(seconds=n), "actor", f"action.{n}", tenant_id, [], None))
    first, total = await storage.audit.list_for_tenant(tenant_id, limit=2, offset=0)
    after, _ = await storage.audit.list_for_tenant(tenant_id, limit=2, offset=0, before=first[-1].id)
    assert total == 5 and [e.action for e in first + after] == ["action.4", "action.3", "action.2", "action.1"]
