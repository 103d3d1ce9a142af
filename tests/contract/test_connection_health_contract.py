"""Connection health as the store reads it, which connections are due for a check, and the fleet lock of the
checks: in-memory and Postgres answer alike (Postgres computes health in SQL; these tests keep it the rule of
``ConnectionStatus.health``)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.memory import InMemoryCache
from tenant_adapters.postgres import PostgresStorage, create_pool
from tenant_core import (
    SYSTEM,
    Check,
    ConnectionReport,
    ConnectionStatus,
    CredentialType,
    CredentialVault,
    EventFeed,
    SealedCredentials,
    SealedValues,
    TenantCache,
    TenantDirectory,
    TenantStatus,
)
from tenant_core.clock import ManualClock
from tenant_core.use_cases.connection_watch import WATCH_LOCK
from tests.support.builders import tenant
from tests.support.servers import separate_database

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY, WEEK = timedelta(days=1), timedelta(days=7)
GENESYS, WHATSAPP = CredentialType.GENESYS, CredentialType.WHATSAPP


def _checked(at: datetime, ok: bool = True, **fields) -> ConnectionStatus:
    report = ConnectionReport.of([Check("token", ok, "detail")], at)
    return ConnectionStatus(last_check=report, token_checked=True, token_invalid=not ok, **fields)


#: (credential type, status, tenant status) → the health expected at NOW.
CASES = [
    (WHATSAPP, None, TenantStatus.ACTIVE, "unknown"),
    (WHATSAPP, ConnectionStatus(token_checked=True), TenantStatus.ACTIVE, "ok"),  # never expires
    (WHATSAPP, _checked(NOW - timedelta(hours=3), token_expires_at=NOW + WEEK), TenantStatus.ACTIVE, "expiring"),
    (WHATSAPP, _checked(NOW, token_expires_at=NOW + WEEK + timedelta(seconds=1)), TenantStatus.ACTIVE, "ok"),
    (
        WHATSAPP,
        _checked(NOW, token_expires_at=NOW + 30 * WEEK, data_access_expires_at=NOW + timedelta(days=2)),
        TenantStatus.SUSPENDED,  # still a stored connection
        "expiring",
    ),
    (WHATSAPP, _checked(NOW - WEEK, token_expires_at=NOW), TenantStatus.ACTIVE, "invalid"),  # expired since
    (WHATSAPP, _checked(NOW, ok=False, token_expires_at=NOW + timedelta(days=1)), TenantStatus.ACTIVE, "invalid"),
    (GENESYS, _checked(NOW - timedelta(days=2)), TenantStatus.ACTIVE, "ok"),
    (GENESYS, _checked(NOW, ok=False), TenantStatus.ACTIVE, "invalid"),
    (  # every check so far found Genesys away
        GENESYS,
        ConnectionStatus(last_check=ConnectionReport.of([Check("token", False, "timeout")], NOW - 3 * DAY)),
        TenantStatus.ACTIVE,
        "unknown",
    ),
    (GENESYS, _checked(NOW - timedelta(days=9)), TenantStatus.DELETED, None),  # a deleted tenant's: not counted
]
STORED_AT = NOW - timedelta(days=5)


async def _seed(storage) -> list[str]:
    ids = []
    async with storage.unit_of_work() as uow:
        for n, (kind, status, tenant_status, _) in enumerate(CASES):
            added = await uow.tenants.add(tenant(id=f"t_{n:016x}", status=tenant_status))
            await uow.credentials.put(SealedCredentials(added.id, kind, "k", b"ct", STORED_AT, status))
            ids.append(added.id)
    return ids


async def test_connections_are_counted_by_type_and_health_as_the_status_rule_says(storage):
    await _seed(storage)
    reading = await storage.connections(NOW)
    expected: dict[str, dict[str, int]] = {}
    for kind, status, _, health in CASES:
        if health is not None:
            by_health = expected.setdefault(kind.value, {})
            by_health[health] = by_health.get(health, 0) + 1
            assert (status or ConnectionStatus()).health(NOW).value == health  # the rule the store must keep
    assert reading.counts == expected
    # The next expiry among tokens that still work: the data access ending in two days.
    assert reading.next_expiry == {"whatsapp": NOW + timedelta(days=2)}
    # The least recently checked of each type (never checked: since it was stored); the deleted one is ignored.
    assert reading.oldest_check == {"whatsapp": NOW - WEEK, "genesys": NOW - 3 * DAY}


async def test_an_empty_store_counts_nothing_and_has_no_expiry(storage):
    reading = await storage.connections(NOW)
    assert reading.counts == {} and reading.next_expiry == {} and reading.oldest_check == {}


async def test_due_connections_come_never_checked_first_then_least_recently_checked(storage):
    ids = await _seed(storage)
    due = await storage.credentials.due_for_check(NOW - DAY, [GENESYS, WHATSAPP], 100)
    # Never checked (by tenant id), then checked a week, three days and two days ago; the deleted tenant's never.
    assert due == [(ids[0], WHATSAPP), (ids[1], WHATSAPP), (ids[5], WHATSAPP), (ids[9], GENESYS), (ids[7], GENESYS)]
    assert await storage.credentials.due_for_check(NOW - DAY, [GENESYS], 1) == [(ids[9], GENESYS)]
    # Checked exactly a period ago is due; a moment later it would not be.
    assert await storage.credentials.due_for_check(NOW - 2 * DAY, [GENESYS], 100) == [
        (ids[9], GENESYS),
        (ids[7], GENESYS),
    ]
    later = await storage.credentials.due_for_check(NOW - 2 * DAY - timedelta(seconds=1), [GENESYS], 100)
    assert later == [(ids[9], GENESYS)]


async def test_one_holder_of_a_fleet_lock_at_a_time(storage):
    async with storage.locks.try_hold(WATCH_LOCK) as first:
        assert first is not None and await first.still_held()
        async with storage.locks.try_hold(WATCH_LOCK) as second:
            assert second is None
    async with storage.locks.try_hold(WATCH_LOCK) as again:
        assert again is not None  # let go at the end of the block


async def test_a_fleet_lock_is_refused_to_another_process_and_freed_when_its_holder_dies(
    postgres_storage, clean_postgres, postgres_url
):
    """Two processes are two pools. A holder whose connection ends (a crash) loses the lock at once: the server
    lets go of it, and the holder is told it no longer holds it."""
    other = await create_pool(await separate_database(postgres_url, "contract_tests"), max_size=2)
    try:
        elsewhere = PostgresStorage(other)
        async with postgres_storage.locks.try_hold(WATCH_LOCK) as held:
            async with elsewhere.locks.try_hold(WATCH_LOCK) as refused:
                assert refused is None
            await clean_postgres.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1",
                0x7E4A_0E19,
            )
            async with elsewhere.locks.try_hold(WATCH_LOCK) as taken:
                assert taken is not None
            held._confirmed -= 10  # ask the server now rather than within the second
            assert not await held.still_held()
    finally:
        await other.close()


async def test_concurrent_checks_of_one_credential_announce_its_failure_once(storage):
    """Checks of the same credential recorded at the same moment: each reads what the one before it kept, so
    ``connection.failed`` goes out once (Postgres holds the credential's row to the commit). Five rounds, each
    on freshly stored credentials, of ten checks at once."""
    sealed = SealedValues(AesGcmCipher({"k": os.urandom(32)}))
    cache = TenantCache(InMemoryCache())
    vault = CredentialVault(storage, sealed, cache, TenantDirectory(storage.tenants, cache), ManualClock(NOW))
    async with storage.unit_of_work() as uow:
        added = await uow.tenants.add(tenant())
    for n in range(5):
        data = {"clientId": "c", "clientSecret": f"s{n}", "region": "mypurecloud.ie"}
        await vault.store(SYSTEM, added.id, GENESYS, data, status=_checked(NOW))
        stored = await vault.opened(added.id, GENESYS)
        await asyncio.gather(*(vault.record_check(SYSTEM, stored, _checked(NOW, ok=False)) for _ in range(10)))
    events = (await EventFeed(storage).read(SYSTEM, limit=100, types=["connection.failed"])).events
    assert len(events) == 5
