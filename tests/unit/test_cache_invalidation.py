"""Writes reach every process's cache through the storage, not only the writer's own.

Two "processes" share one in-memory storage: the writer's use cases run over a cache that follows nothing,
the reader's over a cache that follows the storage's committed invalidations. Whatever the reader sees of a
change, it learned from the storage, as another instance learns of it from Postgres.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
import pytest

from tenant_adapters.jwt import JwtTokens
from tenant_adapters.memory import InMemoryCache
from tenant_core import (
    SYSTEM,
    ApiKeyService,
    Authenticator,
    GenesysProvisioning,
    TenantCache,
    TenantDirectory,
    TenantResolver,
    TenantStatus,
    UpdateTenant,
)
from tenant_core.commands import ProvisionGenesys
from tenant_core.entities import ApiKey, Tenant, new_tenant
from tenant_core.errors import AuthenticationFailedError, NotFoundError, PreconditionFailedError, TenantLockedError
from tenant_core.lookup_cache import ReadThrough
from tests.support.builders import create_command


@pytest.fixture
def reader_cache(storage) -> TenantCache:
    return TenantCache(InMemoryCache(follower=storage.invalidation_follower))


@pytest.fixture
def reader(storage, reader_cache) -> TenantResolver:
    return TenantResolver(storage.tenants, reader_cache)


async def test_a_moved_number_reaches_a_cache_the_writer_never_touched(tenants, reader):
    """The reader cached the old owner; after the move it resolves the new number and not the old one."""
    created = (await tenants.create(SYSTEM, create_command(phone_number_id="1555"))).tenant
    assert (await reader.by_phone(SYSTEM, "1555")).id == created.id
    with pytest.raises(NotFoundError):
        await reader.by_phone(SYSTEM, "1666")  # a negative entry, cached too
    await tenants.update(SYSTEM, created.id, UpdateTenant(phone_number_id="1666"))
    assert (await reader.by_phone(SYSTEM, "1666")).id == created.id
    with pytest.raises(NotFoundError):
        await reader.by_phone(SYSTEM, "1555")


async def test_a_suspension_and_a_delete_reach_the_other_cache(tenants, reader):
    created = (await tenants.create(SYSTEM, create_command(phone_number_id="1777"))).tenant
    await reader.by_phone(SYSTEM, "1777")
    await tenants.update(SYSTEM, created.id, UpdateTenant(status=TenantStatus.SUSPENDED))
    with pytest.raises(TenantLockedError):
        await reader.by_phone(SYSTEM, "1777")
    await tenants.delete(SYSTEM, created.id)
    with pytest.raises(NotFoundError):
        await reader.by_phone(SYSTEM, "1777")


async def test_a_new_tenant_clears_the_other_caches_negative_entries(tenants, storage, tenant_cache, clock, reader):
    """Created or provisioned, a tenant resolves at once where its keys were cached as unknown."""
    for lookup, value in (("phone", "1888"), ("genesys-org", "org-9")):
        with pytest.raises(NotFoundError):
            await reader.resolve(SYSTEM, lookup, value)
    created = (await tenants.create(SYSTEM, create_command(phone_number_id="1888"))).tenant
    command = ProvisionGenesys(genesys_org_id="org-9", genesys_org_name="Nine", genesys_region="mypurecloud.ie")
    provisioned = (await GenesysProvisioning(storage, tenant_cache, clock).provision(SYSTEM, command)).tenant
    assert (await reader.by_phone(SYSTEM, "1888")).id == created.id
    assert (await reader.by_genesys_org(SYSTEM, "org-9")).id == provisioned.id


async def test_a_revoked_key_is_refused_by_the_other_process(tenants, storage, tenant_cache, clock):
    """API-key revocations travel the same way: the other process's key cache drops the key."""
    tokens = JwtTokens("unit-secret-" + "u" * 32)
    created = await tenants.create(SYSTEM, create_command())
    keys = ApiKeyService(
        storage, ReadThrough(InMemoryCache(), ApiKey), clock, TenantDirectory(storage.tenants, tenant_cache)
    )
    follower = storage.invalidation_follower
    other = Authenticator(
        storage,
        ReadThrough(InMemoryCache(follower=follower), ApiKey),
        TenantDirectory(storage.tenants, TenantCache(InMemoryCache(follower=follower))),
        tokens,
        clock,
    )
    assert (await other.authenticate(created.api_key)).tenant_id == created.tenant.id
    (listed,) = await keys.list(SYSTEM, created.tenant.id)
    await keys.revoke(SYSTEM, created.tenant.id, listed.id)
    with pytest.raises(AuthenticationFailedError):
        await other.authenticate(created.api_key)


async def test_a_refused_write_announces_nothing(tenants, storage):
    """A precondition failure rolls back: no process drops anything for it."""
    created = (await tenants.create(SYSTEM, create_command())).tenant
    announced: list[str] = []
    storage.invalidation_follower.subscribe(announced.extend, _no_gap)
    with pytest.raises(PreconditionFailedError):
        await tenants.update(SYSTEM, created.id, UpdateTenant(name="Other"), expected_version=created.version + 5)
    assert announced == []


async def test_a_reader_after_an_invalidation_does_not_share_a_load_begun_before_it():
    """A load that began before a write committed returns the old version; a reader that came after the
    write's invalidation loads afresh instead of sharing it."""
    cache = TenantCache(InMemoryCache())
    old = new_tenant(id="t_1", name="Old", now=datetime.now(UTC))
    new = msgspec.structs.replace(old, name="New", version=2)
    release = asyncio.Event()

    async def slow_old_load() -> Tenant:
        await release.wait()
        return old

    async def fresh_load() -> Tenant:
        return new

    before = asyncio.create_task(cache.get_or_load("tenant:id:t_1", slow_old_load))
    await asyncio.sleep(0)  # its load is in flight
    await cache.forget_keys(["tenant:id:t_1"])  # the write committed meanwhile
    async with asyncio.timeout(5):  # sharing the old load would wait for it, which waits for this
        after = await cache.get_or_load("tenant:id:t_1", fresh_load)
    release.set()
    assert (await before).name == "Old" and after.name == "New"
    assert (await cache.get_or_load("tenant:id:t_1", slow_old_load)).name == "New"  # the old load stored nothing


async def _no_gap() -> None:
    return None
