"""The Storage port: the in-memory and Postgres adapters must behave identically."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tenant_core import Check, ConflictError, ConnectionReport, ConnectionStatus, Settings, TenantQuery, TenantStatus
from tenant_core.credential_types import CredentialType, SealedCredentials
from tenant_core.entities import GENESYS_ORG, INTEGRATION, PHONE_NUMBER, IdempotencyRecord
from tenant_core.sealed_kinds import CREDENTIALS, SealedValue
from tests.support.builders import tenant


async def add(storage, **fields):
    async with storage.unit_of_work() as uow:
        return await uow.tenants.add(tenant(**fields))


async def test_added_tenant_reads_back_equal(storage):
    """What is added is what get returns, field for field."""
    stored = await add(
        storage, phone_number_id="1555", settings=Settings(timezone="UTC", language="pt-BR"), metadata={"tier": [1, 2]}
    )
    assert await storage.tenants.get(stored.id) == stored
    assert await storage.tenants.get("t_0000000000000000") is None


@pytest.mark.parametrize(
    ("field", "first", "second", "wire"),
    [
        ("email", "a@x.com", "A@X.COM", "email"),
        ("domain", "acme.com", "ACME.com", "domain"),
        ("subdomain", "acme", "acme", "subdomain"),
        ("phone_number_id", "1555", "1555", "phoneNumberId"),
        ("genesys_integration_id", "intg-1", "INTG-1", "genesysIntegrationId"),
        ("genesys_org_id", "org-1", "Org-1", "genesysOrgId"),
    ],
)
async def test_unique_fields_conflict_case_insensitively(storage, field, first, second, wire):
    """A second live tenant with the same unique value (any case) is refused, naming the field."""
    await add(storage, **{field: first})
    with pytest.raises(ConflictError) as caught:
        await add(storage, **{field: second})
    assert caught.value.field == wire


async def test_deleted_tenant_releases_unique_values(storage):
    """A soft-deleted tenant no longer holds its email or phone number."""
    old = await add(storage, email="a@x.com", phone_number_id="1555")
    async with storage.unit_of_work() as uow:
        gone = msgspec.structs.replace(old, status=TenantStatus.DELETED, version=2)
        assert await uow.tenants.replace(gone, expected_version=1) is not None
    again = await add(storage, email="a@x.com", phone_number_id="1555")
    assert (await storage.tenants.get_by(PHONE_NUMBER, "1555")).id == again.id


async def test_failed_unit_of_work_leaves_nothing(storage):
    """An exception inside the unit of work rolls back every write in it."""
    with pytest.raises(RuntimeError):
        async with storage.unit_of_work() as uow:
            created = await uow.tenants.add(tenant())
            raise RuntimeError("boom")
    assert await storage.tenants.get(created.id) is None


async def test_conflict_inside_unit_of_work_rolls_back_earlier_writes(storage):
    """The first insert of a transaction is undone when the second one conflicts."""
    await add(storage, email="taken@x.com")
    first = tenant()
    with pytest.raises(ConflictError):
        async with storage.unit_of_work() as uow:
            await uow.tenants.add(first)
            await uow.tenants.add(tenant(email="TAKEN@x.com"))
    assert await storage.tenants.get(first.id) is None


async def test_lookups_find_live_tenants_only(storage):
    """Active and suspended tenants resolve by each lookup key; deleted ones do not."""
    live = await add(storage, phone_number_id="P1", genesys_integration_id="I1", genesys_org_id="O1")
    suspended = await add(storage, phone_number_id="P2", status=TenantStatus.SUSPENDED)
    await add(storage, phone_number_id="P3", status=TenantStatus.DELETED)
    assert (await storage.tenants.get_by(PHONE_NUMBER, "p1")).id == live.id
    assert (await storage.tenants.get_by(INTEGRATION, "i1")).id == live.id
    assert (await storage.tenants.get_by(GENESYS_ORG, "o1")).id == live.id
    assert (await storage.tenants.get_by(PHONE_NUMBER, "P2")).id == suspended.id
    assert await storage.tenants.get_by(PHONE_NUMBER, "P3") is None
    assert await storage.tenants.get_by(PHONE_NUMBER, "nobody") is None


async def test_replace_is_compare_and_set(storage):
    """replace succeeds only from the expected version and returns None otherwise."""
    original = await add(storage)
    renamed = msgspec.structs.replace(original, name="Renamed", version=2)
    async with storage.unit_of_work() as uow:
        stored = await uow.tenants.replace(renamed, expected_version=1)
    assert stored.name == "Renamed" and stored.version == 2
    async with storage.unit_of_work() as uow:
        stale = msgspec.structs.replace(original, name="Stale", version=2)
        assert await uow.tenants.replace(stale, expected_version=1) is None
    assert (await storage.tenants.get(original.id)).name == "Renamed"


async def test_replace_refuses_a_taken_unique_value(storage):
    await add(storage, domain="taken.com")
    mine = await add(storage)
    with pytest.raises(ConflictError) as caught:
        async with storage.unit_of_work() as uow:
            await uow.tenants.replace(msgspec.structs.replace(mine, domain="Taken.com", version=2), 1)
    assert caught.value.field == "domain"


async def test_list_is_newest_first_with_total_and_window(storage):
    base = datetime(2026, 3, 1, tzinfo=UTC)
    ids = [(await add(storage, now=base + timedelta(minutes=i))).id for i in range(5)]
    page, total = await storage.tenants.list(TenantQuery(limit=2, offset=1))
    assert total == 5
    assert [t.id for t in page] == [ids[3], ids[2]]


async def test_list_filters_by_status_and_substring(storage):
    await add(storage, name="Acme Corp", email="ops@acme.com")
    await add(storage, name="Globex", email="it@globex.com", domain="acme-partner.org")
    await add(storage, name="Initech", email="x@initech.com", status=TenantStatus.SUSPENDED)
    await add(storage, name="Acme Deleted", email="d@d.com", status=TenantStatus.DELETED)
    page, total = await storage.tenants.list(TenantQuery(q="ACME"))
    assert total == 2 and {t.name for t in page} == {"Acme Corp", "Globex"}
    page, total = await storage.tenants.list(TenantQuery(status=TenantStatus.SUSPENDED))
    assert [t.name for t in page] == ["Initech"] and total == 1
    page, total = await storage.tenants.list(TenantQuery(status=TenantStatus.DELETED))
    assert [t.name for t in page] == ["Acme Deleted"]
    page, total = await storage.tenants.list(TenantQuery(q="100%_"))
    assert total == 0  # LIKE wildcards in the needle are literal


async def test_remove_returns_what_was_removed(storage):
    created = await add(storage)
    async with storage.unit_of_work() as uow:
        assert (await uow.tenants.remove(created.id)).id == created.id
    assert await storage.tenants.get(created.id) is None
    async with storage.unit_of_work() as uow:
        assert await uow.tenants.remove(created.id) is None


async def test_concurrent_provisioning_creates_one_tenant(storage):
    """Twenty racing get-or-creates for one Genesys org yield one tenant, seen by all."""

    async def provision():
        async with storage.unit_of_work() as uow:
            return await uow.tenants.add_or_get_by_genesys_org(tenant(email=None, genesys_org_id="org-race"))

    results = await asyncio.gather(*(provision() for _ in range(20)))
    assert sum(r.is_new for r in results) == 1
    assert len({r.tenant.id for r in results}) == 1
    _, total = await storage.tenants.list(TenantQuery())
    assert total == 1


async def test_idempotency_keys_remember_once_within_window(storage):
    created = await add(storage)
    now = datetime.now(UTC)
    record = IdempotencyRecord("admin", "k1", "print", created.id, now, "key-a", b"\x00sealed")
    async with storage.unit_of_work() as uow:
        await uow.idempotency.remember(record)
    assert await storage.idempotency.recall("admin", "k1", now - timedelta(hours=24)) == record
    assert await storage.idempotency.recall("admin", "k1", now + timedelta(seconds=1)) is None
    assert await storage.idempotency.recall("other-principal", "k1", now - timedelta(hours=1)) is None
    with pytest.raises(ConflictError):
        async with storage.unit_of_work() as uow:
            await uow.idempotency.remember(msgspec.structs.replace(record, fingerprint="other"))
    later = msgspec.structs.replace(record, fingerprint="new", created_at=now + timedelta(hours=25))
    async with storage.unit_of_work() as uow:  # an expired key may be used again
        await uow.idempotency.remember(later)
    assert (await storage.idempotency.recall("admin", "k1", now)).fingerprint == "new"


async def test_removing_a_tenant_removes_what_it_owns(storage):
    created = await add(storage)
    now = datetime.now(UTC)
    sealed = SealedCredentials(created.id, CredentialType.GENESYS, "k", b"ciphertext", now)
    async with storage.unit_of_work() as uow:
        await uow.idempotency.remember(IdempotencyRecord("admin", "k2", "p", created.id, now))
        await uow.credentials.put(sealed)
    async with storage.unit_of_work() as uow:
        await uow.tenants.remove(created.id)
    assert await storage.idempotency.recall("admin", "k2", now - timedelta(hours=1)) is None
    assert await storage.credentials.get(created.id, CredentialType.GENESYS) is None


async def test_credentials_put_replace_reseal_and_rotation_listing(storage):
    tenants = [await add(storage) for _ in range(3)]
    now = datetime.now(UTC)
    async with storage.unit_of_work() as uow:
        for n, t in enumerate(tenants):
            await uow.credentials.put(SealedCredentials(t.id, CredentialType.WHATSAPP, "old", b"ct%d" % n, now))
        await uow.credentials.put(SealedCredentials(tenants[0].id, CredentialType.GENESYS, "new", b"g", now))
    first = await storage.credentials.get(tenants[0].id, CredentialType.WHATSAPP)
    assert first.ciphertext == b"ct0" and first.key_id == "old"
    assert await storage.sealed.count_sealed_with_other_keys(CREDENTIALS, "new") == 3
    page = await storage.sealed.sealed_with_other_keys(CREDENTIALS, "new", None, 2)
    rest = await storage.sealed.sealed_with_other_keys(CREDENTIALS, "new", page[-1].ref, 2)
    assert len(page) == 2 and len(rest) == 1
    assert {p.ref[0] for p in page + rest} == {t.id for t in tenants}
    listed = next(v for v in page + rest if v.ref == (tenants[0].id, "whatsapp"))
    assert await storage.sealed.reseal(listed, "new", b"resealed")
    assert not await storage.sealed.reseal(listed, "new", b"again")  # no longer what it was
    assert (await storage.credentials.get(tenants[0].id, CredentialType.WHATSAPP)).ciphertext == b"resealed"
    async with storage.unit_of_work() as uow:
        assert await uow.credentials.remove(tenants[1].id, CredentialType.WHATSAPP)
        assert not await uow.credentials.remove(tenants[1].id, CredentialType.WHATSAPP)


async def test_connection_status_lives_and_dies_with_its_credential(storage):
    created = await add(storage)
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    check = ConnectionReport.of([Check("token", True, "valid")], at)
    status = ConnectionStatus(last_check=check, token_checked=True, token_expires_at=at + timedelta(days=60))
    async with storage.unit_of_work() as uow:
        await uow.credentials.put(SealedCredentials(created.id, CredentialType.WHATSAPP, "k", b"ct", at, status))
    assert (await storage.credentials.get(created.id, CredentialType.WHATSAPP)).status == status

    later = msgspec.structs.replace(status, token_invalid=True)
    async with storage.unit_of_work() as uow:
        assert await uow.credentials.record_status(created.id, CredentialType.WHATSAPP, at, later)
        # A check of a credential stored at another time (replaced meanwhile) is dropped.
        other_time = at - timedelta(seconds=1)
        assert not await uow.credentials.record_status(created.id, CredentialType.WHATSAPP, other_time, status)
        assert not await uow.credentials.record_status(created.id, CredentialType.GENESYS, at, status)
    stored = await storage.credentials.get(created.id, CredentialType.WHATSAPP)
    assert stored.status == later
    listed = SealedValue("credentials", (created.id, "whatsapp"), stored.key_id, stored.ciphertext)
    assert await storage.sealed.reseal(listed, "k2", b"resealed")  # rotation keeps the status
    assert (await storage.credentials.get(created.id, CredentialType.WHATSAPP)).status == later
    async with storage.unit_of_work() as uow:  # a new credential starts with its own status (none here)
        await uow.credentials.put(SealedCredentials(created.id, CredentialType.WHATSAPP, "k", b"new", at))
    assert (await storage.credentials.get(created.id, CredentialType.WHATSAPP)).status is None


async def test_read_repository_sees_later_commits(storage):
    """A repository handle taken before a commit sees the committed data (use cases hold it for life)."""
    reader = storage.tenants
    created = await add(storage, phone_number_id="later")
    assert (await reader.get(created.id)).id == created.id
    assert (await reader.get_by(PHONE_NUMBER, "later")).id == created.id


async def test_list_continues_strictly_after_a_cursor_position(storage):
    """Keyset paging: rows after (createdAt, id), newest first, none twice, whatever was added meanwhile."""
    added = [await add(storage) for _ in range(6)]
    newest_first = sorted(added, key=lambda t: (t.created_at, t.id), reverse=True)
    first, total = await storage.tenants.list(TenantQuery(limit=4))
    cursor = (first[-1].created_at, first[-1].id)
    await add(storage)  # a newer tenant arrives between the pages
    rest, _ = await storage.tenants.list(TenantQuery(limit=4, after=cursor))
    assert total == 6 and [t.id for t in first + rest] == [t.id for t in newest_first]


async def test_list_by_cursor_keeps_the_filters(storage):
    for n in range(4):
        await add(storage, status=TenantStatus.SUSPENDED if n % 2 else TenantStatus.ACTIVE)
    first, _ = await storage.tenants.list(TenantQuery(limit=1, status=TenantStatus.SUSPENDED))
    rest, total = await storage.tenants.list(
        TenantQuery(limit=10, status=TenantStatus.SUSPENDED, after=(first[0].created_at, first[0].id))
    )
    assert total == 2 and len(rest) == 1 and rest[0].status is TenantStatus.SUSPENDED


async def test_free_string_ids_of_imported_tenants_are_stored(storage):
    stored = await add(storage, id="demo-tenant-001")
    assert (await storage.tenants.get("demo-tenant-001")) == stored
