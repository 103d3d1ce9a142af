"""What a credential type is: a :class:`CredentialPolicy`, one object per type that carries all its rules.

A policy holds the type's fields (a msgspec Struct), which of them are secret and how they are masked, the
older names its fields had, the tenant routing keys it carries and what storing or deleting it sets on the
tenant, and how its connection is checked. :mod:`tenant_core.credential_registry` maps type names to
policies; the vault, the connection checks, the legacy import and the HTTP layer ask it, and never branch on
a type themselves. Adding a type is one module (as :mod:`tenant_core.credential_kinds.genesys`) and one
registration line in :mod:`tenant_core.credential_registry`.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

from tenant_core.connections import ConnectionReport, ConnectionStatus, TokenHealth
from tenant_core.entities import RoutingKey, Tenant, wire_name
from tenant_core.errors import FieldProblem, ValidationFailedError
from tenant_core.validation import problem_from_msgspec, refuse_unstorable_text

if TYPE_CHECKING:
    from tenant_core.ports import Clock, GenesysCloud, MetaGraph, TenantRepository


class CredentialType(enum.StrEnum):
    """The names of the credential types this package ships. Everything that takes a type takes its name (a
    ``str``), so a type registered by an embedder works the same way."""

    GENESYS = "genesys"
    WHATSAPP = "whatsapp"


Secret = Annotated[str, Meta(min_length=1, max_length=4096)]
Text = Annotated[str, Meta(min_length=1, max_length=255)]


class Credentials(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """The base of every credential type's fields (a policy's ``fields`` subclasses it, with ``kw_only=True``,
    which is not inherited): frozen, camelCase on the wire, unknown fields refused."""


class StoredCredentials(msgspec.Struct, frozen=True):
    """A tenant's credential of one type, decrypted (inside the core only)."""

    tenant_id: str
    type: str
    credentials: Credentials
    updated_at: datetime
    status: ConnectionStatus | None = None


class SealedCredentials(msgspec.Struct, frozen=True):
    """What the store keeps: ciphertext and the id of the key that sealed it, and (in clear, as it holds no
    secret) what is known about the connection."""

    tenant_id: str
    type: str
    key_id: str
    ciphertext: bytes
    updated_at: datetime
    status: ConnectionStatus | None = None


@dataclass(frozen=True, slots=True)
class CheckPorts:
    """What a connection check may call: the external APIs, the tenants (who else holds what it found) and the
    clock. ``graph`` is ``None`` when no Meta app is configured."""

    genesys: GenesysCloud
    graph: MetaGraph | None
    tenants: TenantRepository
    clock: Clock


class CheckOutcome(msgspec.Struct, frozen=True):
    """What a connection check found, and what of it is kept.

    ``status`` is kept with the credential; ``refreshed`` replaces the credential's non-secret facts (a
    number's display name); ``more_fields`` computes tenant fields to fill from the current tenant;
    ``conflict`` names the field of a failed check that is a clash with another binding (storing such
    credentials is a 409, not a 400).
    """

    report: ConnectionReport
    status: ConnectionStatus
    refreshed: Any = None
    more_fields: Callable[[Tenant], dict[str, Any]] | None = None
    conflict: FieldProblem | None = None


def mask(value: str) -> str:
    """``****`` plus the last 4 characters; only ``****`` when the value is too short to show any."""
    return "****" + value[-4:] if len(value) >= 8 else "****"


class CredentialPolicy(abc.ABC):
    """Everything one credential type decides. Subclass it, set the class attributes, implement
    :meth:`check`, and override the hooks where the type has rules of its own."""

    #: The type's name: in stored records, in URLs and in request bodies (lowercase letters, digits, ``_``).
    name: ClassVar[str]
    #: How people call it, in messages ("Genesys credentials not stored: …").
    label: ClassVar[str]
    #: The credential's fields: a frozen msgspec Struct with ``rename="camel"`` and ``forbid_unknown_fields``.
    fields: ClassVar[type[msgspec.Struct]]
    #: Fields (Python names) encrypted at rest, as every field is, and masked in every view.
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    #: Older wire names still found in the platform's data and tools → today's wire names (snake_case of
    #: every field is accepted as well).
    legacy_names: ClassVar[Mapping[str, str]] = {}
    #: The tenant routing keys the credential carries → the credential field that holds each. Only an admin
    #: or a service binds them by storing (a tenant principal never moves its own routing).
    routing_keys: ClassVar[Mapping[RoutingKey, str]] = {}
    #: Every tenant field storing or deleting this credential sets: they change together or not at all.
    tenant_fields: ClassVar[tuple[str, ...]] = ()

    # -- fields -------------------------------------------------------------------------------------------

    def parse(self, data: Any, where: str = "credentials.") -> Credentials:
        """Validate raw input (a dict from JSON, or a Struct) against :attr:`fields`; errors name
        ``<where><field>``. Legacy field names are accepted and stored under today's names."""
        raw = msgspec.to_builtins(data) if isinstance(data, msgspec.Struct) else data
        refuse_unstorable_text(raw, where)  # as over HTTP, where the whole body is checked
        if isinstance(raw, dict):
            raw = self.prepared(self._today_names(raw, where))
        try:
            parsed = msgspec.convert(raw, self.fields)
        except msgspec.ValidationError as exc:
            problem = problem_from_msgspec(str(exc))
            field = where.rstrip(".") or "body" if problem.field == "body" else f"{where}{problem.field}"
            raise ValidationFailedError.for_field(field, problem.message) from None
        return self.checked(parsed, where)

    def prepared(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Hook: tidy raw input (under today's wire names) before it is validated."""
        return raw

    def checked(self, credentials: Any, where: str) -> Any:
        """Hook: rules beyond the fields' types, after validation; returns the credential as stored."""
        return credentials

    def known_fields_only(self, raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """``raw`` under today's names without the fields this type does not have, and the names of those
        dropped. For imports of old records, which carry fields nobody reads any more; values never reported."""
        today = self._today_names(raw, "")
        known = {f.encode_name for f in msgspec.structs.fields(self.fields)}
        return {k: v for k, v in today.items() if k in known}, sorted(k for k in today if k not in known)

    @property
    def secret_wire_names(self) -> frozenset[str]:
        """The secret fields under their wire names."""
        return frozenset(f.encode_name for f in msgspec.structs.fields(self.fields) if f.name in self.secret_fields)

    def masked(self, credentials: Any) -> dict[str, Any]:
        """The wire view (camelCase) with every secret field masked."""
        view = msgspec.to_builtins(credentials)
        for name in self.secret_wire_names:
            if view.get(name) is not None:
                view[name] = mask(view[name])
        return view

    def _today_names(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        """``raw`` with legacy and snake_case names renamed; an old and a new name with different values is a
        400."""
        renames = dict(self.legacy_names)
        for field in msgspec.structs.fields(self.fields):
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

    # -- the tenant ---------------------------------------------------------------------------------------

    def on_store(self, credentials: Any, binds_routing: bool) -> dict[str, Any]:
        """The tenant fields storing ``credentials`` sets (Python names). ``binds_routing`` is false for a
        tenant principal: its routing keys are then left as they are.

        By default: each routing key the credential holds, when it binds routing."""
        if not binds_routing:
            return {}
        values = {key.field: getattr(credentials, field) for key, field in self.routing_keys.items()}
        return {field: value for field, value in values.items() if value is not None}

    def on_delete(self) -> dict[str, Any]:
        """The tenant fields deleting the credential sets; also what a tenant is left with when this type's
        routing is taken away (an import that finds the routing key held by another tenant). By default none."""
        return {}

    def unbound(self, credentials: Any, tenant: Tenant) -> list[str]:
        """Routing keys the credential names that the tenant does not carry (wire names)."""
        return [
            wire_name(key.field)
            for key, field in self.routing_keys.items()
            if (sent := getattr(credentials, field)) is not None and sent != getattr(tenant, key.field)
        ]

    # -- the connection -----------------------------------------------------------------------------------

    def health(self, status: ConnectionStatus | None, now: datetime) -> TokenHealth | None:
        """What a view says of the connection's health, for types that have one (``None`` otherwise)."""
        return None

    def can_check(self, ports: CheckPorts) -> bool:
        """Whether :meth:`check` can run with ``ports`` (a type whose far side is not configured cannot):
        scheduled checks leave such a type alone, and ``check-connections`` reports it skipped."""
        return True

    @abc.abstractmethod
    async def check(
        self, ports: CheckPorts, credentials: Any, known: ConnectionStatus | None, tenant: Tenant
    ) -> CheckOutcome:
        """Check that ``credentials`` work for ``tenant``; ``known`` is what was known of the connection.

        Failed steps are reported in the outcome, not raised; raise only when the check cannot run at all
        (:class:`~tenant_core.errors.MetaAppNotConfiguredError`)."""


def field_names(credentials: Any) -> list[str]:
    """Names of the fields present (for the audit log: names, never values)."""
    return [k for k, v in msgspec.to_builtins(credentials).items() if v is not None]
