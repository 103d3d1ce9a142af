"""The SealedValueStore port (``storage.sealed``) over every sealed kind, memory and Postgres alike; and, on the
real schema, that no sealed column lives outside the inventory and that the start-up check reads indexes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tenant_adapters.postgres.sealed import SEALED_COLUMNS, one_per_key_sql
from tenant_core.credential_types import CredentialType, SealedCredentials
from tenant_core.entities import IdempotencyRecord
from tenant_core.sealed_kinds import CREDENTIALS, IDEMPOTENCY_API_KEYS, SEALED_KINDS, WEBHOOK_SECRETS, SealedKind
from tenant_core.webhooks import Webhook, WebhookStatus
from tests.support.builders import tenant

NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def store(storage, kind: SealedKind, n: int, key_id: str | None, ciphertext: bytes | None) -> tuple[str, ...]:
    """Store the ``n``-th record of ``kind`` through its own port; returns its ref."""
    async with storage.unit_of_work() as uow:
        owner = (await uow.tenants.add(tenant())).id
        if kind is CREDENTIALS:
            await uow.credentials.put(SealedCredentials(owner, CredentialType.GENESYS, key_id, ciphertext, NOW))
            return (owner, "genesys")
        if kind is WEBHOOK_SECRETS:
            webhook_id = f"wh_{n:04d}"
            hook = Webhook(webhook_id, "https://h.example/", ["tenant.created"], None, None, WebhookStatus.ACTIVE,
                           key_id, ciphertext, NOW, NOW)  # fmt: skip
            await uow.webhooks.add(hook)
            return (webhook_id,)
        await uow.idempotency.remember(IdempotencyRecord("admin", f"idem-{n}", "fp", owner, NOW, key_id, ciphertext))
        return ("admin", f"idem-{n}", owner)


@pytest.mark.parametrize("kind", SEALED_KINDS, ids=lambda k: k.name)
async def test_listing_counting_and_resealing_each_kind(storage, kind):
    """Values under other keys are listed in ref order, page by page; a re-seal is a compare-and-set."""
    refs = sorted([await store(storage, kind, n, "old", b"ct-%d" % n) for n in range(3)])
    await store(storage, kind, 3, "new", b"ct-new")
    sealed = storage.sealed
    assert await sealed.count_sealed_with_other_keys(kind, "new") == 3
    page = await sealed.sealed_with_other_keys(kind, "new", None, 2)
    rest = await sealed.sealed_with_other_keys(kind, "new", page[-1].ref, 2)
    assert [v.ref for v in page + rest] == refs
    assert {(v.kind, v.key_id) for v in page + rest} == {(kind.name, "old")}

    assert await sealed.reseal(page[0], "new", b"resealed")
    assert not await sealed.reseal(page[0], "new", b"again")  # no longer what was read
    assert await sealed.count_sealed_with_other_keys(kind, "new") == 2
    assert [v.ref for v in await sealed.sealed_with_other_keys(kind, "new", None, 10)] == refs[1:]
    per_key = await sealed.one_per_key(kind)
    assert [v.key_id for v in per_key] == ["new", "old"]


async def test_an_idempotency_record_without_a_sealed_key_is_not_a_sealed_value(storage):
    await store(storage, IDEMPOTENCY_API_KEYS, 1, None, None)
    assert await storage.sealed.count_sealed_with_other_keys(IDEMPOTENCY_API_KEYS, "k") == 0
    assert await storage.sealed.one_per_key(IDEMPOTENCY_API_KEYS) == []


async def test_every_sealed_kind_is_empty_on_a_new_store(storage):
    for kind in SEALED_KINDS:
        assert await storage.sealed.one_per_key(kind) == []


#: Columns that look sealed but are not, and why.
NOT_SEALED = {("webhook_deliveries", "payload"): "event payloads, which never carry a secret"}


async def test_no_sealed_column_outside_the_inventory(clean_postgres):
    """Allow-list on the real schema: every bytea column and every key id column belongs to a sealed kind (or
    is listed in NOT_SEALED). A migration that adds a sealed column without registering its kind fails here."""
    rows = await clean_postgres.fetch(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND (data_type = 'bytea' OR column_name ~ '(^|_)key_id$|sealed|cipher')"
    )
    found = {(r["table_name"], r["column_name"]) for r in rows}
    covered = {(c.table, column) for c in SEALED_COLUMNS.values() for column in (c.key_id, c.ciphertext)}
    assert found - covered - set(NOT_SEALED) == set()
    assert covered <= found  # and the inventory names columns that exist


def test_the_schema_check_catches_a_planted_sealed_column():
    """The check can fail: a column no kind claims is reported."""
    found = {("credentials", "ciphertext"), ("api_keys", "sealed_backup")}
    covered = {(c.table, column) for c in SEALED_COLUMNS.values() for column in (c.key_id, c.ciphertext)}
    assert found - covered - set(NOT_SEALED) == {("api_keys", "sealed_backup")}


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


async def test_the_start_up_check_reads_indexes_not_tables(clean_postgres):
    """With 20,000 rows of each kind, finding one value per key id never scans a whole table."""
    pool = clean_postgres
    await pool.execute(
        "INSERT INTO tenants (id, name, email) SELECT 't_' || lpad(to_hex(n), 16, '0'), 'T', 'e' || n || '@x.com' "
        "FROM generate_series(1, 20000) AS n"
    )
    await pool.execute(
        "INSERT INTO credentials (tenant_id, type, key_id, ciphertext, updated_at) "
        "SELECT id, 'genesys', 'k' || (random() * 3)::int, '\\x00', now() FROM tenants"
    )
    await pool.execute(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, tenant_id, key_id, sealed_api_key) "
        "SELECT 'admin', id, 'fp', id, 'k' || (random() * 3)::int, '\\x00' FROM tenants"
    )
    await pool.execute(
        "INSERT INTO webhooks (id, url, event_types, status, key_id, sealed_secret, created_at, updated_at) "
        "SELECT 'wh_' || id, 'https://h/', '{}', 'active', 'k' || (random() * 3)::int, '\\x00', now(), now() "
        "FROM tenants"
    )
    for table in ("tenants", "credentials", "idempotency_keys", "webhooks"):
        await pool.execute(f"ANALYZE {table}")
    for kind in SEALED_KINDS:
        plan = await pool.fetchval(f"EXPLAIN (FORMAT JSON) {one_per_key_sql(kind)}")
        nodes = _nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
        scans = {n["Node Type"] for n in nodes if "Scan" in n["Node Type"]}
        assert "Seq Scan" not in scans, (kind.name, scans)
        assert len(await pool.fetch(one_per_key_sql(kind))) == 4  # k0..k3
