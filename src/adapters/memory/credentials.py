"""In-memory credential store (sealed records, like the real one)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tenant_adapters.memory.state import StateView
from tenant_core.connections import ConnectionStatus
from tenant_core.credential_types import CredentialType, SealedCredentials


class InMemoryCredentialStore(StateView):
    async def put(self, sealed: SealedCredentials) -> None:
        self._state.credentials[(sealed.tenant_id, sealed.type.value)] = sealed

    async def get(self, tenant_id: str, kind: CredentialType) -> SealedCredentials | None:
        return self._state.credentials.get((tenant_id, kind.value))

    async def remove(self, tenant_id: str, kind: CredentialType) -> bool:
        return self._state.credentials.pop((tenant_id, kind.value), None) is not None

    async def record_status(
        self, tenant_id: str, kind: CredentialType, updated_at: datetime, status: ConnectionStatus
    ) -> bool:
        slot = (tenant_id, kind.value)
        current = self._state.credentials.get(slot)
        if current is None or current.updated_at != updated_at:
            return False
        self._state.credentials[slot] = msgspec.structs.replace(current, status=status)
        return True
