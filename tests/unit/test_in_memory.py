"""The one-call in-memory setup: the composition root on memory adapters and a clock you set."""

from __future__ import annotations

import inspect
import os
from datetime import UTC, datetime, timedelta

import pytest

from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.memory import InMemoryStorage
from tenant_core import SYSTEM, CredentialsUnreadableError, CredentialType, ManualClock, UpdateTenant
from tenant_entrypoints.container import Container, Services
from tenant_entrypoints.in_memory import in_memory_container
from tests.support.builders import create_command

WHATSAPP = {"accessToken": "EAAG-token", "phoneNumberId": "1555", "wabaId": "w-1"}


def test_every_provider_is_ready_without_opening_anything():
    """No provider is left that would connect or need ``init_resources`` (a new Resource must be replaced)."""
    core = in_memory_container()
    for name in Container.providers:
        value = getattr(core, name)()
        assert not inspect.isawaitable(value), f"{name} is not replaced by an in-memory adapter"
    assert isinstance(core.services(), Services) and isinstance(core.storage(), InMemoryStorage)


async def test_the_use_cases_work_together_in_one_call():
    core = in_memory_container()
    created = await core.tenants().create(SYSTEM, create_command(phone_number_id="1555"))
    assert (await core.resolver().by_phone(SYSTEM, "1555")).id == created.tenant.id
    assert core.tenants() is core.tenants() and core.services().tenants is core.tenants()
    assert (await core.events().read(SYSTEM)).events[0].type == "tenant.created"


async def test_the_clock_is_set_by_the_caller_and_read_by_every_use_case():
    start = datetime(2030, 1, 1, tzinfo=UTC)
    core = in_memory_container(clock=ManualClock(start))
    tenant = (await core.tenants().create(SYSTEM, create_command())).tenant
    assert tenant.created_at == start
    written_at_start = len((await core.events().read(SYSTEM)).events)  # the tenant and its first API key
    core.clock().advance(timedelta(days=31))
    updated = await core.tenants().update(SYSTEM, tenant.id, UpdateTenant(name="Later"))
    assert updated.updated_at == start + timedelta(days=31)
    assert await core.events().prune(core.clock().now()) == written_at_start  # past the 30 days kept


def test_the_default_clock_starts_now_and_keeps_readings_in_order():
    clock = in_memory_container().clock()
    first, second = clock.now(), clock.now()
    assert first < second and abs(datetime.now(UTC) - first) < timedelta(minutes=1)


def test_a_manual_clock_tells_only_aware_times():
    with pytest.raises(ValueError, match="tzinfo"):
        ManualClock(datetime(2030, 1, 1))
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    clock.set(datetime(2029, 12, 31, tzinfo=UTC))  # a clock step backwards
    clock.advance(60)
    assert clock.now() == datetime(2029, 12, 31, 0, 1, tzinfo=UTC)


async def test_a_chosen_cipher_opens_what_another_process_sealed_and_the_default_does_not():
    """Sealed values outlive a setup only under a key you keep: the default key is random per setup."""
    keys = {"k1": os.urandom(32)}
    storage = InMemoryStorage()
    first = in_memory_container(storage=storage, cipher=AesGcmCipher(keys))
    tenant = (await first.tenants().create(SYSTEM, create_command())).tenant
    await first.vault().store(SYSTEM, tenant.id, CredentialType.WHATSAPP, WHATSAPP)
    same_key = in_memory_container(storage=storage, cipher=AesGcmCipher(keys))
    stored = await same_key.vault().reveal(SYSTEM, tenant.id, CredentialType.WHATSAPP)
    assert stored.credentials.access_token == "EAAG-token"
    with pytest.raises(CredentialsUnreadableError):
        await in_memory_container(storage=storage).vault().reveal(SYSTEM, tenant.id, CredentialType.WHATSAPP)


def test_setups_share_nothing():
    one, other = in_memory_container(), in_memory_container()
    assert one.storage() is not other.storage() and one.cache() is not other.cache()
