"""The legacy import's records in memory."""

from __future__ import annotations

from tenant_adapters.memory.state import StateView
from tenant_core.legacy import ImportRecord


class InMemoryImportRecords(StateView):
    async def get(self, tenant_id: str) -> ImportRecord | None:
        return self._state.legacy_imports.get(tenant_id)

    async def put(self, record: ImportRecord) -> None:
        self._state.legacy_imports[record.tenant_id] = record
