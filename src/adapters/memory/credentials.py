"""In-memory credential store (sealed records, like the real one)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tenant_adapters.memory.state import StateView
from tenant_core.connections import ConnectionStatus
from tenant_core.credential_types import SealedCredentials


class InMemoryCredentialStore(StateView):
    async def put(self, sealed: SealedCredentials) -> None:
        self._state.credentials[(sealed.tenant_id, str(sealed.type))] = sealed

    async def get(self, tenant_id: str, kind: str) -> SealedCredentials | None:
        return self._state.credentials.get((tenant_id, str(kind)))

    async def remove(self, tenant_id: str, kind: str) -> bool:
        return self._state.credentials.pop((tenant_id, str(kind)), None) is not None

    async def record_status(
        self, tenant_id: str, kind: str, updated_at: datetime, status: ConnectionStatus
    ) -> bool:
        slot = (tenant_id, str(kind))
        current = self._state.credentials.get(slot)
        if current is None or current.updated_at != updated_at:
            return False
        self._state.credentials[slot] = msgspec.structs.replace(current, status=status)
        return True
