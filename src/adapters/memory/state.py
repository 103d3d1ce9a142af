"""The in-memory database: one state object, copied per transaction and published on commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec

from tenant_core.change_events import ChangeEvent
from tenant_core.credential_types import SealedCredentials
from tenant_core.entities import ApiKey, AuditEvent, IdempotencyRecord, Tenant
from tenant_core.legacy import ImportRecord
from tenant_core.webhooks import Delivery, Lease, Webhook


class State(msgspec.Struct):
    tenants: dict[str, Tenant] = msgspec.field(default_factory=dict)
    idempotency: dict[tuple[str, str], IdempotencyRecord] = msgspec.field(default_factory=dict)
    api_keys: dict[str, ApiKey] = msgspec.field(default_factory=dict)
    audit: list[AuditEvent] = msgspec.field(default_factory=list)
    credentials: dict[tuple[str, str], SealedCredentials] = msgspec.field(default_factory=dict)
    signup_nonces: dict[str, datetime] = msgspec.field(default_factory=dict)
    events: list[ChangeEvent] = msgspec.field(default_factory=list)
    last_position: int = 0
    pruned_through: int = 0
    consumers: dict[str, int] = msgspec.field(default_factory=dict)
    webhooks: dict[str, Webhook] = msgspec.field(default_factory=dict)
    deliveries: dict[str, Delivery] = msgspec.field(default_factory=dict)
    leases: dict[str, Lease] = msgspec.field(default_factory=dict)  # by delivery id
    legacy_imports: dict[str, ImportRecord] = msgspec.field(default_factory=dict)  # not owned: outlives its tenant
    revoked_api_keys: dict[str, ApiKey] = msgspec.field(default_factory=dict)  # by key hash

    def copy(self) -> State:
        return State(
            dict(self.tenants),
            dict(self.idempotency),
            dict(self.api_keys),
            list(self.audit),
            dict(self.credentials),
            dict(self.signup_nonces),
            list(self.events),
            self.last_position,
            self.pruned_through,
            dict(self.consumers),
            dict(self.webhooks),
            dict(self.deliveries),
            dict(self.leases),
            dict(self.legacy_imports),
            dict(self.revoked_api_keys),
        )

    def drop_owned_by(self, tenant_id: str) -> None:
        """What a tenant owns goes with it (the database does this with ON DELETE CASCADE)."""
        self.api_keys = {k: v for k, v in self.api_keys.items() if v.tenant_id != tenant_id}
        self.revoked_api_keys = {k: v for k, v in self.revoked_api_keys.items() if v.tenant_id != tenant_id}
        self.idempotency = {k: v for k, v in self.idempotency.items() if v.tenant_id != tenant_id}
        self.credentials = {k: v for k, v in self.credentials.items() if k[0] != tenant_id}


class StateView:
    """Reads and writes whichever state ``state_of`` returns: the committed one, or a transaction's copy."""

    def __init__(self, state_of: Callable[[], State]) -> None:
        self._state_of = state_of

    @property
    def _state(self) -> State:
        return self._state_of()
