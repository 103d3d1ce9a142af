from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.memory import InMemoryCache, InMemoryStorage
from tenant_core import GenesysProvisioning, SealedValues, TenantCache, TenantDirectory, TenantResolver, TenantService


class SteppingClock:
    """A clock that moves one second per reading, so creation order is deterministic."""

    def __init__(self) -> None:
        self._now = datetime(2026, 2, 12, 10, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self._now += timedelta(seconds=1)
        return self._now


@pytest.fixture
def storage() -> InMemoryStorage:
    return InMemoryStorage()


@pytest.fixture
def tenant_cache() -> TenantCache:
    return TenantCache(InMemoryCache())


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def cipher() -> AesGcmCipher:
    return AesGcmCipher({"a": os.urandom(32)})


@pytest.fixture
def sealed(cipher) -> SealedValues:
    return SealedValues(cipher)


@pytest.fixture
def directory(storage, tenant_cache) -> TenantDirectory:
    """The one tenant directory every use case of a test shares, as the container's."""
    return TenantDirectory(storage.tenants, tenant_cache)


@pytest.fixture
def tenants(storage, tenant_cache, directory, clock, sealed) -> TenantService:
    return TenantService(storage, tenant_cache, directory, clock, sealed=sealed)


@pytest.fixture
def resolver(storage, tenant_cache) -> TenantResolver:
    return TenantResolver(storage.tenants, tenant_cache)


@pytest.fixture
def provisioning(storage, tenant_cache, clock) -> GenesysProvisioning:
    return GenesysProvisioning(storage, tenant_cache, clock)
