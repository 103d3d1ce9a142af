"""Resolution by phone number, integration and org: correct, and never hidden by a stale cache."""

from __future__ import annotations

import asyncio

import pytest

from tenant_adapters.memory import InMemoryCache
from tenant_core import (
    SYSTEM,
    NotFoundError,
    ProvisionGenesys,
    TenantCache,
    TenantDirectory,
    TenantStatus,
    UnavailableError,
    UpdateTenant,
)
from tenant_core.entities import PHONE_NUMBER
from tenant_core.errors import TenantLockedError
from tests.support.builders import create_command


async def test_resolves_by_each_key_case_insensitively(tenants, resolver):
    created = (
        await tenants.create(
            SYSTEM, create_command(phone_number_id="1555", genesys_integration_id="Intg-1", genesys_org_id="Org-1")
        )
    ).tenant
    assert (await resolver.by_phone(SYSTEM, "1555")).id == created.id
    assert (await resolver.by_integration(SYSTEM, "intg-1")).id == created.id
    assert (await resolver.by_genesys_org(SYSTEM, "ORG-1")).id == created.id


async def test_moved_phone_number_resolves_to_new_value_at_once(tenants, resolver):
    """After a change of phone number the old one stops resolving and the new one starts, cache included."""
    created = (await tenants.create(SYSTEM, create_command(phone_number_id="1000"))).tenant
    await resolver.by_phone(SYSTEM, "1000")  # cached
    with pytest.raises(NotFoundError):
        await resolver.by_phone(SYSTEM, "2000")  # negatively cached
    await tenants.update(SYSTEM, created.id, UpdateTenant(phone_number_id="2000"))
    with pytest.raises(NotFoundError):
        await resolver.by_phone(SYSTEM, "1000")
    assert (await resolver.by_phone(SYSTEM, "2000")).id == created.id


async def test_status_changes_are_visible_to_the_next_lookup(tenants, resolver):
    created = (await tenants.create(SYSTEM, create_command(phone_number_id="1000"))).tenant
    assert (await resolver.by_phone(SYSTEM, "1000")).status is TenantStatus.ACTIVE
    await tenants.update(SYSTEM, created.id, UpdateTenant(status=TenantStatus.SUSPENDED))
    with pytest.raises(TenantLockedError) as locked:
        await resolver.by_phone(SYSTEM, "1000")
    assert locked.value.tenant_id == created.id
    await tenants.update(SYSTEM, created.id, UpdateTenant(status=TenantStatus.DELETED))
    with pytest.raises(NotFoundError):
        await resolver.by_phone(SYSTEM, "1000")


async def test_delete_stops_resolution_at_once(tenants, resolver):
    created = (await tenants.create(SYSTEM, create_command(genesys_integration_id="intg-9"))).tenant
    await resolver.by_integration(SYSTEM, "intg-9")
    await tenants.delete(SYSTEM, created.id)
    with pytest.raises(NotFoundError):
        await resolver.by_integration(SYSTEM, "intg-9")


async def test_negative_entry_is_cleared_by_a_create(tenants, resolver):
    with pytest.raises(NotFoundError):
        await resolver.by_genesys_org(SYSTEM, "org-new")
    created = (await tenants.create(SYSTEM, create_command(genesys_org_id="org-new"))).tenant
    assert (await resolver.by_genesys_org(SYSTEM, "org-new")).id == created.id


async def test_provisioning_gets_or_creates(provisioning, resolver):
    command = ProvisionGenesys(genesys_org_id="org-7", genesys_org_name="Org Seven", genesys_region="mypurecloud.ie")
    first = await provisioning.provision(SYSTEM, command)
    second = await provisioning.provision(SYSTEM, command)
    assert first.is_new and not second.is_new
    assert first.tenant.id == second.tenant.id
    assert first.tenant.name == "Org Seven" and first.tenant.genesys_region == "mypurecloud.ie"
    assert (await resolver.by_genesys_org(SYSTEM, "org-7")).id == first.tenant.id


async def test_a_miss_burst_loads_once(tenants):
    """Fifty concurrent lookups of an uncached key cause one load (stampede protection).

    All fifty ask before the first load ends, so only the shared in-flight load can explain a single call."""
    cache = TenantCache(InMemoryCache())
    created = (await tenants.create(SYSTEM, create_command())).tenant
    loads = 0

    async def slow_load():
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return created

    results = await asyncio.gather(*(cache.get_or_load("tenant:id:x", slow_load) for _ in range(50)))
    assert loads == 1 and all(r.id == created.id for r in results)


async def test_a_failed_load_is_shared_and_not_cached():
    cache = TenantCache(InMemoryCache())

    async def failing():
        await asyncio.sleep(0.01)
        raise UnavailableError("database down")

    results = await asyncio.gather(*(cache.get_or_load("k", failing) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, UnavailableError) for r in results)

    async def working():
        return None

    assert await cache.get_or_load("k", working) is None  # the failure was not remembered


async def test_cache_only_read_never_loads_and_answers_only_active_tenants(tenants, resolver, storage):
    """The fast lane's read: a miss is ``None`` without touching the store; suspended tenants are not answered."""
    created = (await tenants.create(SYSTEM, create_command(phone_number_id="7000"))).tenant
    assert await resolver.cached(SYSTEM, "phone", "7000") is None  # never looked up: a miss
    assert await storage.tenants.get_by(PHONE_NUMBER, "7000") is not None  # (the store has it all along)
    await resolver.resolve(SYSTEM, "phone", "7000")
    assert (await resolver.cached(SYSTEM, "phone", "7000")).id == created.id
    await tenants.update(SYSTEM, created.id, UpdateTenant(status=TenantStatus.SUSPENDED))
    with pytest.raises(TenantLockedError):
        await resolver.resolve(SYSTEM, "phone", "7000")
    assert await resolver.cached(SYSTEM, "phone", "7000") is None  # the normal route answers 423


async def test_one_existence_rule_any_sees_soft_deleted_live_does_not(tenants, storage, tenant_cache):
    directory = TenantDirectory(storage.tenants, tenant_cache)
    created = (await tenants.create(SYSTEM, create_command())).tenant
    assert (await directory.live(created.id)).id == created.id
    await tenants.update(SYSTEM, created.id, UpdateTenant(status=TenantStatus.DELETED))
    assert (await directory.any(created.id)).status is TenantStatus.DELETED  # still shown to admins
    for lookup in (directory.live(created.id), directory.live("t_0000000000000000")):
        with pytest.raises(NotFoundError):
            await lookup
