"""The credential vault: store, read masked, reveal (audited) and delete credentials (sealed at rest)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from tenant_core.audit import AuditAction, record
from tenant_core.connections import ConnectionStatus, TokenHealth
from tenant_core.credential_types import (
    CREDENTIAL_TYPES,
    Credentials,
    CredentialType,
    SealedCredentials,
    StoredCredentials,
    WhatsAppCredentials,
    field_names,
    masked,
    parse_credentials,
)
from tenant_core.entities import Tenant
from tenant_core.errors import NotFoundError
from tenant_core.lookup_cache import TenantCache, TenantDirectory
from tenant_core.ports import Clock, Storage, UnitOfWork
from tenant_core.sealed_kinds import CREDENTIALS
from tenant_core.sealing import SealedValues
from tenant_core.security import Permission, Principal, Role
from tenant_core.tenant_writer import Compute, TenantWriter


class MaskedCredentials(msgspec.Struct, frozen=True):
    """A credential as shown to readers: every secret field replaced by ``****`` + last 4, and what is known
    of its connection (``health`` is the WhatsApp token's)."""

    type: CredentialType
    credentials: dict[str, Any]
    updated_at: datetime
    status: ConnectionStatus | None = None
    health: TokenHealth | None = None


class CredentialsRead(msgspec.Struct, frozen=True):
    """A credential as one caller may see it: secrets in clear (``clear``) or masked. Wire names."""

    type: CredentialType
    credentials: dict[str, Any]
    updated_at: datetime
    clear: bool


class MetaCredentials(msgspec.Struct, frozen=True):
    """What the WhatsApp services need to call Graph and check Meta's webhook signatures, in clear."""

    access_token: str
    phone_number_id: str
    waba_id: str
    app_secret: str | None


class StoreOutcome(msgspec.Struct, frozen=True):
    """A stored credential's effect on the tenant; ``unbound`` lists routing keys that were *not* moved."""

    tenant: Tenant
    unbound: list[str]


def credentials_ref(tenant_id: str, kind: CredentialType) -> tuple[str, str]:
    """The record a credential is sealed for (:data:`~tenant_core.sealed_kinds.CREDENTIALS`): copied to another
    tenant or type, its ciphertext no longer opens."""
    return (tenant_id, kind.value)


def associated_data(tenant_id: str, kind: CredentialType) -> bytes:
    """The associated data binding a credential's ciphertext to its row."""
    return CREDENTIALS.associated_data(credentials_ref(tenant_id, kind))


def tenant_fields_for(credentials: Credentials, principal: Principal) -> dict[str, Any]:
    """What storing this credential changes on the tenant (denormalized for resolution).

    Routing keys decide whose traffic a tenant receives, so a tenant principal never moves them: its phone
    number is bound by a completed Embedded Signup (Meta proved ownership), its integration id by an admin
    or a service. Everything else about the credential is stored all the same.
    """
    binds_routing = principal.role is not Role.TENANT
    if isinstance(credentials, WhatsAppCredentials):
        if not binds_routing:
            return {}
        number = credentials.phone_number_id  # None: a WABA without a number yet, which routes nothing
        return {"phone_number_id": number, "whatsapp_configured": number is not None}
    fields: dict[str, Any] = {"genesys_region": credentials.region}
    if credentials.integration_id is not None and binds_routing:
        fields["genesys_integration_id"] = credentials.integration_id
    return fields


def unbound_routing_keys(credentials: Credentials, tenant: Tenant) -> list[str]:
    """Routing keys the credential names that the tenant does not carry (wire names)."""
    wanted = (
        {"phoneNumberId": (credentials.phone_number_id, tenant.phone_number_id)}
        if isinstance(credentials, WhatsAppCredentials)
        else {"genesysIntegrationId": (credentials.integration_id, tenant.genesys_integration_id)}
    )
    return [name for name, (sent, bound) in wanted.items() if sent is not None and sent != bound]


def tenant_fields_on_delete(kind: CredentialType) -> dict[str, Any]:
    """Deleting WhatsApp releases the number; Genesys fields stay on the tenant (they are its own settings)."""
    if kind is CredentialType.WHATSAPP:
        return {"phone_number_id": None, "whatsapp_configured": False}
    return {}


#: Services read credentials on every message; one audit row per service, tenant and type per window
#: (per worker) says who read what and when without a row per message.
SERVICE_READ_AUDIT_WINDOW_SECONDS = 60.0


class _ReadAudit:
    """Decides which clear reads get an audit row: every one, except repeats by a service within the window."""

    def __init__(self, window_seconds: float = SERVICE_READ_AUDIT_WINDOW_SECONDS, max_tracked: int = 100_000) -> None:
        self._window = window_seconds
        self._max_tracked = max_tracked
        self._last: dict[tuple[str, str, str], float] = {}

    def due(self, principal: Principal, tenant_id: str, what: str) -> bool:
        if principal.role is not Role.SERVICE:
            return True
        key, now = (principal.subject, tenant_id, what), time.monotonic()
        if now - self._last.get(key, float("-inf")) < self._window:
            return False
        if len(self._last) >= self._max_tracked:  # bounded: forget the oldest half
            for stale in list(self._last)[: len(self._last) // 2]:
                del self._last[stale]
        self._last[key] = now
        return True


class CredentialVault:
    """Stores, masks, reveals and deletes a tenant's credentials, sealed at rest; clear reads are audited."""

    def __init__(
        self,
        storage: Storage,
        sealed: SealedValues,
        tenant_cache: TenantCache,
        clock: Clock,
        meta_app_secret: str | None = None,
    ) -> None:
        """``meta_app_secret`` is the platform's Meta app secret, handed out when a tenant has no app of its own."""
        self._storage = storage
        self._sealed = sealed
        self._directory = TenantDirectory(storage.tenants, tenant_cache)
        self._clock = clock
        self._meta_app_secret = meta_app_secret
        self._writer = TenantWriter(storage, tenant_cache, clock)
        self._read_audit = _ReadAudit()

    async def store(
        self,
        principal: Principal,
        tenant_id: str,
        kind: CredentialType,
        data: Any,
        where: str = "credentials.",
        *,
        status: ConnectionStatus | None = None,
        more_fields: Compute | None = None,
    ) -> StoreOutcome:
        """Replace the tenant's credential of this type and update the tenant's denormalized fields, atomically.

        A phone number owned by another tenant is a ConflictError and nothing changes. Tenant principals
        store the values without moving routing keys (see :func:`tenant_fields_for`); ``unbound`` says which.
        Validation errors name fields as ``<where><field>``. ``status`` and ``more_fields``: see
        :meth:`store_in_transaction`.
        """
        principal.require(Permission.CREDENTIALS_WRITE, tenant_id)
        credentials = parse_credentials(kind, data, where)
        action = AuditAction.CREDENTIALS_STORED
        tenant = await self.store_in_transaction(
            principal, tenant_id, credentials, action, status=status, more_fields=more_fields
        )
        return StoreOutcome(tenant=tenant, unbound=unbound_routing_keys(credentials, tenant))

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
        kind = next(k for k, t in CREDENTIAL_TYPES.items() if isinstance(credentials, t))
        ref = credentials_ref(tenant_id, kind)
        key_id, ciphertext = self._sealed.seal(CREDENTIALS, ref, msgspec.json.encode(credentials))
        fields = tenant_fields_for(credentials, binding or principal)

        def compute(tenant: Tenant) -> dict[str, Any]:
            return fields if more_fields is None else {**more_fields(tenant), **fields}

        async def put(uow: UnitOfWork, tenant: Tenant) -> Iterable[str]:
            sealed = SealedCredentials(tenant_id, kind, key_id, ciphertext, self._clock.now(), status)
            await uow.credentials.put(sealed)
            return [f"credentials.{kind.value}.{name}" for name in field_names(credentials)]

        detail = {"credentialType": kind.value}
        return await self._writer.change(principal, action, tenant_id, compute, also=put, detail=detail)

    async def view(self, principal: Principal, tenant_id: str, kind: CredentialType) -> MaskedCredentials | None:
        """The masked credential, or ``None`` when the (existing) tenant has none of this type."""
        principal.require(Permission.CREDENTIALS_READ, tenant_id)
        stored = await self._open(tenant_id, kind)
        if stored is None:
            return None
        health = None
        if kind is CredentialType.WHATSAPP:
            health = (stored.status or ConnectionStatus()).health(self._clock.now())
        shown = masked(stored.credentials)
        return MaskedCredentials(kind, shown, stored.updated_at, stored.status, health)

    async def read(
        self, principal: Principal, tenant_id: str, kind: CredentialType, reveal: bool = False
    ) -> CredentialsRead:
        """The credential as this caller may see it.

        Services use secrets on every message, so they read them in clear; an admin reads them in clear only
        when asking to ``reveal``; a tenant never does. Clear reads are audited (a service's are coalesced).
        """
        principal.require(Permission.CREDENTIALS_READ, tenant_id)
        clear = principal.role is Role.SERVICE or reveal
        if clear:
            principal.require(Permission.CREDENTIALS_REVEAL, tenant_id)
        stored = await self._open(tenant_id, kind)
        if stored is None:
            raise NotFoundError(f"No {kind.value} credentials stored for tenant {tenant_id}")
        if clear:
            await self._audit_clear_read(principal, tenant_id, f"credentials.{kind.value}")
        shown = msgspec.to_builtins(stored.credentials) if clear else masked(stored.credentials)
        return CredentialsRead(type=kind, credentials=shown, updated_at=stored.updated_at, clear=clear)

    async def reveal(self, principal: Principal, tenant_id: str, kind: CredentialType) -> StoredCredentials:
        """Secrets in clear, for in-process callers that use them. Audited like every clear read."""
        principal.require(Permission.CREDENTIALS_REVEAL, tenant_id)
        stored = await self._open(tenant_id, kind)
        if stored is None:
            raise NotFoundError(f"No {kind.value} credentials stored for tenant {tenant_id}")
        await self._audit_clear_read(principal, tenant_id, f"credentials.{kind.value}")
        return stored

    async def meta(self, principal: Principal, tenant_id: str) -> MetaCredentials:
        """The WhatsApp connection's token and ids, and the app secret that signs its webhooks, in clear.

        ``app_secret`` is the tenant's own Meta app's if stored, else the platform's, else ``None``.
        """
        principal.require(Permission.CREDENTIALS_REVEAL, tenant_id)
        stored = await self._open(tenant_id, CredentialType.WHATSAPP)
        if stored is None or not isinstance(whatsapp := stored.credentials, WhatsAppCredentials):
            raise NotFoundError(f"WhatsApp is not configured for tenant {tenant_id}")
        if whatsapp.phone_number_id is None:
            raise NotFoundError(f"WhatsApp for tenant {tenant_id} has a business account but no phone number yet")
        await self._audit_clear_read(principal, tenant_id, "credentials.whatsapp")
        return MetaCredentials(
            access_token=whatsapp.access_token,
            phone_number_id=whatsapp.phone_number_id,
            waba_id=whatsapp.waba_id,
            app_secret=whatsapp.app_secret or self._meta_app_secret,
        )

    async def delete(self, principal: Principal, tenant_id: str, kind: CredentialType) -> Tenant:
        principal.require(Permission.CREDENTIALS_WRITE, tenant_id)

        async def remove(uow: UnitOfWork, tenant: Tenant) -> Iterable[str]:
            if not await uow.credentials.remove(tenant_id, kind):
                raise NotFoundError(f"No {kind.value} credentials stored for tenant {tenant_id}")
            return [f"credentials.{kind.value}"]

        return await self._writer.change(
            principal,
            AuditAction.CREDENTIALS_DELETED,
            tenant_id,
            lambda t: tenant_fields_on_delete(kind),
            also=remove,
            detail={"credentialType": kind.value},
        )

    async def opened(self, tenant_id: str, kind: CredentialType) -> StoredCredentials | None:
        """The credential in clear for a use case that uses it without showing it (a connection check).
        Not audited as a reveal and not permission-checked: the caller checks its own permission."""
        return await self._open(tenant_id, kind)

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
        so a check never overwrites a credential replaced while it ran.
        """
        tenant_id, kind = checked.tenant_id, checked.type

        def compute(tenant: Tenant) -> dict[str, Any]:
            return {} if more_fields is None else more_fields(tenant)

        async def keep(uow: UnitOfWork, tenant: Tenant) -> Iterable[str]:
            current = await uow.credentials.get(tenant_id, kind)
            if current is None or current.updated_at != checked.updated_at:
                return []  # replaced meanwhile: this check is about values no longer stored
            if refreshed is None or refreshed == checked.credentials:
                await uow.credentials.record_status(tenant_id, kind, checked.updated_at, status)
                return []  # what the service knows changed, not the credential: nothing to audit
            ref = credentials_ref(tenant_id, kind)
            key_id, ciphertext = self._sealed.seal(CREDENTIALS, ref, msgspec.json.encode(refreshed))
            await uow.credentials.put(SealedCredentials(tenant_id, kind, key_id, ciphertext, self._clock.now(), status))
            before, after = msgspec.to_builtins(checked.credentials), msgspec.to_builtins(refreshed)
            return [f"credentials.{kind.value}.{name}" for name in after if before.get(name) != after[name]]

        # A refreshed credential is a credential change; otherwise only the tenant's fields can change.
        action = AuditAction.TENANT_UPDATED if refreshed is None else AuditAction.CREDENTIALS_STORED
        detail = None if refreshed is None else {"credentialType": kind.value}
        return await self._writer.change(principal, action, tenant_id, compute, also=keep, detail=detail)

    async def _audit_clear_read(self, principal: Principal, tenant_id: str, what: str) -> None:
        if not self._read_audit.due(principal, tenant_id, what):
            return
        async with self._storage.unit_of_work() as uow:
            await record(uow, self._clock, principal, AuditAction.CREDENTIALS_REVEALED, tenant_id, [what])

    async def _open(self, tenant_id: str, kind: CredentialType) -> StoredCredentials | None:
        await self._directory.live(tenant_id)
        sealed = await self._storage.credentials.get(tenant_id, kind)
        if sealed is None:
            return None
        ref, type_ = credentials_ref(tenant_id, kind), CREDENTIAL_TYPES[kind]
        credentials = self._sealed.decode(CREDENTIALS, ref, sealed.key_id, sealed.ciphertext, type_)
        return StoredCredentials(tenant_id, kind, credentials, sealed.updated_at, sealed.status)
