"""Use cases on the in-memory adapters, from the one-call setup embedders use (``in_memory_container``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.memory import InMemoryStorage
from tenant_core import (
    GenesysProvisioning,
    ManualClock,
    SealedValues,
    TenantCache,
    TenantDirectory,
    TenantResolver,
    TenantService,
)
from tenant_entrypoints.container import Container
from tenant_entrypoints.in_memory import in_memory_container


@pytest.fixture
def clock() -> ManualClock:
    """Moves one second per reading, so creation order is deterministic."""
    return ManualClock(datetime(2026, 2, 12, 10, 0, 1, tzinfo=UTC), tick=timedelta(seconds=1))


@pytest.fixture
def cipher() -> AesGcmCipher:
    return AesGcmCipher({"a": os.urandom(32)})


@pytest.fixture
def core(clock, cipher) -> Container:
    return in_memory_container(clock=clock, cipher=cipher)


@pytest.fixture
def storage(core) -> InMemoryStorage:
    return core.storage()


@pytest.fixture
def directory(core) -> TenantDirectory:
    """The one tenant directory every use case of a test shares (the container's)."""
    return core.directory()


@pytest.fixture
def tenant_cache(core) -> TenantCache:
    return core.tenant_cache()


@pytest.fixture
def sealed(core) -> SealedValues:
    return core.sealed()


@pytest.fixture
def tenants(core) -> TenantService:
    return core.tenants()


@pytest.fixture
def resolver(core) -> TenantResolver:
    return core.resolver()


@pytest.fixture
def provisioning(core) -> GenesysProvisioning:
    return core.provisioning()
