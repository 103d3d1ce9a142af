"""Rules that used to be written in several places, each now written once: whether a tenant exists (and one
directory that answers it), which tenant fields are routing keys, and when a Meta token stops working."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

import tenant_core
from tenant_core import (
    SYSTEM,
    ApiKeyService,
    ConnectionStatus,
    NotFoundError,
    TenantDirectory,
    TokenHealth,
    TokenInfo,
    UpdateTenant,
)
from tenant_core.change_events import events_for
from tenant_core.connections import token_expiry
from tenant_core.credential_kinds.whatsapp import _token_checks
from tenant_core.entities import ROUTING_KEYS, UNIQUE_FIELDS, TenantStatus, wire_name
from tenant_core.lookup_cache import ReadThrough, id_key, keys_of, lookup_key
from tenant_core.signup_state import SignupStateCodec
from tenant_core.use_cases.signup import WhatsAppSignup
from tenant_core.use_cases.vault import CredentialVault
from tenant_entrypoints.http.routes.resolution import RESOLUTION_ROUTES
from tests.support.builders import create_command, tenant

SRC = Path(tenant_core.__file__).parent.parent

# -- one directory ----------------------------------------------------------------------------------------

#: Where a TenantDirectory may be built: the composition root (one per service), and the directory itself
#: (its uncached ``fresh`` variant).
BUILDS_DIRECTORY = {"entrypoints/container.py", "tenant_core/lookup_cache.py"}


def directory_builders(root: Path, allowed: set[str] = BUILDS_DIRECTORY) -> list[str]:
    """``file:line`` of every ``TenantDirectory(...)`` outside ``allowed``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        where = str(path.relative_to(root))
        for node in ast.walk(ast.parse(path.read_text(), where)):
            if not isinstance(node, ast.Call) or where in allowed:
                continue
            if "TenantDirectory" in (getattr(node.func, "id", None), getattr(node.func, "attr", None)):
                found.append(f"{where}:{node.lineno}")
    return found


def test_only_the_composition_root_builds_a_tenant_directory():
    """Use cases are given the service's one directory; none builds its own copy."""
    assert directory_builders(SRC) == []


def test_the_directory_rule_catches_a_use_case_building_its_own(tmp_path: Path):
    (tmp_path / "use_case.py").write_text(
        "class Keys:\n"
        "    def __init__(self, storage, cache):\n"
        "        self._directory = TenantDirectory(storage.tenants, cache)\n"
    )
    assert directory_builders(tmp_path, set()) == ["use_case.py:3"]


#: Where a tenant's ``deleted`` status may be compared in the core, and why it is not the existence rule.
STATUS_DELETED_ALLOWED = {
    "tenant_core/entities.py",  # is_live: the existence rule itself
    "tenant_core/change_events.py",  # which event a status change publishes (PATCH status=deleted)
    "tenant_core/tenant_writer.py",  # a change to a deleted tenant is a conflict (409), not a not-found
}


def deleted_comparisons(root: Path, allowed: set[str] = STATUS_DELETED_ALLOWED, under: str = ".") -> list[str]:
    """``file:line`` of every comparison with ``TenantStatus.DELETED`` in ``root/under``, outside ``allowed``."""
    found = []
    for path in sorted((root / under).rglob("*.py")):
        where = str(path.relative_to(root))
        for node in ast.walk(ast.parse(path.read_text(), where)):
            if isinstance(node, ast.Compare) and where not in allowed:
                if any(isinstance(n, ast.Attribute) and n.attr == "DELETED" for n in ast.walk(node)):
                    found.append(f"{where}:{node.lineno}")
    return found


def test_the_existence_rule_is_written_once():
    """ "Unknown or deleted is not found" lives in ``is_live`` (used by the directory and the events);
    authentication, connection checks, signup and the audit log go through the directory."""
    assert deleted_comparisons(SRC, under="tenant_core") == []


def test_the_existence_rule_check_catches_it_written_again(tmp_path: Path):
    (tmp_path / "check.py").write_text(
        "async def _tenant(self, tenant_id):\n"
        "    tenant = await self._storage.tenants.get(tenant_id)\n"
        "    if tenant is None or tenant.status is TenantStatus.DELETED:\n"
        "        raise NotFoundError(tenant_id)\n"
    )
    assert deleted_comparisons(tmp_path, set()) == ["check.py:3"]


async def _stale(storage, directory, tenants, status: TenantStatus):
    """A tenant this worker's cache still shows active, changed in the store behind the cache's back (as
    another worker's change is, until its invalidation arrives)."""
    created = (await tenants.create(SYSTEM, create_command())).tenant
    await directory.live(created.id)  # cached now
    async with storage.unit_of_work() as uow:
        changed = msgspec.structs.replace(created, status=status, version=created.version + 1)
        await uow.tenants.replace(changed, expected_version=created.version)
    return created


async def test_fresh_reads_the_store_where_the_cache_may_be_stale(storage, directory, tenants):
    """``directory.fresh`` answers from the store; the cached directory may answer from an older copy."""
    stale = await _stale(storage, directory, tenants, TenantStatus.DELETED)
    assert (await directory.live(stale.id)).status is TenantStatus.ACTIVE  # cached
    with pytest.raises(NotFoundError):
        await directory.fresh.live(stale.id)
    assert (await directory.fresh.any(stale.id)).status is TenantStatus.DELETED
    assert directory.fresh.fresh is directory.fresh


async def test_signup_decides_on_a_fresh_read_and_key_listing_on_the_cache(
    storage, directory, tenants, clock, sealed, tenant_cache
):
    """Signup writes to Meta what cannot be undone, so a tenant suspended on another worker is refused even
    while this worker's cache shows it active; listing API keys may use the cache."""
    vault = CredentialVault(storage, sealed, tenant_cache, directory, clock)
    signup = WhatsAppSignup(storage, SignupStateCodec(b"s" * 32, clock), None, vault, directory)
    stale = await _stale(storage, directory, tenants, TenantStatus.SUSPENDED)
    with pytest.raises(tenant_core.TenantSuspendedError):
        await signup.start(SYSTEM, stale.id)
    keys = ApiKeyService(storage, ReadThrough(tenant_cache._cache, tenant_core.ApiKey), clock, directory)
    assert len(await keys.list(SYSTEM, stale.id)) == 1  # the first key, found through the cached directory


async def test_the_audit_log_outlives_a_soft_delete_through_the_directory(tenants, directory, storage):
    """The audit log asks ``directory.any``: a deleted tenant's log is still read, an unknown id is 404."""
    from tenant_core import AuditTrail

    created = (await tenants.create(SYSTEM, create_command())).tenant
    await tenants.update(SYSTEM, created.id, UpdateTenant(status=TenantStatus.DELETED))
    assert (await AuditTrail(storage, directory).list(SYSTEM, created.id)).total >= 2
    with pytest.raises(NotFoundError):
        await AuditTrail(storage, directory).list(SYSTEM, "t_0000000000000000")
    assert isinstance(directory, TenantDirectory)


# -- one table of routing keys ----------------------------------------------------------------------------


def test_routing_keys_are_one_table():
    """The cache keys, the ``tenant.routing_changed`` event, uniqueness and the resolution routes all follow
    ``ROUTING_KEYS``."""
    values = {key.field: f"v-{key.lookup}" for key in ROUTING_KEYS}
    before, after = tenant(), tenant(**values)
    assert keys_of([after]) == {id_key(after.id)} | {lookup_key(k.lookup, values[k.field]) for k in ROUTING_KEYS}
    events = events_for("tenant.updated", after.id, after.updated_at, before=before, after=after)
    routing = next(e for e in events if e.type == "tenant.routing_changed").data
    assert list(routing["current"]) == [wire_name(key.field) for key in ROUTING_KEYS]
    assert {key.field for key in ROUTING_KEYS} <= set(UNIQUE_FIELDS)
    assert RESOLUTION_ROUTES == {key.lookup: key.parameter for key in ROUTING_KEYS}


async def test_every_routing_key_resolves(tenants, resolver):
    """The resolver looks each key up through the one repository method."""
    created = (await tenants.create(SYSTEM, create_command(phone_number_id="p-1", genesys_integration_id="i-1",
                                                           genesys_org_id="o-1"))).tenant  # fmt: skip
    for key in ROUTING_KEYS:
        assert (await resolver.resolve(SYSTEM, key.lookup, getattr(created, key.field).upper())).id == created.id


# -- one token expiry -------------------------------------------------------------------------------------


def test_a_tokens_expiry_is_computed_once():
    """The earlier of the token's expiry and its data access expiry: the check's verdict and the health a
    view shows read the same function, so they cannot disagree."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    soon, later = now + timedelta(days=2), now + timedelta(days=60)
    assert token_expiry(later, soon) == soon and token_expiry(None, None) is None
    token = TokenInfo(is_valid=True, expires_at=later, data_access_expires_at=soon, scopes={})
    assert _token_checks(token, "waba", now)[0].detail == f"valid until {soon.isoformat()}"
    status = ConnectionStatus(token_checked=True, token_expires_at=later, data_access_expires_at=soon)
    assert status.expires_at() == soon and status.health(now) is TokenHealth.EXPIRING
    expired = TokenInfo(is_valid=True, expires_at=later, data_access_expires_at=now, scopes={})
    assert _token_checks(expired, "waba", now)[0].detail == "expired"
    assert msgspec.structs.replace(status, data_access_expires_at=now).health(now) is TokenHealth.INVALID
