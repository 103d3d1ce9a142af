"""Who may call, and how often: API keys, authentication, rate limits; and the writer's retry on a lost race."""

from __future__ import annotations

import pytest

from tenant_adapters.jwt import JwtTokens
from tenant_adapters.memory import InMemoryCache, InMemoryRateLimiter
from tenant_core import (
    SYSTEM,
    ApiKey,
    ApiKeyService,
    AuthenticationFailedError,
    Authenticator,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    Principal,
    RateLimitedError,
    RateLimitPolicy,
    Role,
    TenantStatus,
    TenantSuspendedError,
    UpdateTenant,
    ValidationFailedError,
)
from tenant_core.audit import AuditAction
from tenant_core.lookup_cache import ReadThrough
from tenant_core.tenant_writer import TenantWriter
from tests.support.builders import create_command

SECRET = "unit-test-jwt-secret-" + "u" * 32


@pytest.fixture
def key_cache() -> ReadThrough[ApiKey]:
    return ReadThrough(InMemoryCache(), ApiKey)


@pytest.fixture
def api_keys(storage, key_cache, clock, directory) -> ApiKeyService:
    return ApiKeyService(storage, key_cache, clock, directory)


@pytest.fixture
def authenticator(storage, key_cache, directory, clock) -> Authenticator:
    return Authenticator(storage, key_cache, directory, JwtTokens(SECRET), clock)


async def _tenant(tenants, **fields):
    return await tenants.create(SYSTEM, create_command(**fields))


async def test_keys_are_issued_listed_and_revoked_at_once(tenants, api_keys, authenticator):
    created = await _tenant(tenants)
    tenant_id = created.tenant.id
    issued = await api_keys.issue(SYSTEM, tenant_id, "ci")
    assert issued.secret.startswith("sk_") and issued.key.key_hash not in issued.secret
    assert {k.name for k in await api_keys.list(SYSTEM, tenant_id)} == {"default", "ci"}
    assert (await authenticator.authenticate(issued.secret)).tenant_id == tenant_id
    await api_keys.revoke(SYSTEM, tenant_id, issued.key.id)
    with pytest.raises(AuthenticationFailedError):
        await authenticator.authenticate(issued.secret)
    with pytest.raises(NotFoundError):
        await api_keys.revoke(SYSTEM, tenant_id, issued.key.id)


async def test_key_rules_names_other_tenants_and_deleted_tenants(tenants, api_keys):
    tenant_id = (await _tenant(tenants)).tenant.id
    with pytest.raises(ValidationFailedError):
        await api_keys.issue(SYSTEM, tenant_id, "   ")
    other = Principal(subject="k", role=Role.TENANT, tenant_id="t_0000000000000000")
    with pytest.raises(ForbiddenError):
        await api_keys.list(other, tenant_id)
    await tenants.update(SYSTEM, tenant_id, UpdateTenant(status=TenantStatus.DELETED))
    for call in (api_keys.list(SYSTEM, tenant_id), api_keys.issue(SYSTEM, tenant_id, "late")):
        with pytest.raises(NotFoundError):
            await call


async def test_tenant_principals_stand_with_their_tenant(tenants, authenticator):
    created = await _tenant(tenants)
    tenant_id, key = created.tenant.id, created.api_key
    token = JwtTokens(SECRET).issue(Principal(subject="u", role=Role.TENANT, tenant_id=tenant_id))
    for credential in (key, token):
        assert not (await authenticator.authenticate(credential)).suspended
    await tenants.update(SYSTEM, tenant_id, UpdateTenant(status=TenantStatus.SUSPENDED))
    for credential in (key, token):
        suspended = await authenticator.authenticate(credential)
        assert suspended.suspended
        with pytest.raises(TenantSuspendedError):
            await tenants.update(suspended, tenant_id, UpdateTenant(name="still here"))
        assert (await tenants.get(suspended, tenant_id)).status is TenantStatus.SUSPENDED  # may read itself
    await tenants.update(SYSTEM, tenant_id, UpdateTenant(status=TenantStatus.DELETED))
    for credential in (key, token):
        with pytest.raises(AuthenticationFailedError):
            await authenticator.authenticate(credential)


async def test_admins_and_services_are_not_limited_tenants_are(tenants, directory):
    tenant_id = (await _tenant(tenants, rate_limit=2)).tenant.id
    policy = RateLimitPolicy(InMemoryRateLimiter(), directory)
    for platform in (SYSTEM, Principal(subject="router", role=Role.SERVICE)):
        assert not policy.applies_to(platform) and await policy.admit(platform) is None
    own = Principal(subject="k", role=Role.TENANT, tenant_id=tenant_id)
    assert policy.applies_to(own)
    assert [(await policy.admit(own)).remaining for _ in range(2)] == [1, 0]
    with pytest.raises(RateLimitedError) as refused:
        await policy.admit(own)
    assert refused.value.limit == 2 and refused.value.retry_after_seconds >= 1


class _RacingStorage:
    """In-memory storage where another writer wins the first ``losses`` compare-and-sets."""

    def __init__(self, inner, losses: int) -> None:
        self._inner = inner
        self.losses = losses

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def unit_of_work(self):
        return _RacingUnitOfWork(self._inner.unit_of_work(), self)


class _RacingUnitOfWork:
    def __init__(self, inner, storage: _RacingStorage) -> None:
        self._inner, self._storage = inner, storage

    async def __aenter__(self):
        uow = await self._inner.__aenter__()
        replace = uow.tenants.replace

        async def racing_replace(tenant, expected_version):
            if self._storage.losses:
                self._storage.losses -= 1
                return None
            return await replace(tenant, expected_version)

        uow.tenants.replace = racing_replace
        return uow

    async def __aexit__(self, *exc):
        return await self._inner.__aexit__(*exc)


@pytest.mark.parametrize(("losses", "lands"), [(0, True), (3, True), (8, False)])
async def test_the_writer_retries_a_lost_race_a_bounded_number_of_times(
    tenants, storage, tenant_cache, clock, losses, lands
):
    tenant_id = (await _tenant(tenants)).tenant.id
    writer = TenantWriter(_RacingStorage(storage, losses), tenant_cache, clock)
    change = writer.change(SYSTEM, AuditAction.TENANT_UPDATED, tenant_id, lambda t: {"name": "Renamed"})
    if lands:
        assert (await change).name == "Renamed"
    else:
        with pytest.raises(ConflictError):
            await change


async def test_with_an_expected_version_a_lost_race_is_reported_not_retried(tenants, storage, tenant_cache, clock):
    tenant = (await _tenant(tenants)).tenant
    writer = TenantWriter(_RacingStorage(storage, 1), tenant_cache, clock)
    with pytest.raises(PreconditionFailedError):
        await writer.change(
            SYSTEM, AuditAction.TENANT_UPDATED, tenant.id, lambda t: {"name": "x"}, expected_version=tenant.version
        )
