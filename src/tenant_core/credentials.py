"""Credential types, their validation and their masking: the one place that knows which fields are secret."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from tenant_core.commands import ExternalId
from tenant_core.errors import ValidationFailedError
from tenant_core.validation import problem_from_msgspec


class CredentialType(enum.StrEnum):
    GENESYS = "genesys"
    WHATSAPP = "whatsapp"


#: Genesys Cloud region hosts (as published by Genesys' platform SDKs).
GENESYS_REGIONS: frozenset[str] = frozenset(
    {
        "mypurecloud.com",  # us-east-1
        "use2.us-gov-pure.cloud",  # us-east-2 (FedRAMP)
        "usw2.pure.cloud",  # us-west-2
        "cac1.pure.cloud",  # ca-central-1
        "sae1.pure.cloud",  # sa-east-1
        "mypurecloud.ie",  # eu-west-1
        "euw2.pure.cloud",  # eu-west-2
        "mypurecloud.de",  # eu-central-1
        "euc2.pure.cloud",  # eu-central-2
        "mec1.pure.cloud",  # me-central-1
        "aps1.pure.cloud",  # ap-south-1
        "apne2.pure.cloud",  # ap-northeast-2
        "mypurecloud.jp",  # ap-northeast-1
        "apne3.pure.cloud",  # ap-northeast-3
        "mypurecloud.com.au",  # ap-southeast-2
    }
)

#: Fields whose values are encrypted at rest and masked in every view.
SECRET_FIELDS: frozenset[str] = frozenset({"client_secret", "webhook_secret", "access_token", "verify_token"})

Secret = Annotated[str, Meta(min_length=1, max_length=4096)]
Text = Annotated[str, Meta(min_length=1, max_length=255)]


class GenesysCredentials(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A Genesys Cloud OAuth client (client credentials grant) and the integration it serves."""

    client_id: Text
    client_secret: Secret
    region: Text
    integration_id: ExternalId | None = None
    webhook_secret: Secret | None = None


class WhatsAppCredentials(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A WhatsApp Cloud API access token and the business number it sends from."""

    access_token: Secret
    phone_number_id: ExternalId
    waba_id: ExternalId
    business_account_id: ExternalId | None = None
    verify_token: Secret | None = None
    display_phone_number: Annotated[str, Meta(max_length=32)] | None = None
    quality_rating: Annotated[str, Meta(max_length=32)] | None = None


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


class SealedCredentials(msgspec.Struct, frozen=True):
    """What the store keeps: ciphertext and the id of the key that sealed it."""

    tenant_id: str
    type: CredentialType
    key_id: str
    ciphertext: bytes
    updated_at: datetime


def parse_credentials(kind: CredentialType, data: Any) -> Credentials:
    """Validate raw input (a dict from JSON, or a Struct) against ``kind``; errors name ``credentials.<field>``."""
    raw = msgspec.to_builtins(data) if isinstance(data, msgspec.Struct) else data
    try:
        parsed = msgspec.convert(raw, CREDENTIAL_TYPES[kind])
    except msgspec.ValidationError as exc:
        problem = problem_from_msgspec(str(exc))
        field = "credentials" if problem.field == "body" else f"credentials.{problem.field}"
        raise ValidationFailedError.for_field(field, problem.message) from None
    if isinstance(parsed, GenesysCredentials) and parsed.region not in GENESYS_REGIONS:
        raise ValidationFailedError.for_field(
            "credentials.region", f"must be a Genesys Cloud region host, one of: {', '.join(sorted(GENESYS_REGIONS))}"
        )
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
