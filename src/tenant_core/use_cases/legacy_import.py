"""Import from the platform's old tenant service: ids kept, secrets sealed, keys hashed, nothing lost, and a
rerun never undoes what was changed here.

The rules, in one place (what each old value becomes is in :mod:`tenant_core.use_cases.legacy_plan`):

- A tenant keeps its id (every other service stores it). A legacy row never touches a tenant the import did
  not create, nor brings back one deleted here since it was imported.
- Of several credential rows of one type, the newest active valid one wins; the others are reported. A
  ``tenant_whatsapp_config`` row counts as a WhatsApp credential. Active ``sk_`` API keys keep working:
  they are stored as their hash, under a stable id.
- Each tenant is one transaction, through :class:`~tenant_core.tenant_writer.TenantWriter` (audited, with
  its change events, caches cleared), together with a record of what the import saw
  (:class:`~tenant_core.legacy.ImportRecord`). An interrupted run is finished by running it again.
- A rerun skips old tenants whose rows did not change. For one that did, each value (each tenant field,
  each ``metadata`` key, each credential, each API key) is compared three ways: as last imported, as in
  the old database now, as here now. A value that changed only in the old database is applied; one
  changed here is kept; one changed in both is a *conflict*: reported with both values, and this
  service's value stays. A credential and the tenant fields it decides (phone number id, integration id,
  region) change together or not at all.
- A dry run compares and reports exactly as a real run, and every transaction is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from tenant_core.api_key_secrets import api_key_cache_key
from tenant_core.audit import AuditAction, record
from tenant_core.commands import TENANT_ID
from tenant_core.credential_records import open_credentials, seal_credentials
from tenant_core.credential_registry import CREDENTIAL_POLICIES
from tenant_core.credential_types import Credentials, SealedCredentials, field_names
from tenant_core.entities import UNIQUE_FIELDS, ApiKey, Settings, Tenant, is_live, wire_name
from tenant_core.errors import ConflictError, TenantServiceError, UnavailableError
from tenant_core.legacy import ImportRecord, LegacySource, LegacyTenant, Seen
from tenant_core.lookup_cache import ReadThrough, TenantCache
from tenant_core.no_cache import NoCache
from tenant_core.ports import Clock, Storage, UnitOfWork
from tenant_core.sealing import SealedValues
from tenant_core.tenant_writer import TenantWriter
from tenant_core.use_cases.legacy_plan import (
    IMPORTER,
    MERGED_FIELDS,
    ImportLine,
    ItemKind,
    Outcome,
    _LegacyPlan,
    digest,
    plan_for,
    reject,
    tenant_fields,
)

__all__ = ["IMPORTER", "ImportLine", "ImportReport", "ItemKind", "LegacyImport", "Outcome"]

_FIELD_BY_WIRE = {wire_name(f): f for f in UNIQUE_FIELDS}
_ID_RULE = "letters, digits and . _ : @ - only, at most 100 characters"
_NOTHING = Seen(tenant={}, credentials={}, api_keys=[])  # what a tenant not imported yet was seen as


class _Unknown:
    """The base of a tenant imported before records were kept: equal to nothing, so every difference between
    the old database and this service is a conflict, and this service's value stays."""

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "unknown"


class _Absent:
    """A value that is not there: a metadata key, a credential, a key of a credential."""

    def __repr__(self) -> str:
        return "none"


_UNKNOWN: Any = _Unknown()
_ABSENT: Any = _Absent()


class ImportReport(msgspec.Struct):
    """What an import did, one line per tenant, credential and API key; ``count`` sums outcomes."""

    lines: list[ImportLine] = msgspec.field(default_factory=list)

    def count(self, outcome: Outcome, kind: ItemKind | None = None) -> int:
        """How many things (of ``kind``, or of every kind) had ``outcome``."""
        return sum(1 for line in self.lines if line.outcome is outcome and kind in (None, line.kind))


class LegacyImport:
    """Imports the old service's tenants, credentials and API keys; reruns are safe, a dry run writes nothing."""

    def __init__(
        self,
        storage: Storage,
        sealed: SealedValues,
        cache: TenantCache,
        clock: Clock,
        key_cache: ReadThrough[ApiKey] | None = None,
    ) -> None:
        """``key_cache`` is the API key cache of the running service: a key the import revokes is forgotten."""
        self._sealed = sealed
        self._clock = clock
        self._real = _Target(storage, TenantWriter(storage, cache, clock), key_cache)
        dry = _RolledBack(storage)
        # A dry run caches nothing, so the running service's caches are left alone.
        self._dry = _Target(dry, TenantWriter(dry, TenantCache(NoCache()), clock), None)

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
        """Import (or compare again) one old tenant. A tenant that cannot be stored is skipped and reported;
        only an unreachable database stops the run."""
        plan = plan_for(legacy, self._clock.now())
        tenant_id = legacy.row.tenant_id
        if not TENANT_ID.fullmatch(tenant_id):
            return _skipped(plan, f"its id {tenant_id!r} cannot be stored here ({_ID_RULE})")
        try:
            return await self._import(plan, digest(tenant_id, legacy), self._dry if dry_run else self._real)
        except UnavailableError:
            raise
        except TenantServiceError as exc:
            return _skipped(plan, f"could not be stored: {exc.message}")

    async def _import(self, plan: _LegacyPlan, source: str, to: _Target) -> list[ImportLine]:
        tenant_id = plan.tenant.id
        known = await to.storage.legacy_imports.get(tenant_id)
        if known is not None and known.source_digest == source:
            return _unchanged(plan)
        here = await to.storage.tenants.get(tenant_id)
        if here is None and known is not None:
            return _skipped(plan, "deleted here since it was imported: not created again")
        if here is not None and known is None:
            return _skipped(plan, "a tenant created in this service has this id: left untouched")
        if here is not None and not is_live(here):
            return _skipped(plan, "deleted here: left as it is")
        seen = _NOTHING if known is None else known.seen
        for _ in range(len(UNIQUE_FIELDS) + 1):
            try:
                return await self._write(plan, source, seen, creating=known is None, to=to)
            except ConflictError as exc:
                field = _FIELD_BY_WIRE.get(exc.field or "")
                if field is None or getattr(plan.tenant, field) is None:
                    raise
                reject(plan, field, getattr(plan.tenant, field), "already belongs to another tenant")
        return _skipped(plan, "too many unique values are taken")

    async def _write(
        self, plan: _LegacyPlan, source: str, seen: Seen | None, creating: bool, to: _Target
    ) -> list[ImportLine]:
        tenant_id = plan.tenant.id
        moves = await self._credential_moves(to.storage, plan, seen)
        held = [CREDENTIAL_POLICIES[move.kind] for move in moves if move.holds_back]
        pinned = {wire_name(field) for policy in held for field in policy.tenant_fields}
        merged = _Merge(None if seen is None else seen.tenant, plan.tenant, pinned)
        owned: list[ImportLine] = []
        forget: list[str] = []

        async def with_tenant(uow: UnitOfWork, tenant: Tenant) -> None:
            owned.clear()  # a retried transaction starts again
            forget.clear()
            for move in moves:
                owned.append(await self._move_credential(uow, plan, move, merged.conflicted))
            owned.extend(await self._merge_keys(uow, plan, seen, forget))
            ReadThrough.announce(uow, forget)  # every process forgets the keys revoked here when this commits
            await uow.legacy_imports.put(ImportRecord(tenant_id, source, plan.seen(), self._clock.now()))

        async def also(uow: UnitOfWork, tenant: Tenant) -> list[str]:
            await with_tenant(uow, tenant)
            return []  # credentials and keys write their own audit events

        if creating:
            set_fields = [
                wire_name(f) for f in MERGED_FIELDS if getattr(plan.tenant, f) not in (None, False, Settings())
            ]
            await to.writer.create(IMPORTER, AuditAction.TENANT_IMPORTED, plan.tenant, set_fields, then=with_tenant)
            tenant_line = ImportLine(tenant_id, "tenant", Outcome.IMPORTED, _joined(plan.notes))
        else:
            await to.writer.change(IMPORTER, AuditAction.TENANT_IMPORTED, tenant_id, merged.compute, also=also)
            tenant_line = merged.line(tenant_id, plan.notes)
        if to.key_cache is not None:
            await to.key_cache.forget_keys(forget)
        return [tenant_line, *owned, *plan.lines]

    # -- credentials --------------------------------------------------------------------------------------

    async def _credential_moves(self, storage: Storage, plan: _LegacyPlan, seen: Seen | None) -> list[_Move]:
        """What to do with each credential the old tenant has or had, decided on what is stored now."""
        tenant_id = plan.tenant.id
        kinds = set(plan.credentials) | (set(seen.credentials) if seen else set())
        moves = []
        for kind in sorted(kinds):
            old = plan.credentials.get(kind, _ABSENT)
            there = _ABSENT if old is _ABSENT else digest(tenant_id, old)
            was = _UNKNOWN if seen is None else seen.credentials.get(kind, _ABSENT)
            if there == was:
                moves.append(_Move(kind, "same", old))
                continue
            stored = await storage.credentials.get(tenant_id, kind)
            here = self._open(stored) if stored is not None else _ABSENT
            if here is None:
                moves.append(_Move(kind, "unreadable", old, stored))
                continue
            now = _ABSENT if here is _ABSENT else digest(tenant_id, here)
            action = "apply" if now == was else "converged" if now == there else "conflict"
            moves.append(_Move(kind, action, old, stored, here))
        return moves

    async def _move_credential(
        self, uow: UnitOfWork, plan: _LegacyPlan, move: _Move, conflicted: set[str]
    ) -> ImportLine:
        tenant_id, item = plan.tenant.id, f"credentials.{move.kind}"

        def line(outcome: Outcome, reason: str | None = None) -> ImportLine:
            return ImportLine(tenant_id, item, outcome, reason, ItemKind.CREDENTIALS)

        if move.action in ("same", "converged"):
            return line(Outcome.UNCHANGED)
        if move.action == "unreadable":
            return line(Outcome.SKIPPED, "the stored value cannot be opened with the configured keys: left as it is")
        if move.action == "conflict":
            return line(Outcome.CONFLICT, f"{_BOTH_CHANGED}: {_credential_difference(move.old, move.here)}")
        if (clashing := conflicted & set(CREDENTIAL_POLICIES[move.kind].tenant_fields)) or await uow.credentials.get(
            tenant_id, move.kind
        ) != move.stored:
            why = f"its {', '.join(sorted(map(wire_name, clashing)))}" if clashing else "its value, meanwhile"
            return line(Outcome.CONFLICT, f"changed in the old database but {why} changed here: this service's kept")
        detail = {"credentialType": move.kind}
        if move.old is _ABSENT:
            await uow.credentials.remove(tenant_id, move.kind)
            await record(uow, self._clock, IMPORTER, AuditAction.CREDENTIALS_DELETED, tenant_id, detail=detail)
            return line(Outcome.UPDATED, "no active row in the old database any more: deleted here")
        await uow.credentials.put(seal_credentials(self._sealed, tenant_id, move.old, self._clock.now()))
        action, names = AuditAction.CREDENTIALS_STORED, field_names(move.old)
        await record(uow, self._clock, IMPORTER, action, tenant_id, names, detail=detail)
        return line(Outcome.IMPORTED if move.stored is None else Outcome.UPDATED)

    def _open(self, sealed: SealedCredentials) -> Credentials | None:
        try:
            return open_credentials(self._sealed, sealed).credentials
        except TenantServiceError:
            return None  # unreadable (reported): the import replaces it

    # -- API keys -----------------------------------------------------------------------------------------

    async def _merge_keys(
        self, uow: UnitOfWork, plan: _LegacyPlan, seen: Seen | None, forget: list[str]
    ) -> list[ImportLine]:
        """Keys by presence, three ways: a key revoked here stays revoked; one made inactive or removed in the
        old database since the last import is revoked here; a new active one is added."""
        tenant_id, lines = plan.tenant.id, list[ImportLine]()
        here = {key.id: key for key in await uow.api_keys.list_for_tenant(tenant_id)}
        imported = None if seen is None else set(seen.api_keys)

        def line(shown: str, outcome: Outcome, reason: str | None = None) -> ImportLine:
            return ImportLine(tenant_id, f"api_key {shown}…", outcome, reason, ItemKind.API_KEY)

        async def revoke(key: ApiKey, why: str) -> None:
            await uow.api_keys.remove(tenant_id, key.id)
            detail = {"apiKeyId": key.id, "name": key.name, "prefix": key.prefix}
            await record(uow, self._clock, IMPORTER, AuditAction.API_KEY_REVOKED, tenant_id, ["id"], detail=detail)
            forget.append(api_key_cache_key(key.key_hash))
            lines.append(line(key.prefix, Outcome.UPDATED, why))

        for key in plan.keys:
            if imported is not None and key.id in imported:
                revoked = None if key.id in here else "revoked here since it was imported: stays revoked"
                lines.append(line(key.prefix, Outcome.UNCHANGED, revoked))
            elif key.id in here:
                lines.append(line(key.prefix, Outcome.UNCHANGED))
            elif imported is None:
                why = "imported before records were kept and not here now (revoked?): not added again"
                lines.append(line(key.prefix, Outcome.CONFLICT, why))
            elif (owner := await uow.api_keys.find_by_hash(key.key_hash)) is not None and owner.tenant_id != tenant_id:
                lines.append(line(key.prefix, Outcome.SKIPPED, "the same key belongs to another tenant"))
            else:
                await uow.api_keys.add(key)
                detail = {"apiKeyId": key.id, "name": key.name, "prefix": key.prefix}
                action = AuditAction.API_KEY_CREATED
                await record(uow, self._clock, IMPORTER, action, tenant_id, ["name"], detail=detail)
                forget.append(api_key_cache_key(key.key_hash))  # a refusal may be cached
                lines.append(line(key.prefix, Outcome.IMPORTED))
        for key_id, prefix in plan.inactive_keys.items():
            if key_id not in here:
                lines.append(line(prefix, Outcome.SKIPPED, "inactive"))
            elif imported is None:
                why = "inactive in the old database but active here: kept (revoke it here if it must stop working)"
                lines.append(line(prefix, Outcome.CONFLICT, why))
            else:
                await revoke(here[key_id], "made inactive in the old database since the last import: revoked here")
        gone = (imported or set()) - {k.id for k in plan.keys} - set(plan.inactive_keys)
        for key_id in sorted(gone & set(here)):
            await revoke(here[key_id], "removed from the old database since the last import: revoked here")
        return lines


# -- comparing a tenant three ways ------------------------------------------------------------------------

_BOTH_CHANGED = "changed here and in the old database since the last import, this service's value kept"


class _Merge:
    """The tenant fields to change: those the old database changed and this service did not. ``compute`` is
    the :class:`TenantWriter` callback (it may run again when another writer got in first)."""

    def __init__(self, seen: dict[str, Any] | None, planned: Tenant, pinned: set[str]) -> None:
        self._seen = seen
        self._planned = planned
        self._pinned = pinned
        self.applied: list[str] = []
        self.conflicts: list[str] = []
        self.conflicted: set[str] = set()

    def compute(self, here: Tenant) -> dict[str, Any]:
        self.applied, self.conflicts, self.conflicted = [], [], set()
        was = _flat(self._seen) if self._seen is not None else None
        there, now = _flat(tenant_fields(self._planned)), _flat(tenant_fields(here))
        fields: dict[str, Any] = {}
        metadata = dict(here.metadata)
        for key in sorted(there.keys() | now.keys() | (was or {}).keys()):
            if key[0] in self._pinned:
                continue
            old, new = there.get(key, _ABSENT), now.get(key, _ABSENT)
            base = _UNKNOWN if was is None else was.get(key, _ABSENT)
            if old == base or old == new:
                continue
            label = ".".join(key) if key[0] == "metadata" else key[0]
            if new != base:
                self.conflicts.append(f"{label} (old database {_shown(old)}, here {_shown(new)})")
                self.conflicted.add(_FIELD_OF[key[0]] if key[0] in _FIELD_OF else key[0])
                continue
            self.applied.append(label)
            if key[0] != "metadata":
                fields[_FIELD_OF[key[0]]] = getattr(self._planned, _FIELD_OF[key[0]])
            elif old is _ABSENT:
                metadata.pop(key[1], None)
            else:
                metadata[key[1]] = old
        if metadata != here.metadata:
            fields["metadata"] = metadata
        return fields

    def line(self, tenant_id: str, notes: list[str]) -> ImportLine:
        """The tenant's report line: a conflict if any value conflicted, updated if any was applied."""
        parts = [f"{_BOTH_CHANGED}: {', '.join(self.conflicts)}"] if self.conflicts else []
        parts += [f"applied from the old database: {', '.join(self.applied)}"] if self.applied else []
        outcome = Outcome.CONFLICT if self.conflicts else Outcome.UPDATED if self.applied else Outcome.UNCHANGED
        return ImportLine(tenant_id, "tenant", outcome, _joined([*parts, *notes]))


_FIELD_OF = {wire_name(f): f for f in MERGED_FIELDS}


def _flat(fields: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """Top-level fields as ``(wireName,)``, metadata key by key as ``("metadata", key)``."""
    flat: dict[tuple[str, ...], Any] = {(k,): v for k, v in fields.items() if k != "metadata"}
    flat.update({("metadata", k): v for k, v in (fields.get("metadata") or {}).items()})
    return flat


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "none"
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= 80 else text[:79] + "…"


def _credential_difference(old: Any, here: Any) -> str:
    """Which fields differ, masked as every view masks them (secrets show their last 4 characters at most)."""
    if old is _ABSENT or here is _ABSENT:
        return f"old database {'none' if old is _ABSENT else 'has one'}, here {'none' if here is _ABSENT else 'one'}"
    policy = CREDENTIAL_POLICIES.of(old)
    there, now = policy.masked(old), policy.masked(here)
    differ = [k for k in sorted(there.keys() | now.keys()) if there.get(k) != now.get(k)]
    shown = [f"{k} (old database {_shown(there.get(k, _ABSENT))}, here {_shown(now.get(k, _ABSENT))})" for k in differ]
    return ", ".join(shown) or "their secrets differ"


# -- report lines -------------------------------------------------------------------------------------------


def _joined(parts: Iterable[str]) -> str | None:
    return "; ".join(parts) or None


def _unchanged(plan: _LegacyPlan) -> list[ImportLine]:
    """The lines of an old tenant whose rows did not change since the last import."""
    tenant_id = plan.tenant.id
    lines = [ImportLine(tenant_id, "tenant", Outcome.UNCHANGED, _joined(plan.notes))]
    lines += [
        ImportLine(tenant_id, f"credentials.{kind}", Outcome.UNCHANGED, None, ItemKind.CREDENTIALS)
        for kind in plan.credentials
    ]
    lines += [
        ImportLine(tenant_id, f"api_key {k.prefix}…", Outcome.UNCHANGED, None, ItemKind.API_KEY) for k in plan.keys
    ]
    lines += [
        ImportLine(tenant_id, f"api_key {prefix}…", Outcome.SKIPPED, "inactive", ItemKind.API_KEY)
        for prefix in plan.inactive_keys.values()
    ]
    return lines + plan.lines


def _skipped(plan: _LegacyPlan, reason: str) -> list[ImportLine]:
    """The lines of an old tenant that is not imported: it, and everything it owns."""
    tenant_id, owned = plan.tenant.id, "its tenant was skipped"
    lines = [ImportLine(tenant_id, "tenant", Outcome.SKIPPED, reason)]
    lines += [
        ImportLine(tenant_id, f"credentials.{kind}", Outcome.SKIPPED, owned, ItemKind.CREDENTIALS)
        for kind in plan.credentials
    ]
    keys = [k.prefix for k in plan.keys] + list(plan.inactive_keys.values())
    lines += [ImportLine(tenant_id, f"api_key {prefix}…", Outcome.SKIPPED, owned, ItemKind.API_KEY) for prefix in keys]
    return lines + plan.lines


# -- where the writes go ----------------------------------------------------------------------------------


class _Move(msgspec.Struct, frozen=True):
    """One credential's fate: ``old`` is what the old database has now, ``here`` what is stored here (both
    ``_ABSENT`` when there is none), ``stored`` its sealed record as read."""

    kind: str  # the credential type's name
    action: str  # same | apply | converged | conflict | unreadable
    old: Any
    stored: SealedCredentials | None = None
    here: Any = _ABSENT

    @property
    def holds_back(self) -> bool:
        """The tenant fields this credential decides stay as they are here."""
        return self.action in ("conflict", "unreadable")


class _Target(msgspec.Struct, frozen=True):
    storage: Any  # Storage
    writer: TenantWriter
    key_cache: ReadThrough[ApiKey] | None


class _Discarded(Exception):
    """Passed to a unit of work's exit, so that it rolls back."""


class _RolledBackUnitOfWork:
    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    async def __aenter__(self) -> UnitOfWork:
        return await self._inner.__aenter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            await self._inner.__aexit__(_Discarded, _Discarded(), None)
        else:
            await self._inner.__aexit__(exc_type, exc, tb)


class _RolledBack:
    """A dry run's storage: reads as usual, and every unit of work rolls back instead of committing."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def unit_of_work(self) -> _RolledBackUnitOfWork:
        return _RolledBackUnitOfWork(self._storage.unit_of_work())
