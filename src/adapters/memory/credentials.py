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

    async def sealed_with_other_keys(
        self, key_id: str, after: tuple[str, str] | None, limit: int
    ) -> list[SealedCredentials]:
        rows = sorted(
            (k, v) for k, v in self._state.credentials.items() if v.key_id != key_id and (after is None or k > after)
        )
        return [v for _, v in rows[:limit]]

    async def count_sealed_with_other_keys(self, key_id: str) -> int:
        return sum(1 for v in self._state.credentials.values() if v.key_id != key_id)

    async def reseal(self, old: SealedCredentials, key_id: str, ciphertext: bytes) -> bool:
        slot = (old.tenant_id, old.type.value)
        current = self._state.credentials.get(slot)
        if current is None or current.ciphertext != old.ciphertext:
            return False
        self._state.credentials[slot] = msgspec.structs.replace(current, key_id=key_id, ciphertext=ciphertext)
        return True

    async def record_status(
        self, tenant_id: str, kind: CredentialType, updated_at: datetime, status: ConnectionStatus
    ) -> bool:
        slot = (tenant_id, kind.value)
        current = self._state.credentials.get(slot)
        if current is None or current.updated_at != updated_at:
            return False
        self._state.credentials[slot] = msgspec.structs.replace(current, status=status)
        return True
