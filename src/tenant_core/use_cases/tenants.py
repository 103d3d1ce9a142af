"""Tenant lifecycle: create, read, list, update, delete, complete onboarding."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any

import msgspec

from tenant_core.api_key_secrets import issue_in
from tenant_core.audit import AuditAction, record
from tenant_core.commands import CompleteOnboarding, CreateTenant, UpdateTenant
from tenant_core.entities import (
    IDEMPOTENCY_WINDOW,
    CreatedTenant,
    IdempotencyRecord,
    IssuedApiKey,
    Settings,
    Tenant,
    TenantPage,
    TenantQuery,
    new_tenant,
    wire_name,
)
from tenant_core.errors import (
    ConflictError,
    CredentialsUnreadableError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
)
from tenant_core.lookup_cache import TenantCache, TenantDirectory
from tenant_core.paging import encode_cursor, page_window, tenant_position
from tenant_core.ports import Clock, Storage, UnitOfWork
from tenant_core.sealed_kinds import IDEMPOTENCY_API_KEYS
from tenant_core.sealing import SealedValues
from tenant_core.security import TENANT_SELF_EDITABLE, Permission, Principal, Role
from tenant_core.tenant_writer import TenantWriter
from tenant_core.validation import validated


def new_tenant_id() -> str:
    """``t_`` + 16 lowercase hex characters from a CSPRNG."""
    return "t_" + secrets.token_hex(8)


def _idempotency_ref(remembered: IdempotencyRecord) -> tuple[str, str, str]:
    return (remembered.scope, remembered.key, remembered.tenant_id)


def fingerprint(command: msgspec.Struct) -> str:
    return hashlib.sha256(msgspec.json.encode(command)).hexdigest()


class TenantService:
    """The rules of a tenant's life. Every method takes the calling :class:`Principal` first."""

    def __init__(
        self,
        storage: Storage,
        cache: TenantCache,
        directory: TenantDirectory,
        clock: Clock,
        new_id: Callable[[], str] = new_tenant_id,
        sealed: SealedValues | None = None,
    ) -> None:
        """``sealed`` keeps the first API key sealed for Idempotency-Key replays; without it a replay
        returns ``api_key=None``."""
        self._storage = storage
        self._sealed = sealed
        self._cache = cache
        self._clock = clock
        self._new_id = new_id
        self._writer = TenantWriter(storage, cache, clock)
        self._directory = directory

    async def create(
        self, principal: Principal, command: CreateTenant, idempotency_key: str | None = None
    ) -> CreatedTenant:
        """Create a tenant with its first API key, in one transaction with its audit event.

        A repeated ``idempotency_key`` with the same body returns the first tenant and creates nothing.
        """
        principal.require(Permission.TENANTS_CREATE)
        command = validated(command)
        print_ = fingerprint(command) if idempotency_key else ""
        if idempotency_key and (earlier := await self._replay(principal, idempotency_key, print_)):
            return earlier
        now = self._clock.now()
        fields = msgspec.structs.asdict(command)
        del fields["id"], fields["tenant_id"]  # client-sent ids are ignored
        sent = [wire_name(k) for k, v in fields.items() if v not in (None, {}, Settings())]
        issued: list[IssuedApiKey] = []

        async def first_key(uow: UnitOfWork, tenant: Tenant) -> None:
            issued.append(await issue_in(uow, self._clock, principal, tenant.id, "default"))
            if idempotency_key:
                remembered = IdempotencyRecord(principal.subject, idempotency_key, print_, tenant.id, now)
                await uow.idempotency.remember(self._seal_api_key(remembered, issued[0].secret))

        try:
            tenant = await self._writer.create(
                principal, AuditAction.TENANT_CREATED, new_tenant(id=self._new_id(), now=now, **fields), sent,
                then=first_key,
            )  # fmt: skip
        except ConflictError:
            # A concurrent request with the same key may have won the race: answer as it did.
            if idempotency_key and (earlier := await self._replay(principal, idempotency_key, print_)):
                return earlier
            raise
        return CreatedTenant(tenant=tenant, api_key=issued[0].secret)

    async def _replay(self, principal: Principal, key: str, print_: str) -> CreatedTenant | None:
        since = self._clock.now() - IDEMPOTENCY_WINDOW
        earlier = await self._storage.idempotency.recall(principal.subject, key, since)
        if earlier is None:
            return None
        if earlier.fingerprint != print_:
            raise ConflictError("The idempotency key was already used with a different request body", "idempotency_key")
        tenant = await self._directory.fresh.any(earlier.tenant_id)  # the tenant as it is now, not as cached
        if tenant is None:  # deleted since (its record goes with it, so this is a narrow race)
            return None
        return CreatedTenant(tenant=tenant, api_key=self._unseal_api_key(earlier))

    def _seal_api_key(self, remembered: IdempotencyRecord, api_key: str) -> IdempotencyRecord:
        if self._sealed is None:
            return remembered
        key_id, sealed = self._sealed.seal(IDEMPOTENCY_API_KEYS, _idempotency_ref(remembered), api_key.encode())
        return msgspec.structs.replace(remembered, key_id=key_id, sealed_api_key=sealed)

    def _unseal_api_key(self, remembered: IdempotencyRecord) -> str | None:
        """The first response's API key; ``None`` when it was not kept or cannot be opened (reported)."""
        if self._sealed is None or remembered.key_id is None or remembered.sealed_api_key is None:
            return None
        ref = _idempotency_ref(remembered)
        try:
            return self._sealed.open(IDEMPOTENCY_API_KEYS, ref, remembered.key_id, remembered.sealed_api_key).decode()
        except CredentialsUnreadableError:
            return None  # the replay still answers with the tenant; the key was shown once, the first time

    async def get(self, principal: Principal, tenant_id: str) -> Tenant:
        principal.require(Permission.TENANTS_READ, tenant_id)
        tenant = await self._directory.any(tenant_id)  # a soft-deleted tenant is still shown (status deleted)
        if tenant is None:
            raise NotFoundError(f"Tenant {tenant_id} not found")
        return tenant

    async def list(self, principal: Principal, query: TenantQuery, after: str | None = None) -> TenantPage:
        """Newest first. Page by ``offset``, or by the cursor ``after`` (the ``next`` of the previous page),
        which costs the same however deep the page is and never repeats or skips a row under inserts."""
        principal.require(Permission.TENANTS_LIST)
        query = validated(query)
        limit, offset = page_window(query.limit, query.offset, after)
        if query.q and any(ord(c) < 32 for c in query.q):
            raise ValidationFailedError.for_field("q", "must not contain control characters")
        position = tenant_position(after) if after is not None else None
        query = msgspec.structs.replace(query, limit=limit, offset=offset, q=(query.q or None), after=position)
        tenants, total = await self._storage.tenants.list(query)
        following = encode_cursor(tenants[-1].created_at, tenants[-1].id) if len(tenants) == limit else None
        return TenantPage(tenants=tenants, total=total, limit=limit, offset=offset, next=following)

    async def update(
        self,
        principal: Principal,
        tenant_id: str,
        command: UpdateTenant,
        expected_version: int | None = None,
    ) -> Tenant:
        """Apply a partial change. ``expected_version`` (from ``If-Match``) must match or nothing changes."""
        principal.require(Permission.TENANTS_UPDATE, tenant_id)
        changes = validated(command).changes()
        if not changes:
            raise ValidationFailedError("Request body must change at least one field", [])
        if principal.role is Role.TENANT and (denied := set(map(wire_name, changes)) - TENANT_SELF_EDITABLE):
            raise ForbiddenError(f"A tenant may not change {', '.join(sorted(denied))}")

        def apply(current: Tenant) -> dict[str, Any]:
            # A domain is a claim on a name nobody verified, and unique: a tenant that could set one could
            # squat a domain before its owner arrives, or probe which domains other tenants hold (409). Its
            # own current domain may be sent back (profile forms send every field); admin and services set it.
            if principal.role is Role.TENANT and changes.get("domain", current.domain) != current.domain:
                raise ForbiddenError("A tenant may not change its domain; an administrator sets it")
            return changes  # ``settings`` and ``metadata`` are replaced whole, like every other field

        return await self._writer.change(
            principal, AuditAction.TENANT_UPDATED, tenant_id, apply, expected_version=expected_version
        )

    async def complete_onboarding(self, principal: Principal, tenant_id: str, command: CompleteOnboarding) -> Tenant:
        """Mark onboarding done. Never clears a ``whatsappConfigured`` already set by signup."""
        principal.require(Permission.TENANTS_ONBOARD, tenant_id)
        command = validated(command)

        def finish(current: Tenant) -> dict[str, Any]:
            return {
                "onboarding_completed": True,
                "whatsapp_configured": current.whatsapp_configured or bool(command.whatsapp_configured),
            }

        return await self._writer.change(principal, AuditAction.TENANT_ONBOARDING_COMPLETED, tenant_id, finish)

    async def delete(self, principal: Principal, tenant_id: str) -> Tenant:
        """Remove the tenant and everything it owns; its lookups stop resolving at once."""
        principal.require(Permission.TENANTS_DELETE, tenant_id)
        async with self._storage.unit_of_work() as uow:
            removed = await uow.tenants.remove(tenant_id)
            if removed is None:
                raise NotFoundError(f"Tenant {tenant_id} not found")
            await record(uow, self._clock, principal, AuditAction.TENANT_DELETED, tenant_id, before=removed)
            stale = self._cache.announce_tenants(uow, removed)
        await self._cache.forget_keys(stale)
        return removed
