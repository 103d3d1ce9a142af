"""Every refused credential carries why (for the operator's log line), and whom it was for when it was genuine
but refused; the message the caller sees stays the same generic one."""

from __future__ import annotations

import time

import jwt
import pytest

from tenant_adapters.jwt import JwtTokens
from tenant_adapters.memory import InMemoryCache
from tenant_core import (
    SYSTEM,
    ApiKey,
    ApiKeyService,
    AuthenticationFailedError,
    Authenticator,
    Permission,
    Principal,
    Refusal,
    Role,
    TenantStatus,
    TenantSuspendedError,
    UpdateTenant,
)
from tenant_core.lookup_cache import ReadThrough
from tests.support.builders import create_command

SECRET, OTHER = "reason-secret-" + "r" * 32, "other-secret-" + "o" * 32


def _token(secret: str = SECRET, headers: dict | None = None, **claims: object) -> str:
    now = int(time.time())
    base = {"sub": "billing", "role": "service", "iat": now, "exp": now + 60}
    return jwt.encode({**base, **claims}, secret, "HS256", headers=headers)


@pytest.mark.parametrize(
    ("secret", "claims", "reason"),
    [
        (SECRET, {"exp": -60, "iat": -120}, Refusal.EXPIRED),  # times relative to now
        (OTHER, {}, Refusal.BAD_SIGNATURE),
        (None, {}, Refusal.MALFORMED_TOKEN),
        (SECRET, {"nbf": 600}, Refusal.NOT_YET_VALID),
        (SECRET, {"aud": "another-service"}, Refusal.WRONG_AUDIENCE),
        (SECRET, {"exp": 90 * 24 * 3600}, Refusal.TOO_LONG_LIVED),
        (SECRET, {"role": "root"}, Refusal.INVALID_CLAIMS),
        (SECRET, {"role": "tenant"}, Refusal.INVALID_CLAIMS),  # no tenant_id
    ],
    ids=lambda v: v.value if isinstance(v, Refusal) else "",
)
def test_each_refused_token_says_why_and_tells_the_caller_nothing_more(secret, claims, reason):
    now = int(time.time())
    timed = {k: now + v if k in ("exp", "iat", "nbf") else v for k, v in claims.items()}
    token = "not-a-jwt" if secret is None else _token(secret, **timed)
    with pytest.raises(AuthenticationFailedError) as refused:
        JwtTokens(SECRET).verify(token)
    assert refused.value.reason is reason
    if reason is Refusal.EXPIRED:
        # The signature verified: the refusal names whose token expired, for the log line.
        assert refused.value.principal == Principal("billing", Role.SERVICE)
    else:
        assert refused.value.principal is None


def test_a_token_of_an_unknown_kid_or_the_wrong_issuer_is_refused_with_its_reason():
    named = JwtTokens({"new": SECRET}, issuer="platform")
    with pytest.raises(AuthenticationFailedError) as unknown_kid:
        named.verify(_token(headers={"kid": "retired"}, iss="platform"))
    with pytest.raises(AuthenticationFailedError) as wrong_issuer:
        named.verify(_token(iss="elsewhere"))
    assert (unknown_kid.value.reason, wrong_issuer.value.reason) == (Refusal.BAD_SIGNATURE, Refusal.WRONG_ISSUER)


def test_forbidden_says_wrong_role_other_tenant_or_suspended():
    service, tenant = Principal("svc", Role.SERVICE), Principal("key_1", Role.TENANT, tenant_id="t_1")
    reasons = []
    for principal, permission, tenant_id in (
        (service, Permission.TENANTS_CREATE, None),
        (tenant, Permission.TENANTS_READ, "t_2"),
        (Principal("key_1", Role.TENANT, tenant_id="t_1", suspended=True), Permission.TENANTS_UPDATE, "t_1"),
    ):
        with pytest.raises(Exception) as refused:
            principal.require(permission, tenant_id)
        reasons.append(refused.value.reason)
    assert reasons == [Refusal.WRONG_ROLE, Refusal.OTHER_TENANT, Refusal.SUSPENDED]
    assert isinstance(refused.value, TenantSuspendedError)


async def test_an_api_key_is_refused_as_unknown_revoked_or_of_a_deleted_tenant(storage, directory, clock, tenants):
    """A revoked key is told apart from one never issued, and names its key id and tenant for the log (a tenant
    removed for good takes its keys and their records with it: its keys are then unknown)."""
    key_cache = ReadThrough(InMemoryCache(), ApiKey)
    authenticator = Authenticator(storage, key_cache, directory, JwtTokens(SECRET), clock)
    keys = ApiKeyService(storage, key_cache, clock, directory)
    created = await tenants.create(SYSTEM, create_command())
    (key,) = await keys.list(SYSTEM, created.tenant.id)
    assert (await authenticator.authenticate(created.api_key)).subject == key.id
    second = await keys.issue(SYSTEM, created.tenant.id, "second")
    await keys.revoke(SYSTEM, created.tenant.id, key.id)
    await tenants.update(SYSTEM, created.tenant.id, UpdateTenant(status=TenantStatus.DELETED))  # soft delete
    refusals = []
    for secret in (created.api_key, "sk_" + "0" * 64, second.secret):
        with pytest.raises(AuthenticationFailedError) as refused:
            await authenticator.authenticate(secret)
        refusals.append((refused.value.reason, refused.value.principal))
    owner = created.tenant.id
    assert refusals == [
        (Refusal.REVOKED, Principal(key.id, Role.TENANT, tenant_id=owner)),
        (Refusal.UNKNOWN_KEY, None),
        (Refusal.TENANT_DELETED, Principal(second.key.id, Role.TENANT, tenant_id=owner)),
    ]
