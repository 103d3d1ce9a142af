"""Credential types, their validation and their masking: the one place that knows which fields are secret."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from tenant_core.commands import ExternalId, RegionHost
from tenant_core.connections import ConnectionStatus
from tenant_core.errors import ValidationFailedError
from tenant_core.regions import normalise_region
from tenant_core.validation import problem_from_msgspec


class CredentialType(enum.StrEnum):
    """The kinds of credentials a tenant can store, one of each kind."""

    GENESYS = "genesys"
    WHATSAPP = "whatsapp"


#: Fields whose values are encrypted at rest and masked in every view.
SECRET_FIELDS: frozenset[str] = frozenset(
    {"client_secret", "webhook_secret", "access_token", "verify_token", "app_secret", "pin"}
)

Secret = Annotated[str, Meta(min_length=1, max_length=4096)]
Text = Annotated[str, Meta(min_length=1, max_length=255)]
#: A WhatsApp number's two-step verification PIN.
Pin = Annotated[str, Meta(pattern=r"^[0-9]{6}$")]


class GenesysCredentials(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A Genesys Cloud OAuth client (client credentials grant) and the integration it serves."""

    client_id: Text
    client_secret: Secret
    region: RegionHost
    integration_id: ExternalId | None = None
    webhook_secret: Secret | None = None


class WhatsAppCredentials(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A WhatsApp Cloud API access token and the business number it sends from.

    ``phone_number_id`` is required of every caller that stores one; only an Embedded Signup that finished
    with a WABA alone (``FINISH_ONLY_WABA``) stores none. ``pin`` is the number's two-step verification PIN,
    set when this service registered the number.
    """

    access_token: Secret
    phone_number_id: ExternalId | None = None
    waba_id: ExternalId
    business_account_id: ExternalId | None = None
    verify_token: Secret | None = None
    display_phone_number: Annotated[str, Meta(max_length=32)] | None = None
    quality_rating: Annotated[str, Meta(max_length=32)] | None = None
    app_secret: Secret | None = None  # the tenant's own Meta app, when it has one (signs its webhooks)
    pin: Pin | None = None


Credentials = GenesysCredentials | WhatsAppCredentials

CREDENTIAL_TYPES: dict[CredentialType, type[GenesysCredentials] | type[WhatsAppCredentials]] = {
    CredentialType.GENESYS: GenesysCredentials,
    CredentialType.WHATSAPP: WhatsAppCredentials,
}


class StoredCredentials(msgspec.Struct, frozen=True):
    """A tenant's credential of one type, decrypted (inside the core only)."""

    tenant_id: str
    type: CredentialType
    credentials: Credentials
    updated_at: datetime
    status: ConnectionStatus | None = None


class SealedCredentials(msgspec.Struct, frozen=True):
    """What the store keeps: ciphertext and the id of the key that sealed it, and (in clear, as it holds no
    secret) what is known about the connection."""

    tenant_id: str
    type: CredentialType
    key_id: str
    ciphertext: bytes
    updated_at: datetime
    status: ConnectionStatus | None = None


#: Older names still found in the platform's data and tools → today's wire names (snake_case of every
#: field is accepted as well).
LEGACY_NAMES: dict[CredentialType, dict[str, str]] = {
    CredentialType.GENESYS: {"openMsgSecret": "webhookSecret", "openMsgIntegrationId": "integrationId"},
    CredentialType.WHATSAPP: {"businessId": "businessAccountId", "business_id": "businessAccountId"},
}


def _today_names(kind: CredentialType, raw: dict[str, Any], where: str) -> dict[str, Any]:
    """``raw`` with legacy and snake_case names renamed; an old and a new name with different values is a 400."""
    renames = dict(LEGACY_NAMES[kind])
    for field in msgspec.structs.fields(CREDENTIAL_TYPES[kind]):
        if field.name != field.encode_name:
            renames[field.name] = field.encode_name
    result = {k: v for k, v in raw.items() if k not in renames}
    for old, new in renames.items():
        if old not in raw or raw[old] is None:
            continue
        if result.get(new) not in (None, raw[old]):
            raise ValidationFailedError.for_field(f"{where}{old}", f"differs from {new}; send one of them")
        result[new] = raw[old]
    return result


def known_fields_only(kind: CredentialType, raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``raw`` under today's names without the fields ``kind`` does not have, and the names of those dropped.

    For imports of old records, which carry fields nobody reads any more; the values are never reported.
    """
    today = _today_names(kind, raw, "")
    known = {f.encode_name for f in msgspec.structs.fields(CREDENTIAL_TYPES[kind])}
    return {k: v for k, v in today.items() if k in known}, sorted(k for k in today if k not in known)


def parse_credentials(kind: CredentialType, data: Any, where: str = "credentials.") -> Credentials:
    """Validate raw input (a dict from JSON, or a Struct) against ``kind``; errors name ``<where><field>``.

    Legacy field names are accepted and stored under today's names; a Genesys region in any known spelling
    is stored as its canonical host.
    """
    raw = msgspec.to_builtins(data) if isinstance(data, msgspec.Struct) else data
    if isinstance(raw, dict):
        raw = _today_names(kind, raw, where)
        if isinstance(region := raw.get("region"), str):
            raw["region"] = region.strip().lower()
    try:
        parsed = msgspec.convert(raw, CREDENTIAL_TYPES[kind])
    except msgspec.ValidationError as exc:
        problem = problem_from_msgspec(str(exc))
        field = where.rstrip(".") or "body" if problem.field == "body" else f"{where}{problem.field}"
        raise ValidationFailedError.for_field(field, problem.message) from None
    if isinstance(parsed, GenesysCredentials):
        parsed = msgspec.structs.replace(parsed, region=normalise_region(parsed.region, f"{where}region"))
    elif parsed.phone_number_id is None:
        raise ValidationFailedError.for_field(f"{where}phoneNumberId", "Object missing required field `phoneNumberId`")
    return parsed


def mask(value: str) -> str:
    """``****`` plus the last 4 characters; only ``****`` when the value is too short to show any."""
    return "****" + value[-4:] if len(value) >= 8 else "****"


def masked(credentials: Credentials) -> dict[str, Any]:
    """The wire view (camelCase) with every secret field masked."""
    view = msgspec.to_builtins(credentials)
    for field in msgspec.structs.fields(credentials):
        if field.name in SECRET_FIELDS and view.get(field.encode_name) is not None:
            view[field.encode_name] = mask(view[field.encode_name])
    return view


def field_names(credentials: Credentials) -> list[str]:
    """Names of the fields present (for the audit log: names, never values)."""
    return [k for k, v in msgspec.to_builtins(credentials).items() if v is not None]
