"""Reading a tenant's credentials: masked for anyone allowed to read them, in clear only for those allowed to
reveal them, and every clear read audited (a service's coalesced per minute)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import msgspec

from tenant_core.audit import AuditAction, record
from tenant_core.connections import ConnectionStatus, TokenHealth
from tenant_core.credential_kinds.whatsapp import WHATSAPP
from tenant_core.credential_records import open_credentials
from tenant_core.credential_registry import credential_policy
from tenant_core.credential_types import StoredCredentials
from tenant_core.errors import NotFoundError
from tenant_core.lookup_cache import TenantDirectory
from tenant_core.ports import Clock, Storage
from tenant_core.sealing import SealedValues
from tenant_core.security import Permission, Principal, Role


class MaskedCredentials(msgspec.Struct, frozen=True):
    """A credential as shown to readers: every secret field replaced by ``****`` + last 4, and what is known
    of its connection (``health``, for types that have one: the WhatsApp token's)."""

    type: str
    credentials: dict[str, Any]
    updated_at: datetime
    status: ConnectionStatus | None = None
    health: TokenHealth | None = None


class CredentialsRead(msgspec.Struct, frozen=True):
    """A credential as one caller may see it: secrets in clear (``clear``) or masked. Wire names."""

    type: str
    credentials: dict[str, Any]
    updated_at: datetime
    clear: bool


class MetaCredentials(msgspec.Struct, frozen=True):
    """What the WhatsApp services need to call Graph and check Meta's webhook signatures, in clear."""

    access_token: str
    phone_number_id: str
    waba_id: str
    app_secret: str | None


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


class CredentialReads:
    """The vault's reads: :meth:`view` (masked), :meth:`read` (as the caller may see it), :meth:`reveal` and
    :meth:`meta` (in clear, audited) and :meth:`opened` (in clear, for a use case that checks them)."""

    def __init__(
        self,
        storage: Storage,
        sealed: SealedValues,
        directory: TenantDirectory,
        clock: Clock,
        meta_app_secret: str | None = None,
    ) -> None:
        """``meta_app_secret`` is the platform's Meta app secret, handed out when a tenant has no app of its own."""
        self._storage = storage
        self._sealed = sealed
        self._directory = directory
        self._clock = clock
        self._meta_app_secret = meta_app_secret
        self._read_audit = _ReadAudit()

    async def view(self, principal: Principal, tenant_id: str, kind: str) -> MaskedCredentials | None:
        """The masked credential, or ``None`` when the (existing) tenant has none of this type."""
        principal.require(Permission.CREDENTIALS_READ, tenant_id)
        policy = credential_policy(kind)
        stored = await self.opened(tenant_id, kind)
        if stored is None:
            return None
        health = policy.health(stored.status, self._clock.now())
        shown = policy.masked(stored.credentials)
        return MaskedCredentials(policy.name, shown, stored.updated_at, stored.status, health)

    async def read(self, principal: Principal, tenant_id: str, kind: str, reveal: bool = False) -> CredentialsRead:
        """The credential as this caller may see it.

        Services use secrets on every message, so they read them in clear; an admin reads them in clear only
        when asking to ``reveal``; a tenant never does. Clear reads are audited (a service's are coalesced).
        """
        principal.require(Permission.CREDENTIALS_READ, tenant_id)
        if principal.role is Role.SERVICE or reveal:
            stored = await self.reveal(principal, tenant_id, kind)
            shown, clear = msgspec.to_builtins(stored.credentials), True
        else:
            stored = await self._stored(tenant_id, kind)
            shown, clear = credential_policy(kind).masked(stored.credentials), False
        return CredentialsRead(type=stored.type, credentials=shown, updated_at=stored.updated_at, clear=clear)

    async def reveal(self, principal: Principal, tenant_id: str, kind: str) -> StoredCredentials:
        """Secrets in clear, for in-process callers that use them. Audited like every clear read."""
        principal.require(Permission.CREDENTIALS_REVEAL, tenant_id)
        stored = await self._stored(tenant_id, kind)
        await self._audit_clear_read(principal, tenant_id, f"credentials.{stored.type}")
        return stored

    async def meta(self, principal: Principal, tenant_id: str) -> MetaCredentials:
        """The WhatsApp connection's token and ids, and the app secret that signs its webhooks, in clear.

        ``app_secret`` is the tenant's own Meta app's if stored, else the platform's, else ``None``.
        """
        principal.require(Permission.CREDENTIALS_REVEAL, tenant_id)
        stored = await self.opened(tenant_id, WHATSAPP.name)
        if stored is None:
            raise NotFoundError(f"WhatsApp is not configured for tenant {tenant_id}")
        whatsapp = stored.credentials
        if whatsapp.phone_number_id is None:
            raise NotFoundError(f"WhatsApp for tenant {tenant_id} has a business account but no phone number yet")
        await self._audit_clear_read(principal, tenant_id, f"credentials.{WHATSAPP.name}")
        return MetaCredentials(
            access_token=whatsapp.access_token,
            phone_number_id=whatsapp.phone_number_id,
            waba_id=whatsapp.waba_id,
            app_secret=whatsapp.app_secret or self._meta_app_secret,
        )

    async def opened(self, tenant_id: str, kind: str) -> StoredCredentials | None:
        """The credential in clear for a use case that uses it without showing it (a connection check), or
        ``None`` when the live tenant has none. Not audited as a reveal and not permission-checked: the caller
        checks its own permission."""
        policy = credential_policy(kind)
        await self._directory.live(tenant_id)
        record = await self._storage.credentials.get(tenant_id, policy.name)
        return None if record is None else open_credentials(self._sealed, record)

    async def _stored(self, tenant_id: str, kind: str) -> StoredCredentials:
        stored = await self.opened(tenant_id, kind)
        if stored is None:
            raise NotFoundError(f"No {kind} credentials stored for tenant {tenant_id}")
        return stored

    async def _audit_clear_read(self, principal: Principal, tenant_id: str, what: str) -> None:
        if not self._read_audit.due(principal, tenant_id, what):
            return
        async with self._storage.unit_of_work() as uow:
            await record(uow, self._clock, principal, AuditAction.CREDENTIALS_REVEALED, tenant_id, [what])
