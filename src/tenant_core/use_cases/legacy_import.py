"""Import from the platform's old tenant service: ids kept, secrets sealed, keys hashed, nothing dropped silently.

The rules, in one place:

- A tenant keeps its id (every other service stores it). A row with a value this service would refuse is
  still imported: the value is left out, kept under ``metadata.legacyImport.rejected`` and reported. A
  unique value another imported tenant already holds stays with the oldest tenant.
- Of several credential rows of one type, the newest active one that is valid wins; the others are reported.
  Unknown fields of an old credential are dropped by name (never by value). A ``tenant_whatsapp_config``
  row counts as a WhatsApp credential.
- Active ``sk_`` API keys keep working: they are stored as their hash, under a stable id.
- Each tenant is one transaction, compared with what is already stored, so a rerun changes nothing and an
  interrupted run is finished by running it again.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from tenant_core.api_key_secrets import SECRET_PREFIX, hash_secret
from tenant_core.audit import AuditAction, record
from tenant_core.commands import TENANT_ID, Domain, Email, ExternalId, OrgName, Subdomain
from tenant_core.credential_types import (
    CREDENTIAL_TYPES,
    Credentials,
    CredentialType,
    SealedCredentials,
    known_fields_only,
    parse_credentials,
)
from tenant_core.entities import UNIQUE_FIELDS, ApiKey, Plan, Settings, Tenant, TenantStatus, new_tenant, wire_name
from tenant_core.errors import ConflictError, TenantServiceError, ValidationFailedError
from tenant_core.legacy import LegacyApiKeyRow, LegacyCredentialRow, LegacySource, LegacyTenant, LegacyTenantRow
from tenant_core.lookup_cache import TenantCache
from tenant_core.ports import Clock, SecretCipher, Storage, UnitOfWork
from tenant_core.regions import normalise_region
from tenant_core.security import Principal, Role
from tenant_core.use_cases.vault import associated_data, tenant_fields_for
from tenant_core.validation import check_settings, normalise_email

#: The actor of every audit event the import writes.
IMPORTER = Principal(subject="legacy-import", role=Role.ADMIN)

_STATUS = {"active": TenantStatus.ACTIVE, "suspended": TenantStatus.SUSPENDED, "deleted": TenantStatus.DELETED}
_FIELD_BY_WIRE = {wire_name(f): f for f in UNIQUE_FIELDS}
_OLDEST = datetime.min.replace(tzinfo=UTC)


class Outcome(enum.StrEnum):
    IMPORTED = "imported"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


class ImportLine(msgspec.Struct, frozen=True):
    """What happened to one thing: a tenant, one of its credentials or API keys. ``reason`` never holds a secret."""

    tenant_id: str
    item: str
    outcome: Outcome
    reason: str | None = None


class ImportReport(msgspec.Struct):
    lines: list[ImportLine] = msgspec.field(default_factory=list)

    def count(self, outcome: Outcome, item_prefix: str = "") -> int:
        return sum(1 for line in self.lines if line.outcome is outcome and line.item.startswith(item_prefix))


class _Plan(msgspec.Struct):
    """What one old tenant becomes, before it is written."""

    tenant: Tenant
    credentials: dict[CredentialType, Credentials]
    keys: list[ApiKey]
    notes: list[str]
    lines: list[ImportLine]


class _DryRun(Exception):
    """Raised inside the unit of work so that a dry run computes everything and writes nothing."""


class LegacyImport:
    def __init__(self, storage: Storage, cipher: SecretCipher, cache: TenantCache, clock: Clock) -> None:
        self._storage = storage
        self._cipher = cipher
        self._cache = cache
        self._clock = clock

    async def run(
        self, source: LegacySource, dry_run: bool = False, on_progress: Callable[[int], None] | None = None
    ) -> ImportReport:
        report = ImportReport()
        done = 0
        async for legacy in source.tenants():
            report.lines.extend(await self.import_one(legacy, dry_run))
            done += 1
            if on_progress is not None:
                on_progress(done)
        return report

    async def import_one(self, legacy: LegacyTenant, dry_run: bool = False) -> list[ImportLine]:
        tenant_id = legacy.row.tenant_id
        if not TENANT_ID.match(tenant_id):
            reason = "its id cannot be used in URLs (letters, digits and . _ : @ - only, at most 100)"
            return [ImportLine(tenant_id, "tenant", Outcome.SKIPPED, reason)]
        plan = self._plan(legacy)
        for _ in range(len(UNIQUE_FIELDS) + 1):
            try:
                lines = await self._write(plan, dry_run)
            except ConflictError as exc:
                field = _FIELD_BY_WIRE.get(exc.field or "")
                if field is None or getattr(plan.tenant, field) is None:
                    return [ImportLine(tenant_id, "tenant", Outcome.SKIPPED, exc.message)]
                _reject(plan, field, "already belongs to another tenant")
                continue
            return lines
        return [ImportLine(tenant_id, "tenant", Outcome.SKIPPED, "too many unique values are taken")]

    # -- what an old tenant becomes -------------------------------------------------------------------

    def _plan(self, legacy: LegacyTenant) -> _Plan:
        row, notes = legacy.row, []
        metadata = dict(row.metadata) if isinstance(row.metadata, dict) else {}
        if row.metadata not in (None, {}) and not isinstance(row.metadata, dict):
            metadata["legacy"] = row.metadata
        now = self._clock.now()
        plan = _Plan(
            tenant=new_tenant(
                id=row.tenant_id,
                name=_name(row, notes),
                now=row.created_at or now,
                status=_status(row.status, notes),
                plan=_plan_of(row.plan, notes),
                rate_limit=_rate_limit(row.rate_limit, notes),
                metadata=metadata,
                onboarding_completed=bool(row.onboarding_completed),
            ),
            credentials={},
            keys=[],
            notes=notes,
            lines=[],
        )
        plan.tenant = msgspec.structs.replace(plan.tenant, updated_at=row.updated_at or plan.tenant.created_at)
        for field, value, check in (
            ("email", row.email, _email),
            ("domain", row.domain, _typed(Domain, str.lower)),
            ("subdomain", row.subdomain, _typed(Subdomain, str.lower)),
            ("phone_number_id", row.phone_number_id, _typed(ExternalId)),
            ("genesys_integration_id", row.genesys_integration_id, _typed(ExternalId)),
            ("genesys_org_id", row.genesys_org_id, _typed(ExternalId)),
            ("genesys_org_name", row.genesys_org_name, _typed(OrgName)),
            ("genesys_region", row.genesys_region, lambda v: normalise_region(v, "genesysRegion")),
        ):
            _set_checked(plan, field, value, check)
        if row.email is None:
            notes.append("no email")
        _set_settings(plan, row.settings)
        self._plan_credentials(plan, legacy.credentials)
        plan.keys = self._plan_keys(plan, legacy.api_keys)
        return plan

    def _plan_credentials(self, plan: _Plan, rows: list[LegacyCredentialRow]) -> None:
        tenant_id = plan.tenant.id
        by_type: dict[str, list[LegacyCredentialRow]] = {}
        for row in rows:
            by_type.setdefault(row.type, []).append(row)
        for type_name, candidates in by_type.items():
            try:
                kind = CredentialType(type_name)
            except ValueError:
                for row in candidates:
                    plan.lines.append(ImportLine(tenant_id, row.source, Outcome.SKIPPED, "unknown credential type"))
                continue
            newest_first = sorted(candidates, key=lambda r: r.updated_at or r.created_at or _OLDEST, reverse=True)
            for row in newest_first:
                item = f"credentials.{kind.value} ({row.source})"
                if not row.is_active:
                    plan.lines.append(ImportLine(tenant_id, item, Outcome.SKIPPED, "inactive"))
                elif kind in plan.credentials:
                    plan.lines.append(ImportLine(tenant_id, item, Outcome.SKIPPED, "superseded by a newer active row"))
                elif (parsed := _parse(kind, row.credentials, plan, item)) is not None:
                    plan.credentials[kind] = parsed
        # What the credentials say about routing wins over the tenant row: it is what messages use.
        for credentials in plan.credentials.values():
            for field, value in tenant_fields_for(credentials, IMPORTER).items():
                current = getattr(plan.tenant, field)
                if field != "whatsapp_configured" and current is not None and current != value:
                    plan.notes.append(f"{wire_name(field)} taken from the stored credentials")
                plan.tenant = msgspec.structs.replace(plan.tenant, **{field: value})
        configured = CredentialType.WHATSAPP in plan.credentials and plan.tenant.phone_number_id is not None
        plan.tenant = msgspec.structs.replace(plan.tenant, whatsapp_configured=configured)

    def _plan_keys(self, plan: _Plan, rows: list[LegacyApiKeyRow]) -> list[ApiKey]:
        keys = []
        for row in rows:
            shown = row.api_key[:11] + "…"  # the prefix the API shows too; never the whole key
            if row.is_active is False:
                plan.lines.append(ImportLine(plan.tenant.id, f"api_key {shown}", Outcome.SKIPPED, "inactive"))
            elif not row.api_key.startswith(SECRET_PREFIX) or len(row.api_key) < 32:
                reason = "not an sk_ key this service can recognise; issue the tenant a new one"
                plan.lines.append(ImportLine(plan.tenant.id, f"api_key {shown}", Outcome.SKIPPED, reason))
            else:
                key_hash = hash_secret(row.api_key)
                keys.append(
                    ApiKey(
                        id="key_" + hashlib.sha256(key_hash.encode()).hexdigest()[:16],  # stable across reruns
                        tenant_id=plan.tenant.id,
                        name=(row.name or "imported").strip()[:100] or "imported",
                        prefix=row.api_key[:11],
                        key_hash=key_hash,
                        created_at=row.created_at or plan.tenant.created_at,
                        last_used_at=row.last_used,
                    )
                )
        return keys

    # -- writing, or not --------------------------------------------------------------------------------

    async def _write(self, plan: _Plan, dry_run: bool) -> list[ImportLine]:
        lines: list[ImportLine] = []
        stale: list[str] = []
        try:
            async with self._storage.unit_of_work() as uow:
                before = await uow.tenants.get(plan.tenant.id)
                changed = await self._write_tenant(uow, plan, lines)
                changed += await self._write_credentials(uow, plan, lines)
                changed += await self._write_keys(uow, plan, lines)
                if changed:
                    after = await uow.tenants.get(plan.tenant.id)
                    action, tenant_id = AuditAction.TENANT_IMPORTED, plan.tenant.id
                    await record(uow, self._clock, IMPORTER, action, tenant_id, changed, before=before, after=after)
                    stale = self._cache.announce_tenants(uow, before, after)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        else:
            await self._cache.forget_keys(stale)
        return lines + plan.lines

    async def _write_tenant(self, uow: UnitOfWork, plan: _Plan, lines: list[ImportLine]) -> list[str]:
        tenant, reason = plan.tenant, "; ".join(plan.notes) or None
        existing = await uow.tenants.get(tenant.id)
        if existing is None:
            await uow.tenants.add(tenant)
            lines.append(ImportLine(tenant.id, "tenant", Outcome.IMPORTED, reason))
            return ["tenant"]
        if _same(existing, tenant):
            lines.append(ImportLine(tenant.id, "tenant", Outcome.UNCHANGED, reason))
            return []
        replacement = msgspec.structs.replace(tenant, version=existing.version + 1, updated_at=self._clock.now())
        if await uow.tenants.replace(replacement, expected_version=existing.version) is None:
            raise ConflictError(f"Tenant {tenant.id} changed during the import; run it again")
        lines.append(ImportLine(tenant.id, "tenant", Outcome.UPDATED, reason))
        return ["tenant"]

    async def _write_credentials(self, uow: UnitOfWork, plan: _Plan, lines: list[ImportLine]) -> list[str]:
        changed = []
        for kind, credentials in plan.credentials.items():
            item = f"credentials.{kind.value}"
            aad = associated_data(plan.tenant.id, kind)
            stored = await uow.credentials.get(plan.tenant.id, kind)
            if stored is not None and self._opens_to(stored, aad) == credentials:
                lines.append(ImportLine(plan.tenant.id, item, Outcome.UNCHANGED))
                continue
            key_id, ciphertext = self._cipher.seal(msgspec.json.encode(credentials), aad)
            await uow.credentials.put(SealedCredentials(plan.tenant.id, kind, key_id, ciphertext, self._clock.now()))
            lines.append(ImportLine(plan.tenant.id, item, Outcome.IMPORTED if stored is None else Outcome.UPDATED))
            changed.append(item)
        return changed

    async def _write_keys(self, uow: UnitOfWork, plan: _Plan, lines: list[ImportLine]) -> list[str]:
        changed = []
        for key in plan.keys:
            item = f"api_key {key.prefix}…"
            existing = await uow.api_keys.find_by_hash(key.key_hash)
            if existing is not None and existing.tenant_id != key.tenant_id:
                lines.append(
                    ImportLine(plan.tenant.id, item, Outcome.SKIPPED, "the same key belongs to another tenant")
                )
            elif existing is not None:
                lines.append(ImportLine(plan.tenant.id, item, Outcome.UNCHANGED))
            else:
                await uow.api_keys.add(key)
                lines.append(ImportLine(plan.tenant.id, item, Outcome.IMPORTED))
                changed.append(f"api_key.{key.id}")
        return changed

    def _opens_to(self, sealed: SealedCredentials, aad: bytes) -> Credentials | None:
        try:
            plaintext = self._cipher.open(sealed.key_id, sealed.ciphertext, aad)
            return msgspec.json.decode(plaintext, type=CREDENTIAL_TYPES[sealed.type])
        except (TenantServiceError, msgspec.DecodeError):
            return None  # unreadable: the import replaces it


# -- field rules ------------------------------------------------------------------------------------------


def _same(existing: Tenant, planned: Tenant) -> bool:
    ignored = {"version", "updated_at"}
    return all(getattr(existing, f) == getattr(planned, f) for f in existing.__struct_fields__ if f not in ignored)


def _reject(plan: _Plan, field: str, why: str) -> None:
    """Leave ``field`` out of the tenant, keep its old value in metadata, and say so in the report."""
    value = getattr(plan.tenant, field)
    legacy = dict(plan.tenant.metadata.get("legacyImport") or {})
    legacy["rejected"] = {**legacy.get("rejected", {}), wire_name(field): value}
    plan.tenant = msgspec.structs.replace(
        plan.tenant, **{field: None}, metadata={**plan.tenant.metadata, "legacyImport": legacy}
    )
    plan.notes.append(f"{wire_name(field)} {why}; kept in metadata.legacyImport")
    if field == "phone_number_id":
        plan.tenant = msgspec.structs.replace(plan.tenant, whatsapp_configured=False)


def _set_checked(plan: _Plan, field: str, value: str | None, check: Callable[[str], str]) -> None:
    if value is None or not value.strip():
        return
    try:
        plan.tenant = msgspec.structs.replace(plan.tenant, **{field: check(value.strip())})
    except (ValidationFailedError, msgspec.ValidationError) as exc:
        plan.tenant = msgspec.structs.replace(plan.tenant, **{field: value})
        message = exc.details[0].message if isinstance(exc, ValidationFailedError) and exc.details else str(exc)
        _reject(plan, field, f"refused ({message.split(' - at ')[0]})")


def _typed(type_: Any, then: Callable[[str], str] = str) -> Callable[[str], str]:
    return lambda value: then(msgspec.convert(value, type_))


def _email(value: str) -> str:
    return normalise_email(msgspec.convert(value, Email))


def _set_settings(plan: _Plan, raw: Any) -> None:
    if not isinstance(raw, dict) or not raw:
        return
    known = {k: raw[k] for k in ("timezone", "language") if isinstance(raw.get(k), str)}
    try:
        settings = Settings(**known)
        check_settings(settings)
    except ValidationFailedError:
        settings = Settings()
    plan.tenant = msgspec.structs.replace(plan.tenant, settings=settings)
    kept = msgspec.to_builtins(settings)
    if dropped := {k: v for k, v in raw.items() if kept.get(k) != v}:
        legacy = {**(plan.tenant.metadata.get("legacyImport") or {}), "settings": dropped}
        plan.tenant = msgspec.structs.replace(plan.tenant, metadata={**plan.tenant.metadata, "legacyImport": legacy})
        plan.notes.append(f"settings {', '.join(sorted(dropped))} kept in metadata.legacyImport")


def _parse(kind: CredentialType, raw: Any, plan: _Plan, item: str) -> Credentials | None:
    if not isinstance(raw, dict):
        plan.lines.append(ImportLine(plan.tenant.id, item, Outcome.SKIPPED, "not a JSON object"))
        return None
    known, dropped = known_fields_only(kind, raw)
    try:
        parsed = parse_credentials(kind, known, "")
    except ValidationFailedError as exc:
        plan.lines.append(ImportLine(plan.tenant.id, item, Outcome.SKIPPED, exc.message))
        return None
    if dropped:
        plan.notes.append(f"{item}: unused fields dropped: {', '.join(dropped)}")
    return parsed


def _name(row: LegacyTenantRow, notes: list[str]) -> str:
    name = (row.name or "").strip()
    if not name:
        notes.append("no name: named after its subdomain or id")
        return row.subdomain or row.tenant_id
    if len(name) > 255:
        notes.append("name cut to 255 characters")
        return name[:255]
    return name


def _status(value: str | None, notes: list[str]) -> TenantStatus:
    if value is None:
        return TenantStatus.ACTIVE
    if (status := _STATUS.get(value.strip().lower())) is not None:
        return status
    notes.append(f"status {value!r} is not active, suspended or deleted: imported as suspended")
    return TenantStatus.SUSPENDED


def _plan_of(value: str | None, notes: list[str]) -> Plan:
    try:
        return Plan((value or "standard").strip().lower())
    except ValueError:
        notes.append(f"plan {value!r} is unknown: imported as standard")
        return Plan.STANDARD


def _rate_limit(value: int | None, notes: list[str]) -> int:
    if value is None:
        return 100
    if not 1 <= value <= 100_000:
        notes.append(f"rateLimit {value} out of 1..100000: clamped")
    return min(max(value, 1), 100_000)
