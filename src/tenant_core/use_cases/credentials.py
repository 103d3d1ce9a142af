"""The credential vault: store, read masked, reveal (audited), delete, and rotate the encryption key."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import msgspec

from tenant_core.audit import AuditAction, record
from tenant_core.credentials import (
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
from tenant_core.entities import Tenant, TenantStatus
from tenant_core.errors import CredentialsUnreadableError, NotFoundError
from tenant_core.lookup_cache import TenantCache, id_key
from tenant_core.ports import Clock, SecretCipher, Storage, UnitOfWork
from tenant_core.security import Permission, Principal
from tenant_core.tenant_writer import TenantWriter


class MaskedCredentials(msgspec.Struct, frozen=True):
    """A credential as shown to readers: every secret field replaced by ``****`` + last 4."""

    type: CredentialType
    credentials: dict[str, Any]
    updated_at: datetime


def associated_data(tenant_id: str, kind: CredentialType) -> bytes:
    """Binds a ciphertext to its row: copied to another tenant or type, it no longer decrypts."""
    return f"tenant-service/credentials/v1:{tenant_id}:{kind.value}".encode()


def tenant_fields_for(credentials: Credentials) -> dict[str, Any]:
    """What storing this credential changes on the tenant (denormalized for resolution)."""
    if isinstance(credentials, WhatsAppCredentials):
        return {"phone_number_id": credentials.phone_number_id, "whatsapp_configured": True}
    fields: dict[str, Any] = {"genesys_region": credentials.region}
    if credentials.integration_id is not None:
        fields["genesys_integration_id"] = credentials.integration_id
    return fields


def tenant_fields_on_delete(kind: CredentialType) -> dict[str, Any]:
    """Deleting WhatsApp releases the number; Genesys fields stay on the tenant (they are its own settings)."""
    if kind is CredentialType.WHATSAPP:
        return {"phone_number_id": None, "whatsapp_configured": False}
    return {}


class CredentialVault:
    def __init__(self, storage: Storage, cipher: SecretCipher, tenant_cache: TenantCache, clock: Clock) -> None:
        self._storage = storage
        self._cipher = cipher
        self._tenant_cache = tenant_cache
        self._clock = clock
        self._writer = TenantWriter(storage, tenant_cache, clock)

    async def store(self, principal: Principal, tenant_id: str, kind: CredentialType, data: Any) -> Tenant:
        """Replace the tenant's credential of this type and update the tenant's denormalized fields, atomically.

        Returns the tenant as changed. A phone number owned by another tenant is a ConflictError and
        nothing changes.
        """
        principal.require(Permission.CREDENTIALS_WRITE, tenant_id)
        credentials = parse_credentials(kind, data)
        return await self.store_in_transaction(principal, tenant_id, credentials, AuditAction.CREDENTIALS_STORED)

    async def store_in_transaction(
        self,
        principal: Principal,
        tenant_id: str,
        credentials: Credentials,
        action: AuditAction,
    ) -> Tenant:
        """Store already-validated credentials (WhatsApp signup uses this with its own audit action)."""
        kind = next(k for k, t in CREDENTIAL_TYPES.items() if isinstance(credentials, t))
        key_id, ciphertext = self._cipher.seal(msgspec.json.encode(credentials), associated_data(tenant_id, kind))

        async def put(uow: UnitOfWork, tenant: Tenant) -> Iterable[str]:
            await uow.credentials.put(SealedCredentials(tenant_id, kind, key_id, ciphertext, self._clock.now()))
            return [f"credentials.{kind.value}.{name}" for name in field_names(credentials)]

        return await self._writer.change(
            principal, action, tenant_id, lambda t: tenant_fields_for(credentials), also=put
        )

    async def view(self, principal: Principal, tenant_id: str, kind: CredentialType) -> MaskedCredentials | None:
        """The masked credential, or ``None`` when the (existing) tenant has none of this type."""
        principal.require(Permission.CREDENTIALS_READ, tenant_id)
        stored = await self._open(tenant_id, kind)
        if stored is None:
            return None
        return MaskedCredentials(type=kind, credentials=masked(stored.credentials), updated_at=stored.updated_at)

    async def reveal(self, principal: Principal, tenant_id: str, kind: CredentialType) -> StoredCredentials:
        """Secrets in clear, for services that use them. Every reveal is written to the audit log."""
        principal.require(Permission.CREDENTIALS_REVEAL, tenant_id)
        stored = await self._open(tenant_id, kind)
        if stored is None:
            raise NotFoundError(f"No {kind.value} credentials stored for tenant {tenant_id}")
        async with self._storage.unit_of_work() as uow:
            await record(
                uow, self._clock, principal, AuditAction.CREDENTIALS_REVEALED, tenant_id, [f"credentials.{kind.value}"]
            )
        return stored

    async def delete(self, principal: Principal, tenant_id: str, kind: CredentialType) -> Tenant:
        principal.require(Permission.CREDENTIALS_WRITE, tenant_id)

        async def remove(uow: UnitOfWork, tenant: Tenant) -> Iterable[str]:
            if not await uow.credentials.remove(tenant_id, kind):
                raise NotFoundError(f"No {kind.value} credentials stored for tenant {tenant_id}")
            return [f"credentials.{kind.value}"]

        return await self._writer.change(
            principal, AuditAction.CREDENTIALS_DELETED, tenant_id, lambda t: tenant_fields_on_delete(kind), also=remove
        )

    async def _open(self, tenant_id: str, kind: CredentialType) -> StoredCredentials | None:
        tenant = await self._tenant_cache.get_or_load(id_key(tenant_id), lambda: self._storage.tenants.get(tenant_id))
        if tenant is None or tenant.status is TenantStatus.DELETED:
            raise NotFoundError(f"Tenant {tenant_id} not found")
        sealed = await self._storage.credentials.get(tenant_id, kind)
        if sealed is None:
            return None
        plaintext = self._cipher.open(sealed.key_id, sealed.ciphertext, associated_data(tenant_id, kind))
        try:
            credentials = msgspec.json.decode(plaintext, type=CREDENTIAL_TYPES[kind])
        except msgspec.DecodeError:
            raise CredentialsUnreadableError("Stored credentials are not in the expected format") from None
        return StoredCredentials(tenant_id, kind, credentials, sealed.updated_at)


class RotationReport(msgspec.Struct, frozen=True):
    resealed: int
    unreadable: list[tuple[str, str]]  # (tenant id, type) of records no configured key opens
    remaining: int


class CredentialKeyRotation:
    """Re-encrypt every credential under the cipher's current key, in batches; safe to interrupt and rerun."""

    def __init__(self, storage: Storage, cipher: SecretCipher) -> None:
        self._storage = storage
        self._cipher = cipher

    async def pending(self) -> int:
        return await self._storage.credentials.count_sealed_with_other_keys(self._cipher.current_key_id)

    async def rotate(self, batch_size: int = 100, on_progress: Callable[[int], None] | None = None) -> RotationReport:
        current = self._cipher.current_key_id
        resealed, unreadable, after = 0, [], None
        while batch := await self._storage.credentials.sealed_with_other_keys(current, after, batch_size):
            for sealed in batch:
                aad = associated_data(sealed.tenant_id, sealed.type)
                try:
                    plaintext = self._cipher.open(sealed.key_id, sealed.ciphertext, aad)
                except CredentialsUnreadableError:
                    unreadable.append((sealed.tenant_id, sealed.type.value))
                    continue
                key_id, ciphertext = self._cipher.seal(plaintext, aad)
                if await self._storage.credentials.reseal(sealed, key_id, ciphertext):
                    resealed += 1
            after = (batch[-1].tenant_id, batch[-1].type.value)
            if on_progress is not None:
                on_progress(resealed + len(unreadable))
        return RotationReport(resealed=resealed, unreadable=unreadable, remaining=await self.pending())
