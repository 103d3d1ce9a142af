"""Request bodies that carry a credential, generated from the core's credential types.

Each registered credential type (:data:`tenant_core.credential_registry.CREDENTIAL_POLICIES`, types registered
before this module loads) gives a body with its policy's fields under today's names, their snake_case
spellings and the legacy names older tools still send (``legacy_names``), each typed as the field it stands
for: what the core accepts, so a body is refused over HTTP exactly when the core would refuse it. A new
credential type appears in ``POST /credentials`` and in the published contract by itself.

The core decides which of several spellings wins, so no single name is required in msgspec's sense; the
OpenAPI document says which fields are required, each as "one of its spellings"
(:func:`document_required_spellings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIType, Schema
from msgspec import UNSET, UnsetType

from tenant_core.credential_kinds.genesys import GENESYS
from tenant_core.credential_kinds.whatsapp import WHATSAPP
from tenant_core.credential_registry import CREDENTIAL_POLICIES
from tenant_core.credential_types import CredentialPolicy
from tenant_core.errors import ValidationFailedError

#: Fields a policy requires of a stored credential beyond its fields' own (its ``checked`` hook), by type: a
#: WhatsApp credential stored by a caller names its number (only a signup with a WABA alone stores none).
#: A test checks every type's published requirements against its policy.
REQUIRED_TO_STORE: dict[str, tuple[str, ...]] = {WHATSAPP.name: ("phone_number_id",)}


@dataclass(frozen=True)
class Spellings:
    """What the OpenAPI document says of a generated body: the names each required field may be sent
    under, and each legacy name with the field it stands for."""

    required: list[tuple[str, ...]]
    legacy: dict[str, str]


#: Generated bodies by name (their OpenAPI component names).
DOCUMENTED: dict[str, Spellings] = {}


def credential_body(policy: CredentialPolicy, name: str, also_required: tuple[str, ...] = ()) -> type[msgspec.Struct]:
    """The body of a credential of ``policy``'s type; ``also_required`` (Python names) the route requires."""
    fields: list[tuple[str, Any, Any]] = []
    wire: dict[str, str] = {}
    legacy: dict[str, str] = {}
    spellings: dict[str, list[str]] = {}
    own = msgspec.structs.fields(policy.fields)
    by_wire = {f.encode_name: f for f in own}
    for field in own:
        fields.append((field.name, field.type | UnsetType, UNSET))
        wire[field.name] = field.encode_name
        spellings[field.encode_name] = [field.encode_name]
    aliases = {f.name: f.encode_name for f in own if f.name != f.encode_name} | dict(policy.legacy_names)
    for old, today in aliases.items():
        # The core ignores an old name sent as null; any other value is checked as the field it stands for.
        fields.append((f"legacy_{old}", by_wire[today].type | None | UnsetType, UNSET))
        wire[f"legacy_{old}"] = old
        legacy[old] = today
        spellings[today].append(old)
    required = {f.name for f in own if f.required} | set(REQUIRED_TO_STORE.get(policy.name, ())) | set(also_required)
    DOCUMENTED[name] = Spellings(
        required=[tuple(spellings[f.encode_name]) for f in own if f.name in required], legacy=legacy
    )
    return msgspec.defstruct(name, fields, kw_only=True, frozen=True, forbid_unknown_fields=True, rename=wire)


def sent(body: msgspec.Struct) -> dict[str, Any]:
    """The fields the caller sent, under the names it used (the core renames legacy ones)."""
    return msgspec.to_builtins(body)  # UNSET fields are left out


def check_required(body: msgspec.Struct) -> dict[str, Any]:
    """The fields sent in ``body``, after checking each documented required field came under one of its
    spellings: for what a route requires beyond the core (the core checks its own rules again)."""
    fields = sent(body)
    for names in DOCUMENTED[type(body).__name__].required:
        if all(fields.get(name) is None for name in names):
            raise ValidationFailedError.for_field(names[0], f"Object missing required field `{names[0]}`")
    return fields


def _store_variant(policy: CredentialPolicy) -> type[msgspec.Struct]:
    title = "".join(part.capitalize() for part in policy.name.split("_"))
    inner = credential_body(policy, f"{title}CredentialsInput")
    return msgspec.defstruct(
        f"Store{title}Credentials",
        [("credentials", inner)],
        tag_field="type",
        tag=str(policy.name),
        frozen=True,
        forbid_unknown_fields=True,
    )


#: ``POST /credentials``: ``{"type": <type>, "credentials": {...}}``, one variant per registered type.
StoreCredentials = Union[tuple(_store_variant(policy) for policy in CREDENTIAL_POLICIES)]  # type: ignore[misc]  # noqa: UP007


def stored_kind(body: msgspec.Struct) -> str:
    """The credential type a ``POST /credentials`` body names (its tag)."""
    return str(type(body).__struct_config__.tag)


GenesysCredentialsBody = credential_body(GENESYS, "GenesysCredentialsBody", also_required=("integration_id",))
WhatsAppConfigBody = credential_body(WHATSAPP, "WhatsAppConfigBody")


_NULL = Schema(type=OpenAPIType.NULL)


def document_required_spellings(app: Litestar) -> None:
    """Publish what the core requires of the generated bodies: each required field present, not null, under
    one of its spellings (``allOf`` of ``anyOf``). Legacy names are ``deprecated``."""
    components = app.openapi_schema.components
    schemas = (components.schemas or {}) if components else {}
    for name, spellings in DOCUMENTED.items():
        schema = schemas.get(name)
        if not isinstance(schema, Schema):
            continue
        # A required field may be null under one spelling if another carries its value.
        schema.required = None
        schema.all_of = [
            Schema(any_of=[Schema(required=[n], properties={n: Schema(schema_not=_NULL)}) for n in names])
            for names in spellings.required
        ] or None
        for old, today in spellings.legacy.items():
            if isinstance(prop := (schema.properties or {}).get(old), Schema):
                prop.deprecated = True
                prop.description = f"Legacy spelling of {today}"
