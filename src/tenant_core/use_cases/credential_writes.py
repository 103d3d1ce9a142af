"""Changing a tenant's credentials: store, delete, and keep a connection check's outcome with them.

Every change goes through :class:`~tenant_core.tenant_writer.TenantWriter`, so the sealed credential, the
tenant fields its type sets (its policy's :meth:`~tenant_core.credential_types.CredentialPolicy.on_store`
and ``on_delete``), the audit row and the change events commit together.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from tenant_core.audit import AuditAction, record
from tenant_core.connection_news import after_check
from tenant_core.connections import ConnectionStatus
from tenant_core.credential_records import seal_credentials
from tenant_core.credential_registry import CREDENTIAL_POLICIES, credential_policy
from tenant_core.credential_types import Credentials, StoredCredentials, field_names
from tenant_core.entities import Tenant
from tenant_core.errors import NotFoundError
from tenant_core.lookup_cache import TenantCache
from tenant_core.ports import Clock, Storage, UnitOfWork
from tenant_core.sealing import SealedValues
from tenant_core.security import Permission, Principal, Role
from tenant_core.tenant_writer import Compute, TenantWriter


class StoreOutcome(msgspec.Struct, frozen=True):
    """A stored credential's effect on the tenant; ``unbound`` lists routing keys that were *not* moved."""

    tenant: Tenant
    unbound: list[str]


def binds_routing(principal: Principal) -> bool:
    """Routing keys decide whose traffic a tenant receives, so a tenant principal never moves them: its phone
    number is bound by a completed Embedded Signup (Meta proved ownership), its integration id by an admin or
    a service. Everything else about the credential is stored all the same."""
    return principal.role is not Role.TENANT


class CredentialWrites:
    """Store and delete credentials, and record connection checks (the vault's writes)."""

    def __init__(self, storage: Storage, sealed: SealedValues, tenant_cache: TenantCache, clock: Clock) -> None:
        self._sealed = sealed
        self._clock = clock
        self._writer = TenantWriter(storage, tenant_cache, clock)

    async def store(
        self,
        principal: Principal,
        tenant_id: str,
        kind: str,
        data: Any,
        where: str = "credentials.",
        *,
        status: ConnectionStatus | None = None,
        more_fields: Compute | None = None,
    ) -> StoreOutcome:
        """Replace the tenant's credential of type ``kind`` and update the tenant's fields, atomically.

        A phone number owned by another tenant is a ConflictError and nothing changes. Tenant principals
        store the values without moving routing keys (see :func:`binds_routing`); ``unbound`` says which.
        Validation errors name fields as ``<where><field>``. ``status`` and ``more_fields``: see
        :meth:`store_in_transaction`.
        """
        principal.require(Permission.CREDENTIALS_WRITE, tenant_id)
        policy = credential_policy(kind)
        credentials = policy.parse(data, where)
        action = AuditAction.CREDENTIALS_STORED
        tenant = await self.store_in_transaction(
            principal, tenant_id, credentials, action, status=status, more_fields=more_fields
        )
        return StoreOutcome(tenant=tenant, unbound=policy.unbound(credentials, tenant))

    async def store_in_transaction(
        self,
        principal: Principal,
        tenant_id: str,
        credentials: Credentials,
        action: AuditAction,
        binding: Principal | None = None,
        status: ConnectionStatus | None = None,
        more_fields: Compute | None = None,
    ) -> Tenant:
        """Store already-validated credentials (WhatsApp signup uses this with its own audit action).

        ``binding`` is whose authority moves routing keys, when not the acting principal's own (a completed
        signup binds the number Meta vouched for, whoever started it). ``status`` is what is known of the
        connection; ``more_fields`` computes further tenant fields from the current tenant (a verified
        Genesys org fills empty org fields).
        """
        policy = CREDENTIAL_POLICIES.of(credentials)
        record = seal_credentials(self._sealed, tenant_id, credentials, self._clock.now(), status)
        fields = policy.on_store(credentials, binds_routing(binding or principal))

        def compute(tenant: Tenant) -> dict[str, Any]:
            return fields if more_fields is None else {**more_fields(tenant), **fields}

        async def put(uow: UnitOfWork, tenant: Tenant) -> Iterable[str]:
            await uow.credentials.put(record)
            return [f"credentials.{policy.name}.{name}" for name in field_names(credentials)]

        detail = {"credentialType": policy.name}
        return await self._writer.change(principal, action, tenant_id, compute, also=put, detail=detail)

    async def delete(self, principal: Principal, tenant_id: str, kind: str) -> Tenant:
        """Delete the tenant's credential of type ``kind``, and release what its type releases on the tenant."""
        principal.require(Permission.CREDENTIALS_WRITE, tenant_id)
        policy = credential_policy(kind)

        async def remove(uow: UnitOfWork, tenant: Tenant) -> Iterable[str]:
            if not await uow.credentials.remove(tenant_id, policy.name):
                raise NotFoundError(f"No {policy.name} credentials stored for tenant {tenant_id}")
            return [f"credentials.{policy.name}"]

        return await self._writer.change(
            principal,
            AuditAction.CREDENTIALS_DELETED,
            tenant_id,
            lambda t: policy.on_delete(),
            also=remove,
            detail={"credentialType": policy.name},
        )

    async def record_check(
        self,
        principal: Principal,
        checked: StoredCredentials,
        status: ConnectionStatus,
        refreshed: Credentials | None = None,
        more_fields: Compute | None = None,
    ) -> Tenant:
        """Keep a check's outcome with the credential it checked, and what it learned, in one transaction.

        ``refreshed`` replaces the credential's non-secret facts (a number's display name, its quality) and
        ``more_fields`` fills tenant fields; both only while the checked credential is still the one stored,
        so a check never overwrites a credential replaced while it ran. A change of health is announced in the
        same transaction (:func:`~tenant_core.connection_news.after_check`).
        """
        tenant_id, kind = checked.tenant_id, checked.type

        def compute(tenant: Tenant) -> dict[str, Any]:
            return {} if more_fields is None else more_fields(tenant)

        async def keep(uow: UnitOfWork, tenant: Tenant) -> Iterable[str]:
            current = await uow.credentials.get(tenant_id, kind)  # held to the commit: one check's news at a time
            if current is None or current.updated_at != checked.updated_at:
                return []  # replaced meanwhile: this check is about values no longer stored
            kept, news = after_check(kind, current.status, status, self._clock.now())
            for item in news:
                await record(uow, self._clock, principal, item.action, tenant_id, item.changes, detail=item.detail)
            if refreshed is None or refreshed == checked.credentials:
                await uow.credentials.record_status(tenant_id, kind, checked.updated_at, kept)
                return []  # what the service knows changed, not the credential: nothing more to audit
            await uow.credentials.put(seal_credentials(self._sealed, tenant_id, refreshed, self._clock.now(), kept))
            before, after = msgspec.to_builtins(checked.credentials), msgspec.to_builtins(refreshed)
            return [f"credentials.{kind}.{name}" for name in after if before.get(name) != after[name]]

        # A refreshed credential is a credential change; otherwise only the tenant's fields can change.
        action = AuditAction.TENANT_UPDATED if refreshed is None else AuditAction.CREDENTIALS_STORED
        detail = None if refreshed is None else {"credentialType": kind}
        return await self._writer.change(principal, action, tenant_id, compute, also=keep, detail=detail)
