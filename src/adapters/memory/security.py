"""In-memory API keys and audit log."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from tenant_adapters.memory.state import StateView
from tenant_core.entities import ApiKey, AuditEvent


class InMemoryApiKeyRepository(StateView):
    async def add(self, key: ApiKey) -> ApiKey:
        self._state.api_keys[key.id] = key
        return key

    async def list_for_tenant(self, tenant_id: str) -> list[ApiKey]:
        keys = [k for k in self._state.api_keys.values() if k.tenant_id == tenant_id]
        return sorted(keys, key=lambda k: (k.created_at, k.id), reverse=True)

    async def find_by_hash(self, key_hash: str, *, include_revoked: bool = False) -> ApiKey | None:
        live = next((k for k in self._state.api_keys.values() if k.key_hash == key_hash), None)
        return self._state.revoked_api_keys.get(key_hash) if live is None and include_revoked else live

    async def remove(self, tenant_id: str, key_id: str) -> ApiKey | None:
        key = self._state.api_keys.get(key_id)
        if key is None or key.tenant_id != tenant_id:
            return None
        revoked = msgspec.structs.replace(key, last_used_at=None, revoked_at=datetime.now(UTC))
        self._state.revoked_api_keys[key.key_hash] = revoked
        return self._state.api_keys.pop(key_id)

    async def touch(self, key_id: str, at: datetime) -> None:
        if (key := self._state.api_keys.get(key_id)) is not None:
            self._state.api_keys[key_id] = msgspec.structs.replace(key, last_used_at=at)


class InMemoryAuditLog(StateView):
    async def record(self, event: AuditEvent) -> None:
        self._state.audit.append(msgspec.structs.replace(event, id=len(self._state.audit) + 1))

    async def list_for_tenant(
        self, tenant_id: str, limit: int, offset: int, before: int | None = None
    ) -> tuple[list[AuditEvent], int]:
        events = [e for e in reversed(self._state.audit) if e.tenant_id == tenant_id]
        window = [e for e in events if e.id is not None and e.id < before] if before is not None else events
        return window[offset : offset + limit], len(events)
