"""The import's rules on in-memory storage: what each awkward old row becomes, and a rerun changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tenant_core import SYSTEM, CredentialType, CredentialVault, LegacyImport, LegacyTenant
from tenant_core.api_key_secrets import hash_secret
from tenant_core.legacy import LegacyApiKeyRow, LegacyCredentialRow, LegacyTenantRow
from tenant_core.use_cases.legacy_import import Outcome

OLD_KEY = "sk_" + "a" * 64


class ListSource:
    """A LegacySource over a list, for tests."""

    def __init__(self, tenants: list[LegacyTenant]) -> None:
        self._tenants = tenants

    async def count(self) -> int:
        return len(self._tenants)

    async def tenants(self):
        for tenant in self._tenants:
            yield tenant


def _at(day: int) -> datetime:
    return datetime(2025, 1, day, tzinfo=UTC)


ROWS = [
    LegacyTenant(
        row=LegacyTenantRow(
            tenant_id="demo-1", name="Demo", email="Ops@Demo.com", genesys_region="aps1", created_at=_at(1)
        ),  # fmt: skip
        credentials=[
            LegacyCredentialRow(
                source="c#1",
                type="genesys",
                is_active=True,
                updated_at=_at(2),
                credentials={"clientId": "a", "clientSecret": "old-secret-1", "region": "aps1"},
            ),
            LegacyCredentialRow(
                source="c#2",
                type="genesys",
                is_active=True,
                updated_at=_at(3),
                credentials={
                    "clientId": "b",
                    "clientSecret": "new-secret-2",
                    "region": "aps1",
                    "openMsgIntegrationId": "intg-1",
                    "environment": "prod",
                },
            ),
            LegacyCredentialRow(source="c#3", type="sms", is_active=True, credentials={}),
        ],  # fmt: skip
        api_keys=[LegacyApiKeyRow(api_key=OLD_KEY), LegacyApiKeyRow(api_key="plain-key", is_active=True)],
    ),
    LegacyTenant(
        row=LegacyTenantRow(
            tenant_id="dup-2",
            name=None,
            email="ops@demo.com",
            status="inactive",
            plan="gold",
            rate_limit=0,
            created_at=_at(4),
        )
    ),  # fmt: skip
    LegacyTenant(row=LegacyTenantRow(tenant_id="bad id with spaces", name="X")),
]


@pytest.fixture
def importer(storage, sealed, tenant_cache, clock) -> LegacyImport:
    return LegacyImport(storage, sealed, tenant_cache, clock)


async def test_awkward_rows_are_imported_and_explained(importer, storage, sealed, tenant_cache, clock):
    report = await importer.run(ListSource(ROWS))
    demo = await storage.tenants.get("demo-1")
    assert (demo.email, demo.genesys_region, demo.genesys_integration_id) == (
        "Ops@demo.com",
        "aps1.pure.cloud",
        "intg-1",
    )
    vault = CredentialVault(storage, sealed, tenant_cache, clock)
    genesys = (await vault.reveal(SYSTEM, "demo-1", CredentialType.GENESYS)).credentials
    assert genesys.client_secret == "new-secret-2"
    dup = await storage.tenants.get("dup-2")
    assert dup.email is None and dup.name == "dup-2" and dup.status.value == "suspended" and dup.rate_limit == 1
    assert dup.metadata["legacyImport"]["rejected"] == {"email": "ops@demo.com"}
    assert await storage.tenants.get("bad id with spaces") is None
    reasons = {(line.tenant_id, line.item): (line.outcome, line.reason) for line in report.lines}
    assert reasons[("demo-1", "credentials.genesys (c#1)")] == (Outcome.SKIPPED, "superseded by a newer active row")
    assert reasons[("demo-1", "c#3")][1] == "unknown credential type"
    assert reasons[("bad id with spaces", "tenant")][0] is Outcome.SKIPPED
    assert "unused fields dropped: environment" in reasons[("demo-1", "tenant")][1]
    assert (await storage.api_keys.find_by_hash(hash_secret(OLD_KEY))).tenant_id == "demo-1"  # still valid


async def test_a_rerun_changes_nothing_and_a_dry_run_writes_nothing(importer, storage):
    dry = await importer.run(ListSource(ROWS), dry_run=True)
    assert dry.count(Outcome.IMPORTED, "tenant") == 2 and await storage.tenants.get("demo-1") is None
    await importer.run(ListSource(ROWS))
    audit_before = await storage.audit.list_for_tenant("demo-1", 100, 0)
    again = await importer.run(ListSource(ROWS))
    assert again.count(Outcome.UNCHANGED, "tenant") == 2 and again.count(Outcome.IMPORTED) == 0
    assert again.count(Outcome.UPDATED) == 0
    assert await storage.audit.list_for_tenant("demo-1", 100, 0) == audit_before
