"""Connections checked continuously, on the in-memory adapters: what is due, what a check announces, and once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tenant_adapters.memory import InMemoryGenesysCloud, InMemoryMetaGraph
from tenant_core import (
    SYSTEM,
    Check,
    ConnectionChecks,
    ConnectionReport,
    ConnectionStatus,
    CredentialType,
    CredentialVault,
    EventFeed,
    GraphPhoneNumber,
    TokenHealth,
)
from tenant_core.clock import ManualClock
from tenant_core.connection_news import after_check
from tenant_core.use_cases.connection_watch import WATCH_LOCK, ConnectionWatch
from tests.support.builders import create_command
from tests.support.stored_connections import GENESYS, ORG, REGION, TOKEN, WHATSAPP

DAY = timedelta(days=1)
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


class SlowGenesys(InMemoryGenesysCloud):
    """Genesys that takes a moment per token and counts how many tokens are asked for at once."""

    in_flight = 0
    most_at_once = 0

    async def token(self, region: str, client_id: str, client_secret: str) -> str:
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            return await super().token(region, client_id, client_secret)
        finally:
            self.in_flight -= 1


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def genesys() -> SlowGenesys:
    cloud = SlowGenesys(integrations={ORG.id: {"int-1"}})
    cloud.add_client(REGION, "client-1", "secret-1", ORG)
    return cloud


@pytest.fixture
def graph() -> InMemoryMetaGraph:
    return InMemoryMetaGraph(
        wabas={TOKEN: ["100"]}, numbers={"100": [GraphPhoneNumber("1001", "+1 555 1001", "GREEN", "Acme")]}
    )


@pytest.fixture
def vault(storage, tenant_cache, clock, sealed, directory) -> CredentialVault:
    return CredentialVault(storage, sealed, tenant_cache, directory, clock)


@pytest.fixture
def checks(storage, vault, directory, clock, genesys, graph) -> ConnectionChecks:
    return ConnectionChecks(storage, vault, directory, clock, genesys, graph)


@pytest.fixture
def watch(storage, checks, clock) -> ConnectionWatch:
    return ConnectionWatch(storage, checks, storage.locks, clock, every=DAY, concurrency=2)


async def _stored(tenants, vault, kind: CredentialType, data: dict) -> str:
    tenant_id = (await tenants.create(SYSTEM, create_command())).tenant.id
    await vault.store(SYSTEM, tenant_id, kind, data)
    return tenant_id


async def _news(storage, tenant_id: str | None = None) -> list[tuple[str, str, dict]]:
    """Every connection event in the feed: (type, tenant, data)."""
    page = await EventFeed(storage).read(SYSTEM, limit=1000)
    return [
        (e.type, e.subject, e.data)
        for e in page.events
        if e.type.startswith(("connection.", "whatsapp.token")) and tenant_id in (None, e.subject)
    ]


# -- the rule: what a recorded check announces ------------------------------------------------------------------


def _checked(ok: bool, at: datetime = T0, **fields) -> ConnectionStatus:
    report = ConnectionReport.of([Check("token", ok, "fine" if ok else "refused")], at)
    return ConnectionStatus(last_check=report, token_checked=True, token_invalid=not ok, **fields)


def test_a_failure_is_announced_once_and_its_recovery_once():
    kind = CredentialType.GENESYS
    status, news = after_check(kind, None, _checked(False), T0)
    assert [n.action.value for n in news] == ["connection.failed"]
    assert news[0].detail["failedChecks"] == [{"name": "token", "detail": "refused"}]
    status, news = after_check(kind, status, _checked(False), T0 + DAY)
    assert news == [] and status.failure_announced
    status, news = after_check(kind, status, _checked(True), T0 + 2 * DAY)
    assert [n.action.value for n in news] == ["connection.recovered"] and not status.failure_announced
    assert after_check(kind, status, _checked(True), T0 + 3 * DAY)[1] == []


def test_a_first_check_that_passes_announces_nothing():
    assert after_check(CredentialType.GENESYS, None, _checked(True), T0)[1] == []


def test_an_expiring_token_is_announced_once_per_stored_token():
    ends = T0 + timedelta(days=6)
    status, news = after_check(CredentialType.WHATSAPP, None, _checked(True, token_expires_at=ends), T0)
    assert [(n.action.value, n.detail["expiresAt"]) for n in news] == [
        ("whatsapp.token_expiring", "2026-05-07T09:00:00Z")
    ]
    again = after_check(CredentialType.WHATSAPP, status, _checked(True, token_expires_at=ends), T0 + DAY)
    assert again[1] == []
    # A token refused in between and found working again is recovered, not announced as expiring a second time.
    status, news = after_check(CredentialType.WHATSAPP, again[0], _checked(False), T0 + 2 * DAY)
    status, news = after_check(CredentialType.WHATSAPP, status, _checked(True, token_expires_at=ends), T0 + 3 * DAY)
    assert [n.action.value for n in news] == ["connection.recovered"]


def test_a_known_expiry_that_passes_is_a_failure_even_when_the_far_side_is_away():
    ends = T0 + timedelta(days=6)
    status, _ = after_check(CredentialType.WHATSAPP, None, _checked(True, token_expires_at=ends), T0)
    away = ConnectionReport.of([Check("token", False, "could not ask Meta: timeout")], T0 + 7 * DAY)
    kept_as_known = ConnectionStatus(**{**_fields(status), "last_check": away})
    _, news = after_check(CredentialType.WHATSAPP, status, kept_as_known, T0 + 7 * DAY)
    assert [n.action.value for n in news] == ["connection.failed"]
    assert news[0].detail["expiredAt"] == "2026-05-07T09:00:00Z"


def _fields(status: ConnectionStatus) -> dict:
    return {name: getattr(status, name) for name in status.__struct_fields__}


# -- the watch -----------------------------------------------------------------------------------------------------


async def test_a_sweep_checks_what_is_due_and_again_a_period_later(tenants, vault, watch, storage, clock, genesys):
    await _stored(tenants, vault, CredentialType.GENESYS, GENESYS)
    await _stored(tenants, vault, CredentialType.WHATSAPP, WHATSAPP)
    first = await watch.sweep()
    assert (first.checked, first.failed, first.errors) == (2, 0, [])
    clock.advance(DAY - timedelta(seconds=1))
    assert (await watch.sweep()).checked == 0  # checked less than a period ago
    clock.advance(timedelta(seconds=1))
    assert (await watch.sweep()).checked == 2
    health = await storage.connections(clock.now())
    assert health.counts["genesys"]["ok"] == 1 and health.counts["whatsapp"]["ok"] == 1


async def test_a_token_expiring_in_six_days_is_announced_once_over_many_sweeps(
    tenants, vault, watch, storage, clock, graph
):
    tenant_id = await _stored(tenants, vault, CredentialType.WHATSAPP, WHATSAPP)
    graph.expiries[TOKEN] = (clock.now() + timedelta(days=6), None)
    for _ in range(4):
        await watch.sweep()
        clock.advance(DAY)
    news = await _news(storage, tenant_id)
    assert [kind for kind, _, _ in news] == ["whatsapp.token_expiring"]
    assert news[0][2]["credentialType"] == "whatsapp" and news[0][2]["expiresAt"] == "2026-05-07T09:00:00Z"
    assert graph.steps.count("debug_token") == 4
    # On the seventh day the token has expired: the connection failed.
    clock.set(T0 + timedelta(days=6, seconds=1))
    await watch.sweep()
    assert [kind for kind, _, _ in await _news(storage, tenant_id)] == ["whatsapp.token_expiring", "connection.failed"]


async def test_a_revoked_token_fails_and_a_new_one_recovers(tenants, vault, watch, storage, clock, graph):
    tenant_id = await _stored(tenants, vault, CredentialType.WHATSAPP, WHATSAPP)
    await watch.sweep()
    graph.revoked.add(TOKEN)
    clock.advance(DAY)
    report = await watch.sweep()
    assert (report.checked, report.failed) == (1, 1)
    graph.revoked.clear()
    clock.advance(DAY)
    await watch.sweep()
    news = await _news(storage, tenant_id)
    assert [kind for kind, _, _ in news] == ["connection.failed", "connection.recovered"]
    assert news[0][2]["health"] == "invalid" and news[1][2]["health"] == "ok"
    audit = [e.action for e in storage._state.audit if e.tenant_id == tenant_id]
    assert audit[-2:] == ["connection.failed", "connection.recovered"]  # each announced by the watch, audited
    assert {e.actor for e in storage._state.audit if e.action.startswith("connection.")} == {"connection-watch"}


async def test_genesys_unreachable_keeps_the_known_health(tenants, vault, watch, storage, clock, genesys):
    tenant_id = await _stored(tenants, vault, CredentialType.GENESYS, GENESYS)
    await watch.sweep()
    genesys.unreachable.add("integration")
    clock.advance(DAY)
    assert (await watch.sweep()).failed == 1  # the check failed …
    assert (await storage.connections(clock.now())).counts["genesys"]["ok"] == 1  # … and said nothing of health
    genesys.unreachable.clear()
    genesys.clients[(REGION, "client-1")] = ("rotated-secret", ORG)  # the secret was rotated in Genesys
    clock.advance(DAY)
    await watch.sweep()
    assert (await storage.connections(clock.now())).counts["genesys"]["invalid"] == 1
    assert [kind for kind, _, _ in await _news(storage, tenant_id)] == ["connection.failed"]


async def test_an_unreachable_first_check_leaves_genesys_unknown(tenants, vault, watch, storage, genesys):
    await _stored(tenants, vault, CredentialType.GENESYS, GENESYS)
    genesys.unreachable.add("token")
    await watch.sweep()
    assert (await storage.connections(T0)).counts["genesys"]["unknown"] == 1
    assert await _news(storage) == []


async def test_only_one_sweep_runs_at_a_time(tenants, vault, watch, storage, genesys):
    await _stored(tenants, vault, CredentialType.GENESYS, GENESYS)
    async with storage.locks.try_hold(WATCH_LOCK) as held:
        assert held is not None
        assert await watch.sweep() is None  # another holds the watch: nothing checked
    assert genesys.most_at_once == 0
    assert (await watch.sweep()).checked == 1


async def test_checks_run_at_most_concurrency_at_a_time(tenants, vault, watch, genesys):
    for _ in range(6):
        await _stored(tenants, vault, CredentialType.GENESYS, GENESYS | {"integrationId": None})
    assert (await watch.sweep()).checked == 6
    assert genesys.most_at_once == 2


async def test_whatsapp_is_left_alone_without_a_meta_app(tenants, vault, storage, directory, clock, genesys):
    checks = ConnectionChecks(storage, vault, directory, clock, genesys, None)
    watch = ConnectionWatch(storage, checks, storage.locks, clock, every=DAY)
    await _stored(tenants, vault, CredentialType.WHATSAPP, WHATSAPP)
    await _stored(tenants, vault, CredentialType.GENESYS, GENESYS)
    report = await watch.sweep()
    assert (report.checked, report.errors) == (1, [])
    assert (await storage.connections(clock.now())).counts["whatsapp"]["unknown"] == 1


async def test_a_check_that_cannot_run_is_reported_and_rests_for_a_period(tenants, vault, watch, storage, clock):
    tenant_id = await _stored(tenants, vault, CredentialType.GENESYS, GENESYS)
    key = (tenant_id, "genesys")
    storage._state.credentials[key] = msgspec.structs.replace(storage._state.credentials[key], ciphertext=b"garbage")
    report = await watch.sweep()
    assert [(e.tenant_id, e.kind) for e in report.errors] == [(tenant_id, "genesys")]
    clock.advance(timedelta(hours=1))
    assert (await watch.sweep()).errors == []  # not tried again within the period …
    clock.advance(DAY)
    assert len((await watch.sweep()).errors) == 1  # … but after it


async def test_a_manual_check_counts_and_announces_like_a_scheduled_one(tenants, vault, watch, checks, storage, graph):
    tenant_id = await _stored(tenants, vault, CredentialType.WHATSAPP, WHATSAPP)
    graph.revoked.add(TOKEN)
    await checks.verify_whatsapp(SYSTEM, tenant_id)
    assert (await watch.sweep()).checked == 0  # checked by hand just now: not due
    assert [kind for kind, _, _ in await _news(storage, tenant_id)] == ["connection.failed"]
    view = await vault.view(SYSTEM, tenant_id, CredentialType.WHATSAPP)
    assert view.health is TokenHealth.INVALID
