"""What one old tenant becomes here: the import's field rules, pure (no I/O), and the words of its report.

Nothing the old database held is lost. Wherever the stored value differs from the old one, or nothing is
stored, the old value is kept in the tenant's ``metadata.legacyImport``:

- ``changed``: field -> old value, where the value is stored differently: a status or plan this service
  does not have, a blank name, a rate limit out of range, a region or e-mail written another way, text
  with surrounding spaces, a routing key taken from the credentials, a ``whatsappConfigured`` that does
  not match the credentials;
- ``rejected``: field -> old value, where nothing is stored: invalid, already another tenant's, or a phone
  number id found on the tenant row only (the old service did not route it);
- ``settings``: what of ``settings`` is not kept as settings (the whole value when it is not an object);
- ``metadata``: the old metadata when it is not an object, or the old metadata's own ``legacyImport`` key;
- ``columns``: old columns this service has no field for (``onboarding_completed_at``, …).

A missing (NULL) or blank optional value is simply absent here; a missing name is recorded, because the
tenant is then named after its subdomain or id.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from tenant_core.api_key_secrets import SECRET_PREFIX, hash_secret
from tenant_core.commands import Domain, Email, ExternalId, OrgName, Subdomain
from tenant_core.credential_registry import CREDENTIAL_POLICIES
from tenant_core.credential_types import CredentialPolicy, Credentials
from tenant_core.entities import ApiKey, Plan, Settings, Tenant, TenantStatus, new_tenant, wire_name
from tenant_core.errors import ValidationFailedError
from tenant_core.legacy import LegacyApiKeyRow, LegacyCredentialRow, LegacyTenant, LegacyTenantRow, Seen
from tenant_core.regions import normalise_region
from tenant_core.security import Principal, Role
from tenant_core.validation import check_settings, normalise_email, problem_from_msgspec

#: The actor of every audit event the import writes.
IMPORTER = Principal(subject="legacy-import", role=Role.ADMIN)

#: Old statuses this service has. Any other (``inactive``, ``pending``, …) is imported as ``suspended``: it
#: stops the tenant's traffic, as an unknown state should, and unlike ``deleted`` it can be undone.
_STATUS = {"active": TenantStatus.ACTIVE, "suspended": TenantStatus.SUSPENDED, "deleted": TenantStatus.DELETED}
_OLDEST = datetime.min.replace(tzinfo=UTC)

#: Tenant fields a rerun compares one by one (``metadata`` is compared key by key).
MERGED_FIELDS = tuple(
    f for f in Tenant.__struct_fields__ if f not in ("id", "version", "created_at", "updated_at", "metadata")
)


class Outcome(enum.StrEnum):
    """What happened to one imported thing."""

    IMPORTED = "imported"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"  # changed here and in the old database since the last import: this service's value kept
    SKIPPED = "skipped"


class ItemKind(enum.StrEnum):
    """What a report line counts as."""

    TENANT = "tenant"
    CREDENTIALS = "credentials"
    API_KEY = "api_key"


class ImportLine(msgspec.Struct, frozen=True):
    """What happened to one thing: a tenant, one of its credentials or API keys. ``reason`` never holds a secret."""

    tenant_id: str
    item: str  # "tenant", "credentials.genesys", "credentials.genesys (tenant_credentials#12)", "api_key sk_1234…"
    outcome: Outcome
    reason: str | None = None
    kind: ItemKind = ItemKind.TENANT


class _LegacyPlan(msgspec.Struct):
    """What one old tenant becomes, before anything is compared or written."""

    tenant: Tenant
    credentials: dict[str, Credentials]  # by type name
    keys: list[ApiKey]  # active ``sk_`` keys
    inactive_keys: dict[str, str]  # id -> prefix shown, of inactive ``sk_`` keys (revoked here if imported before)
    notes: list[str]  # why the tenant's values differ from the old row, for the report
    lines: list[ImportLine]  # old rows left out while planning (inactive, superseded, invalid)
    own_metadata: dict[str, Any]
    kept: dict[str, Any]  # becomes ``metadata.legacyImport``

    def seen(self) -> Seen:
        """What this plan records as seen, for the next run to compare with."""
        return Seen(
            tenant=tenant_fields(self.tenant),
            credentials={kind: digest(self.tenant.id, c) for kind, c in self.credentials.items()},
            api_keys=sorted(key.id for key in self.keys),
        )


def plan_for(legacy: LegacyTenant, now: datetime) -> _LegacyPlan:
    """The tenant, credentials and API keys one old tenant becomes, with every difference recorded."""
    row = legacy.row
    created = row.created_at or now
    plan = _LegacyPlan(
        tenant=new_tenant(id=row.tenant_id, name=row.tenant_id, now=created),
        credentials={},
        keys=[],
        inactive_keys={},
        notes=[],
        lines=[],
        own_metadata={},
        kept={},
    )
    plan.tenant = msgspec.structs.replace(plan.tenant, updated_at=row.updated_at or created)
    _set_metadata(plan, row.metadata)
    _set_name(plan, row)
    _store(plan, "status", _status(row.status, plan.notes), row.status)
    _store(plan, "plan", _plan_of(row.plan, plan.notes), row.plan)
    _store(plan, "rate_limit", _rate_limit(row.rate_limit, plan.notes), row.rate_limit)
    _store(plan, "onboarding_completed", bool(row.onboarding_completed), row.onboarding_completed)
    _store(plan, "whatsapp_configured", bool(row.whatsapp_configured), row.whatsapp_configured)  # credentials decide
    for field, value, check in (
        ("email", row.email, _email),
        ("domain", row.domain, _typed(Domain, str.lower)),
        ("subdomain", row.subdomain, lambda v: msgspec.convert(v.lower(), Subdomain)),  # DNS ignores case
        ("phone_number_id", row.phone_number_id, _typed(ExternalId)),
        ("genesys_integration_id", row.genesys_integration_id, _typed(ExternalId)),
        ("genesys_org_id", row.genesys_org_id, _typed(ExternalId)),
        ("genesys_org_name", row.genesys_org_name, _typed(OrgName)),
        ("genesys_region", row.genesys_region, lambda v: normalise_region(v, "genesysRegion")),
    ):
        _set_checked(plan, field, value, check)
    if row.email is None or not row.email.strip():
        plan.notes.append("no email")
    _set_settings(plan, row.settings)
    _plan_credentials(plan, row, legacy.credentials)
    _plan_keys(plan, legacy.api_keys)
    if columns := {name: value for name, value in row.other_columns.items() if value is not None}:
        _keep(plan, "columns", msgspec.to_builtins(columns))
    return plan


def reject(plan: _LegacyPlan, field: str, value: Any, why: str) -> None:
    """Leave ``field`` out of the tenant, keep the old ``value`` in ``metadata.legacyImport.rejected``, say why."""
    name = wire_name(field)
    if name in (changed := plan.kept.get("changed", {})):
        _keep(plan, "changed", {k: v for k, v in changed.items() if k != name})
    _keep(plan, "rejected", {**plan.kept.get("rejected", {}), name: value})
    plan.tenant = msgspec.structs.replace(plan.tenant, **{field: None})
    for policy in CREDENTIAL_POLICIES:  # a type whose routing key is gone leaves the tenant as its delete would
        if field in (key.field for key in policy.routing_keys):
            plan.tenant = msgspec.structs.replace(plan.tenant, **policy.on_delete())
    plan.notes.append(f"{name} {why}; kept in metadata.legacyImport")


def tenant_fields(tenant: Tenant) -> dict[str, Any]:
    """The fields a rerun compares, as JSON values under their wire names (``metadata`` whole)."""
    fields = {wire_name(f): msgspec.to_builtins(getattr(tenant, f)) for f in MERGED_FIELDS}
    fields["metadata"] = msgspec.to_builtins(tenant.metadata)
    return fields


def digest(tenant_id: str, value: Any) -> str:
    """A digest of ``value`` (credentials, a whole old tenant), never the value itself. Keyed by the tenant id,
    so the same secret held by two tenants does not show as the same digest."""
    encoded = msgspec.json.encode(msgspec.to_builtins(value), order="sorted")
    return hmac.new(tenant_id.encode(), encoded, hashlib.sha256).hexdigest()


# -- the fields -------------------------------------------------------------------------------------------


def _keep(plan: _LegacyPlan, section: str, value: Any) -> None:
    """Put ``value`` under ``metadata.legacyImport.<section>``."""
    plan.kept[section] = value
    # A copy: tenants already handed to storage must not change when the plan does.
    plan.tenant = msgspec.structs.replace(plan.tenant, metadata={**plan.own_metadata, "legacyImport": dict(plan.kept)})


def _store(plan: _LegacyPlan, field: str, value: Any, original: Any) -> None:
    """Set ``field``; an old value that differs from what is stored is kept under ``changed``."""
    plan.tenant = msgspec.structs.replace(plan.tenant, **{field: value})
    if original is not None and original != value:
        _keep(plan, "changed", {**plan.kept.get("changed", {}), wire_name(field): msgspec.to_builtins(original)})


def _set_metadata(plan: _LegacyPlan, raw: Any) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict):
        plan.notes.append("metadata is not an object: kept in metadata.legacyImport")
        _keep(plan, "metadata", raw)
        return
    plan.own_metadata = {k: v for k, v in raw.items() if k != "legacyImport"}
    plan.tenant = msgspec.structs.replace(plan.tenant, metadata=dict(plan.own_metadata))
    if "legacyImport" in raw:  # the import's own key: the old value moves under it
        _keep(plan, "metadata", {"legacyImport": raw["legacyImport"]})


def _set_name(plan: _LegacyPlan, row: LegacyTenantRow) -> None:
    name = (row.name or "").strip()
    if not name:
        plan.notes.append("no name: named after its subdomain or id")
        name = (row.subdomain or "").strip()[:255] or row.tenant_id
    elif len(name) > 255:
        plan.notes.append("name cut to 255 characters")
        name = name[:255]
    _store(plan, "name", name, row.name)
    if row.name is None:  # recorded too: the name shown is made up
        _keep(plan, "changed", {**plan.kept.get("changed", {}), "name": None})


def _set_checked(plan: _LegacyPlan, field: str, value: str | None, check: Callable[[str], str]) -> None:
    if value is None or not value.strip():
        return
    try:
        checked = check(value.strip())
    except ValidationFailedError as exc:
        reject(plan, field, value, f"refused ({exc.details[0].message if exc.details else exc.message})")
        return
    except msgspec.ValidationError as exc:  # said as the API says it: a hint, never a regular expression
        message = problem_from_msgspec(f"{str(exc).split(' - at ')[0]} - at `$.{wire_name(field)}`").message
        reject(plan, field, value, f"refused ({message})")
        return
    _store(plan, field, checked, value)


def _typed(type_: Any, then: Callable[[str], str] = str) -> Callable[[str], str]:
    return lambda value: then(msgspec.convert(value, type_))


def _email(value: str) -> str:
    return normalise_email(msgspec.convert(value, Email))


def _set_settings(plan: _LegacyPlan, raw: Any) -> None:
    if raw is None or raw == {}:
        return
    if not isinstance(raw, dict):
        plan.notes.append("settings is not an object: kept in metadata.legacyImport")
        _keep(plan, "settings", raw)
        return
    known: dict[str, str] = {}
    for key in ("timezone", "language"):
        if isinstance(value := raw.get(key), str):
            try:
                check_settings(msgspec.convert({key: value.strip()}, Settings))
            except (ValidationFailedError, msgspec.ValidationError):
                continue
            known[key] = value.strip()
    plan.tenant = msgspec.structs.replace(plan.tenant, settings=Settings(**known))
    if dropped := {k: v for k, v in raw.items() if known.get(k) != v}:
        _keep(plan, "settings", dropped)
        plan.notes.append(f"settings {', '.join(sorted(dropped))} kept in metadata.legacyImport")


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


# -- credentials and keys ---------------------------------------------------------------------------------


def _plan_credentials(plan: _LegacyPlan, row: LegacyTenantRow, rows: list[LegacyCredentialRow]) -> None:
    by_type: dict[str, list[LegacyCredentialRow]] = {}
    for credential in rows:
        by_type.setdefault(credential.type, []).append(credential)
    for kind, candidates in by_type.items():
        if kind not in CREDENTIAL_POLICIES:
            for credential in candidates:
                _skip_credential(plan, credential.source, "unknown credential type")
            continue
        policy = CREDENTIAL_POLICIES[kind]
        newest_first = sorted(candidates, key=lambda r: r.updated_at or r.created_at or _OLDEST, reverse=True)
        for credential in newest_first:
            item = f"credentials.{kind} ({credential.source})"
            if not credential.is_active:
                _skip_credential(plan, item, "inactive")
            elif kind in plan.credentials:
                _skip_credential(plan, item, "superseded by a newer active row")
            elif (parsed := _parse(policy, credential.credentials, plan, item)) is not None:
                plan.credentials[kind] = parsed
    for policy in CREDENTIAL_POLICIES:
        if (credentials := plan.credentials.get(policy.name)) is not None:
            _take_from_credentials(plan, row, policy, credentials)
        else:
            _release(plan, row, policy)


def _take_from_credentials(plan: _LegacyPlan, row: LegacyTenantRow, policy: CredentialPolicy, credentials: Any) -> None:
    """What the credentials say wins over the tenant row: it is what messages used."""
    for field, value in policy.on_store(credentials, binds_routing=True).items():
        if getattr(plan.tenant, field) == value:
            continue
        if isinstance(getattr(plan.tenant, field), str):  # the row had an id or setting of its own (flags follow)
            plan.notes.append(f"{wire_name(field)} taken from the stored credentials")
        recorded = {**plan.kept.get("changed", {}), **plan.kept.get("rejected", {})}
        _store(plan, field, value, None if wire_name(field) in recorded else getattr(row, field, None))


def _release(plan: _LegacyPlan, row: LegacyTenantRow, policy: CredentialPolicy) -> None:
    """Without a credential of this type, the tenant is as its delete leaves it: a routing key on the tenant
    row only is not routed (the old service did not route it either), and flags say it is not configured."""
    routing = {key.field for key in policy.routing_keys}
    for field, value in policy.on_delete().items():
        if field in routing and getattr(plan.tenant, field) not in (None, value):
            why = f"is on the tenant row only, without {policy.label} credentials (the old service did not route it)"
            reject(plan, field, getattr(row, field, None), f"{why}: not routed")
        elif field not in routing:
            _store(plan, field, value, getattr(row, field, None))  # the old row's value, where it had the field


def _skip_credential(plan: _LegacyPlan, item: str, reason: str) -> None:
    plan.lines.append(ImportLine(plan.tenant.id, item, Outcome.SKIPPED, reason, ItemKind.CREDENTIALS))


def _parse(policy: CredentialPolicy, raw: Any, plan: _LegacyPlan, item: str) -> Credentials | None:
    if not isinstance(raw, dict):
        _skip_credential(plan, item, "not a JSON object")
        return None
    known, dropped = policy.known_fields_only(raw)
    # Identifiers with surrounding spaces would become routing keys nobody sends; secrets are kept exactly.
    secret = policy.secret_wire_names
    trimmed = {k: v.strip() if isinstance(v, str) and k not in secret else v for k, v in known.items()}
    try:
        parsed = policy.parse(trimmed, "")
    except ValidationFailedError as exc:
        _skip_credential(plan, item, exc.message)
        return None
    if dropped:
        plan.notes.append(f"{item}: unused fields dropped: {', '.join(dropped)}")
    if trimmed != known:
        plan.notes.append(f"{item}: spaces around {', '.join(k for k in known if known[k] != trimmed[k])} trimmed")
    return parsed


def _plan_keys(plan: _LegacyPlan, rows: list[LegacyApiKeyRow]) -> None:
    for row in rows:
        # The prefix the API shows too (a sixth of an sk_ key); never more than a quarter of a key of another form.
        shown = row.api_key[: min(11, len(row.api_key) // 4)] + "…"
        if not row.api_key.startswith(SECRET_PREFIX) or len(row.api_key) < 32:
            reason = "not an sk_ key this service can recognise; issue the tenant a new one"
            reason = "inactive" if row.is_active is False else reason
            plan.lines.append(ImportLine(plan.tenant.id, f"api_key {shown}", Outcome.SKIPPED, reason, ItemKind.API_KEY))
            continue
        key_hash = hash_secret(row.api_key)
        key = ApiKey(
            id="key_" + hashlib.sha256(key_hash.encode()).hexdigest()[:16],  # stable across reruns
            tenant_id=plan.tenant.id,
            name=(row.name or "imported").strip()[:100] or "imported",
            prefix=row.api_key[:11],
            key_hash=key_hash,
            created_at=row.created_at or plan.tenant.created_at,
            last_used_at=row.last_used,
        )
        if row.is_active is False:
            plan.inactive_keys[key.id] = key.prefix
        else:
            plan.keys.append(key)
