"""The legacy import's records (``ImportRecords``): the in-memory and Postgres adapters behave alike."""

from __future__ import annotations

from datetime import UTC, datetime

from tenant_core import ImportRecord, Seen
from tests.support.builders import tenant

SEEN = Seen(
    tenant={"name": "Demo", "metadata": {"legacyImport": {"changed": {"plan": "gold"}}}, "settings": {}},
    credentials={"genesys": "ab" * 32},
    api_keys=["key_0000000000000001"],
)


async def test_a_record_reads_back_equal_and_put_replaces_it(storage):
    """What is put is what get returns; a second put for the same tenant replaces the first."""
    now = datetime(2026, 2, 1, tzinfo=UTC)
    first = ImportRecord("demo-1", "digest-1", SEEN, now)
    async with storage.unit_of_work() as uow:
        await uow.legacy_imports.put(first)
    assert await storage.legacy_imports.get("demo-1") == first
    assert await storage.legacy_imports.get("other") is None
    unknown = ImportRecord("demo-1", "", None, now)  # what the migration writes for earlier imports
    async with storage.unit_of_work() as uow:
        await uow.legacy_imports.put(unknown)
    assert await storage.legacy_imports.get("demo-1") == unknown


async def test_a_record_commits_with_its_unit_of_work_or_not_at_all(storage):
    try:
        async with storage.unit_of_work() as uow:
            await uow.legacy_imports.put(ImportRecord("demo-2", "d", SEEN, datetime.now(UTC)))
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    assert await storage.legacy_imports.get("demo-2") is None


async def test_a_record_outlives_its_tenant(storage):
    """Deleting a tenant keeps its record, so the import does not create it again."""
    async with storage.unit_of_work() as uow:
        created = await uow.tenants.add(tenant(id="demo-3"))
        await uow.legacy_imports.put(ImportRecord(created.id, "d", SEEN, datetime.now(UTC)))
    async with storage.unit_of_work() as uow:
        await uow.tenants.remove(created.id)
    assert (await storage.legacy_imports.get(created.id)).source_digest == "d"
