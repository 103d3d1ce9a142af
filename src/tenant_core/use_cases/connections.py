"""Connection checks: do a tenant's stored credentials actually work?

What a check runs is its type's policy (:meth:`~tenant_core.credential_types.CredentialPolicy.check`: Genesys
in :mod:`tenant_core.credential_kinds.genesys`, WhatsApp in :mod:`tenant_core.credential_kinds.whatsapp`).
This use case decides who may run one, reads the tenant fresh, and keeps the outcome with the credential it
checked, with what it learned (the org, the number's display name and quality, the token's expiry).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from tenant_core.connections import ConnectionReport
from tenant_core.credential_kinds.genesys import GENESYS
from tenant_core.credential_kinds.whatsapp import WHATSAPP
from tenant_core.credential_registry import CREDENTIAL_POLICIES, credential_policy
from tenant_core.credential_types import CheckPorts, StoredCredentials
from tenant_core.entities import TenantQuery
from tenant_core.errors import ConflictError, FieldProblem, NotFoundError, ValidationFailedError
from tenant_core.lookup_cache import TenantDirectory
from tenant_core.ports import Clock, GenesysCloud, MetaGraph, Storage
from tenant_core.security import Permission, Principal
from tenant_core.use_cases.credential_writes import StoreOutcome
from tenant_core.use_cases.vault import CredentialVault


class ConnectionChecks:
    """Checks stored Genesys and WhatsApp credentials against the real services, and keeps the result."""

    def __init__(
        self,
        storage: Storage,
        vault: CredentialVault,
        directory: TenantDirectory,
        clock: Clock,
        genesys: GenesysCloud,
        graph: MetaGraph | None,
    ) -> None:
        """``graph`` is ``None`` when no Meta app is configured: WhatsApp checks then answer 503."""
        self._storage = storage
        self._vault = vault
        self._directory = directory
        self._ports = CheckPorts(genesys=genesys, graph=graph, tenants=storage.tenants, clock=clock)

    def can_check(self, kind: str) -> bool:
        """Whether connections of type ``kind`` can be checked with this configuration (WhatsApp needs the
        platform's Meta app)."""
        return credential_policy(kind).can_check(self._ports)

    def checkable(self) -> list[str]:
        """The registered types whose connections can be checked with this configuration."""
        return [policy.name for policy in CREDENTIAL_POLICIES if policy.can_check(self._ports)]

    async def verify(self, principal: Principal, tenant_id: str, kind: str) -> ConnectionReport:
        """Check the stored credential of type ``kind`` and keep the result with it."""
        principal.require(Permission.CONNECTIONS_VERIFY, tenant_id)
        policy = credential_policy(kind)
        stored = await self._stored(tenant_id, policy.name)
        # Read fresh: what the check binds (a Genesys org) is decided on the tenant as it is now.
        tenant = await self._directory.fresh.live(tenant_id)
        outcome = await policy.check(self._ports, stored.credentials, stored.status, tenant)
        await self._vault.record_check(principal, stored, outcome.status, outcome.refreshed, outcome.more_fields)
        return outcome.report

    async def verify_genesys(self, principal: Principal, tenant_id: str) -> ConnectionReport:
        return await self.verify(principal, tenant_id, GENESYS.name)

    async def verify_whatsapp(self, principal: Principal, tenant_id: str) -> ConnectionReport:
        return await self.verify(principal, tenant_id, WHATSAPP.name)

    async def store_verified(
        self, principal: Principal, tenant_id: str, kind: str, data: Any, where: str = ""
    ) -> StoreOutcome:
        """Store credentials only if they pass every check (``PUT /genesys/credentials?verify=true``).

        A check that clashes with another binding (an org other than the tenant's) is a
        :class:`ConflictError`; any other failed check is a :class:`ValidationFailedError` whose details are
        the failed checks. Nothing is stored then.
        """
        principal.require(Permission.CREDENTIALS_WRITE, tenant_id)
        principal.require(Permission.CONNECTIONS_VERIFY, tenant_id)
        policy = credential_policy(kind)
        credentials = policy.parse(data, where)
        tenant = await self._directory.fresh.live(tenant_id)
        outcome = await policy.check(self._ports, credentials, None, tenant)
        if outcome.conflict is not None:
            conflict = outcome.conflict
            raise ConflictError(f"{policy.label} credentials not stored: {conflict.message}", conflict.field)
        if failed := outcome.report.failed():
            details = [FieldProblem(check.name, check.detail) for check in failed]
            names = ", ".join(check.name for check in failed)
            raise ValidationFailedError(f"{policy.label} credentials not stored: the {names} check failed", details)
        checked = outcome.refreshed if outcome.refreshed is not None else credentials
        return await self._vault.store(
            principal, tenant_id, policy.name, checked, status=outcome.status, more_fields=outcome.more_fields
        )

    async def store_genesys(self, principal: Principal, tenant_id: str, data: Any, where: str = "") -> StoreOutcome:
        """:meth:`store_verified` for Genesys credentials."""
        return await self.store_verified(principal, tenant_id, GENESYS.name, data, where)

    async def configured(self, tenant_id: str | None = None, page: int = 100) -> AsyncIterator[tuple[str, str]]:
        """``(tenant id, credential type)`` of every stored credential of tenants not deleted (or of one)."""
        after: tuple[datetime, str] | None = None
        while True:
            if tenant_id is not None:
                batch = [await self._directory.fresh.live(tenant_id)]
            else:
                batch, _ = await self._storage.tenants.list(TenantQuery(limit=page, after=after))
            for tenant in batch:
                for kind in CREDENTIAL_POLICIES.names():
                    if await self._storage.credentials.get(tenant.id, kind) is not None:
                        yield tenant.id, kind
            if tenant_id is not None or len(batch) < page:
                return
            after = (batch[-1].created_at, batch[-1].id)

    async def _stored(self, tenant_id: str, kind: str) -> StoredCredentials:
        stored = await self._vault.opened(tenant_id, kind)
        if stored is None:
            raise NotFoundError(f"No {kind} credentials stored for tenant {tenant_id}")
        return stored
