"""The import's rules on in-memory storage: what each awkward old row becomes, what a rerun applies, keeps and
reports, and that a dry run writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from tenant_core import (
    SYSTEM,
    ApiKeyService,
    CredentialType,
    CredentialVault,
    ImportRecord,
    LegacyImport,
    LegacyTenant,
    NotFoundError,
    TenantStatus,
    UpdateTenant,
)
from tenant_core.api_key_secrets import hash_secret
from tenant_core.entities import ApiKey
from tenant_core.legacy import LegacyApiKeyRow, LegacyCredentialRow, LegacyTenantRow
from tenant_core.lookup_cache import ReadThrough
from tenant_core.use_cases.legacy_import import ItemKind, Outcome
from tests.support.builders import create_command

OLD_KEY = "sk_" + "a" * 64
NEW_KEY = "sk_" + "b" * 64


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
            LegacyCredentialRow(source="tenant_credentials#18", type="sms", is_active=True, credentials={}),
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

WHATSAPP = {"accessToken": "EAAG-token-1", "phoneNumberId": "1555001", "wabaId": "w-1"}


def with_whatsapp(row: LegacyTenantRow, config: dict | None = None, keys: list[LegacyApiKeyRow] | None = None):
    credentials = [LegacyCredentialRow(source="wa#1", type="whatsapp", is_active=True, credentials=config or WHATSAPP)]
    return LegacyTenant(row=row, credentials=credentials, api_keys=keys or [])


@pytest.fixture
def key_cache(core) -> ReadThrough[ApiKey]:
    return core.key_cache()


@pytest.fixture
def importer(storage, sealed, tenant_cache, clock, key_cache) -> LegacyImport:
    return LegacyImport(storage, sealed, tenant_cache, clock, key_cache)


@pytest.fixture
def vault(storage, sealed, tenant_cache, clock, directory) -> CredentialVault:
    return CredentialVault(storage, sealed, tenant_cache, directory, clock)


@pytest.fixture
def api_keys(storage, key_cache, clock, tenant_cache) -> ApiKeyService:
    return ApiKeyService(storage, key_cache, clock, tenant_cache)


def lines_of(report, tenant_id: str) -> dict[str, tuple[Outcome, str | None]]:
    return {line.item: (line.outcome, line.reason) for line in report.lines if line.tenant_id == tenant_id}


async def test_awkward_rows_are_imported_and_explained(importer, storage, vault):
    report = await importer.run(ListSource(ROWS))
    demo = await storage.tenants.get("demo-1")
    assert (demo.email, demo.genesys_region, demo.genesys_integration_id) == (
        "Ops@demo.com",
        "aps1.pure.cloud",
        "intg-1",
    )
    genesys = (await vault.reveal(SYSTEM, "demo-1", CredentialType.GENESYS)).credentials
    assert genesys.client_secret == "new-secret-2"
    dup = await storage.tenants.get("dup-2")
    assert dup.email is None and dup.name == "dup-2" and dup.status.value == "suspended" and dup.rate_limit == 1
    assert dup.metadata["legacyImport"]["rejected"] == {"email": "ops@demo.com"}
    assert await storage.tenants.get("bad id with spaces") is None
    reasons = {(line.tenant_id, line.item): (line.outcome, line.reason) for line in report.lines}
    assert reasons[("demo-1", "credentials.genesys (c#1)")] == (Outcome.SKIPPED, "superseded by a newer active row")
    assert reasons[("demo-1", "tenant_credentials#18")][1] == "unknown credential type"
    assert reasons[("bad id with spaces", "tenant")][0] is Outcome.SKIPPED
    assert "unused fields dropped: environment" in reasons[("demo-1", "tenant")][1]
    assert (await storage.api_keys.find_by_hash(hash_secret(OLD_KEY))).tenant_id == "demo-1"  # still valid


async def test_a_key_of_another_format_is_reported_without_its_secret(importer):
    """The report named a key it cannot import by its first 11 characters: the whole of "plain-key" (and most of
    any short key), which still works in the old service. It shows a quarter of such a key at most."""
    report = await importer.run(ListSource(ROWS))
    (line,) = [line for line in report.lines if line.reason and "not an sk_ key" in line.reason]
    assert "plain-key" not in line.item and line.item == "api_key pl…"


async def test_counts_go_by_kind_not_by_the_name_of_the_item(importer):
    """An unknown credential row named ``tenant_credentials#18`` counts as a skipped credential, not a tenant."""
    report = await importer.run(ListSource(ROWS))
    assert report.count(Outcome.SKIPPED, ItemKind.TENANT) == 1  # only the id with spaces
    assert report.count(Outcome.IMPORTED, ItemKind.TENANT) == 2
    assert report.count(Outcome.SKIPPED, ItemKind.CREDENTIALS) == 2  # superseded c#1, unknown type
    assert report.count(Outcome.IMPORTED, ItemKind.CREDENTIALS) == 1
    assert (report.count(Outcome.IMPORTED, ItemKind.API_KEY), report.count(Outcome.SKIPPED, ItemKind.API_KEY)) == (1, 1)


async def test_every_value_changed_or_refused_is_kept_in_metadata(importer, storage):
    """Status, plan, blank name, rate limit, spellings, routing keys, odd settings and metadata, unknown columns:
    whatever is stored differently or not at all keeps its old value in ``metadata.legacyImport``."""
    rows = [
        LegacyTenant(
            row=LegacyTenantRow(
                tenant_id="odd-1",
                name="  ",
                status="inactive",
                plan="gold",
                rate_limit=500_000,
                genesys_region="aps1",
                phone_number_id="1555002",
                subdomain="Odd",
                whatsapp_configured=True,
                settings="Asia/Dubai",
                metadata=["not", "an", "object"],
                other_columns={"onboarding_completed_at": _at(9)},
            )
        ),  # fmt: skip
        LegacyTenant(
            row=LegacyTenantRow(
                tenant_id="odd-2",
                name=None,
                settings={"timezone": "Mars/Base", "language": "pt-BR", "theme": "x"},
                metadata={"source": "seed", "legacyImport": "theirs"},
            )
        ),  # fmt: skip
    ]
    report = await importer.run(ListSource(rows))
    odd = await storage.tenants.get("odd-1")
    assert (odd.name, odd.status, odd.plan.value) == ("Odd", TenantStatus.SUSPENDED, "standard")
    assert odd.rate_limit == 100_000
    assert odd.phone_number_id is None and odd.whatsapp_configured is False  # not routed: no WhatsApp credentials
    assert odd.metadata == {
        "legacyImport": {
            "changed": {
                "name": "  ", "status": "inactive", "plan": "gold", "rateLimit": 500_000, "genesysRegion": "aps1",
                "subdomain": "Odd", "whatsappConfigured": True,
            },
            "rejected": {"phoneNumberId": "1555002"},
            "settings": "Asia/Dubai",
            "metadata": ["not", "an", "object"],
            "columns": {"onboarding_completed_at": "2025-01-09T00:00:00Z"},
        }
    }  # fmt: skip
    other = await storage.tenants.get("odd-2")
    assert other.name == "odd-2" and other.settings.language == "pt-BR" and other.settings.timezone is None
    assert other.metadata == {
        "source": "seed",
        "legacyImport": {
            "changed": {"name": None},
            "settings": {"timezone": "Mars/Base", "theme": "x"},
            "metadata": {"legacyImport": "theirs"},
        },
    }
    reason = lines_of(report, "odd-1")["tenant"][1]
    assert "settings is not an object" in reason and "did not route it" in reason


async def test_a_rerun_applies_the_old_databases_changes_and_keeps_this_services(
    importer, storage, tenants, vault, api_keys
):
    """Changed here since the import: suspended, key revoked, new phone number. Changed in the old database:
    e-mail, name, phone number, a new key. The old database's changes apply where this service made none; the
    rest is reported as conflicts with both values, and this service's values stay."""
    row = LegacyTenantRow(tenant_id="demo-1", name="Demo", email="ops@demo.com", status="active", created_at=_at(1))
    await importer.run(ListSource([with_whatsapp(row, keys=[LegacyApiKeyRow(api_key=OLD_KEY)])]))
    [imported_key] = await storage.api_keys.list_for_tenant("demo-1")
    await tenants.update(SYSTEM, "demo-1", UpdateTenant(status=TenantStatus.SUSPENDED, name="Demo Here"))
    await api_keys.revoke(SYSTEM, "demo-1", imported_key.id)
    await vault.store(SYSTEM, "demo-1", CredentialType.WHATSAPP, {**WHATSAPP, "phoneNumberId": "1555999"})

    changed = msgspec.structs.replace(row, name="Demo Old", email="new@demo.com")
    keys = [LegacyApiKeyRow(api_key=OLD_KEY), LegacyApiKeyRow(api_key=NEW_KEY)]
    again = await importer.run(ListSource([with_whatsapp(changed, {**WHATSAPP, "phoneNumberId": "1555777"}, keys)]))

    tenant = await storage.tenants.get("demo-1")
    assert tenant.email == "new@demo.com"  # changed in the old database only: applied
    assert tenant.status is TenantStatus.SUSPENDED and tenant.name == "Demo Here"  # changed here: kept
    assert tenant.phone_number_id == "1555999"
    whatsapp = (await vault.reveal(SYSTEM, "demo-1", CredentialType.WHATSAPP)).credentials
    assert whatsapp.phone_number_id == "1555999"
    assert await storage.api_keys.find_by_hash(hash_secret(OLD_KEY)) is None  # revoked stays revoked
    assert (await storage.api_keys.find_by_hash(hash_secret(NEW_KEY))).tenant_id == "demo-1"
    lines = lines_of(again, "demo-1")
    outcome, reason = lines["tenant"]
    assert outcome is Outcome.CONFLICT
    assert (
        'name (old database "Demo Old", here "Demo Here")' in reason
        and "applied from the old database: email" in reason
    )
    outcome, reason = lines["credentials.whatsapp"]
    assert outcome is Outcome.CONFLICT and 'phoneNumberId (old database "1555777", here "1555999")' in reason
    assert lines[f"api_key {OLD_KEY[:11]}…"] == (Outcome.UNCHANGED, "revoked here since it was imported: stays revoked")
    assert lines[f"api_key {NEW_KEY[:11]}…"] == (Outcome.IMPORTED, None)

    # The conflicts were reported once: the next run sees nothing new in the old database.
    third = await importer.run(ListSource([with_whatsapp(changed, {**WHATSAPP, "phoneNumberId": "1555777"}, keys)]))
    assert third.count(Outcome.CONFLICT) == 0 and third.count(Outcome.UPDATED) == 0


async def test_an_old_databases_change_to_a_credential_applies_with_its_routing_key(importer, storage, vault):
    row = LegacyTenantRow(tenant_id="demo-1", name="Demo", email="ops@demo.com")
    await importer.run(ListSource([with_whatsapp(row)]))
    again = await importer.run(ListSource([with_whatsapp(row, {**WHATSAPP, "phoneNumberId": "1555777"})]))
    assert (await storage.tenants.get("demo-1")).phone_number_id == "1555777"
    assert (await vault.reveal(SYSTEM, "demo-1", CredentialType.WHATSAPP)).credentials.phone_number_id == "1555777"
    assert lines_of(again, "demo-1")["credentials.whatsapp"] == (Outcome.UPDATED, None)


async def test_a_routing_key_changed_here_holds_back_the_credential_that_would_move_it(importer, storage, tenants):
    """The phone number id changed here (PATCH) and the WhatsApp credential changed in the old database: the
    credential is not applied either, so the stored credential and the tenant's routing key stay in step."""
    row = LegacyTenantRow(tenant_id="demo-1", name="Demo", email="ops@demo.com")
    await importer.run(ListSource([with_whatsapp(row)]))
    await tenants.update(SYSTEM, "demo-1", UpdateTenant(phone_number_id="1555999"))
    again = await importer.run(ListSource([with_whatsapp(row, {**WHATSAPP, "phoneNumberId": "1555777"})]))
    assert (await storage.tenants.get("demo-1")).phone_number_id == "1555999"
    outcome, reason = lines_of(again, "demo-1")["credentials.whatsapp"]
    assert outcome is Outcome.CONFLICT and "phoneNumberId" in reason


async def test_metadata_is_compared_key_by_key(importer, storage, tenants):
    row = LegacyTenantRow(tenant_id="demo-1", name="Demo", email="ops@demo.com", metadata={"tier": "a", "x": 1})
    await importer.run(ListSource([LegacyTenant(row=row)]))
    here = {**(await storage.tenants.get("demo-1")).metadata, "industry": "retail"}
    await tenants.update(SYSTEM, "demo-1", UpdateTenant(metadata=here))
    await importer.run(ListSource([LegacyTenant(row=msgspec.structs.replace(row, metadata={"tier": "b"}))]))
    assert (await storage.tenants.get("demo-1")).metadata == {"tier": "b", "industry": "retail"}


async def test_a_key_made_inactive_in_the_old_database_is_revoked_here(importer, storage):
    row = LegacyTenantRow(tenant_id="demo-1", name="Demo", email="ops@demo.com")
    await importer.run(ListSource([LegacyTenant(row=row, api_keys=[LegacyApiKeyRow(api_key=OLD_KEY)])]))
    inactive = [LegacyApiKeyRow(api_key=OLD_KEY, is_active=False)]
    again = await importer.run(ListSource([LegacyTenant(row=row, api_keys=inactive)]))
    assert await storage.api_keys.find_by_hash(hash_secret(OLD_KEY)) is None
    outcome, reason = lines_of(again, "demo-1")[f"api_key {OLD_KEY[:11]}…"]
    assert outcome is Outcome.UPDATED and "revoked here" in reason


async def test_a_legacy_row_never_touches_a_tenant_created_here(importer, storage, tenants):
    """A legacy id equal to the id of a tenant created in this service is reported and skipped."""
    created = (await tenants.create(SYSTEM, create_command(name="Ours", email="ours@ours.com"))).tenant
    row = LegacyTenantRow(tenant_id=created.id, name="Theirs", email="theirs@old.com", genesys_integration_id="i-9")
    report = await importer.run(ListSource([with_whatsapp(row, keys=[LegacyApiKeyRow(api_key=OLD_KEY)])]))
    assert await storage.tenants.get(created.id) == created
    assert await storage.credentials.get(created.id, CredentialType.WHATSAPP) is None
    assert await storage.api_keys.find_by_hash(hash_secret(OLD_KEY)) is None
    lines = lines_of(report, created.id)
    assert lines["tenant"] == (Outcome.SKIPPED, "a tenant created in this service has this id: left untouched")
    assert report.count(Outcome.SKIPPED) == 3 and report.count(Outcome.SKIPPED, ItemKind.TENANT) == 1


async def test_a_tenant_deleted_here_is_not_created_again(importer, storage, tenants):
    row = LegacyTenantRow(tenant_id="demo-1", name="Demo", email="ops@demo.com")
    await importer.run(ListSource([LegacyTenant(row=row, api_keys=[LegacyApiKeyRow(api_key=OLD_KEY)])]))
    await tenants.delete(SYSTEM, "demo-1")
    changed = LegacyTenant(
        row=msgspec.structs.replace(row, name="Renamed"), api_keys=[LegacyApiKeyRow(api_key=OLD_KEY)]
    )
    report = await importer.run(ListSource([changed]))
    assert await storage.tenants.get("demo-1") is None
    assert await storage.api_keys.find_by_hash(hash_secret(OLD_KEY)) is None
    assert lines_of(report, "demo-1")["tenant"][0] is Outcome.SKIPPED


async def test_an_id_with_a_trailing_newline_is_skipped_and_reported(importer, storage):
    """``evil\\n`` matches a pattern ending in ``$``; the import checks ids in full, so it never reaches storage."""
    report = await importer.run(ListSource([LegacyTenant(row=LegacyTenantRow(tenant_id="evil\n", name="Evil"))]))
    [line] = report.lines
    assert line.outcome is Outcome.SKIPPED and "'evil\\n'" in line.reason
    assert await storage.tenants.get("evil\n") is None and await storage.tenants.get("evil") is None


async def test_records_kept_by_no_earlier_version_make_every_difference_a_conflict(importer, storage, clock):
    """A tenant imported before records were kept (the migration marks it so): nothing is known of what was
    imported, so nothing here is overwritten; differences are reported, and the next run compares normally."""
    row = LegacyTenantRow(tenant_id="demo-1", name="Demo", email="ops@demo.com")
    await importer.run(ListSource([LegacyTenant(row=row)]))
    async with storage.unit_of_work() as uow:
        await uow.legacy_imports.put(ImportRecord("demo-1", "", None, clock.now()))
    renamed = LegacyTenant(row=msgspec.structs.replace(row, name="Renamed"))
    report = await importer.run(ListSource([renamed]))
    assert (await storage.tenants.get("demo-1")).name == "Demo"
    assert lines_of(report, "demo-1")["tenant"][0] is Outcome.CONFLICT
    assert (await importer.run(ListSource([renamed]))).count(Outcome.CONFLICT) == 0


async def test_a_suspension_in_the_old_database_is_applied_and_told_as_one(importer, storage):
    row = LegacyTenantRow(tenant_id="demo-1", name="Demo", email="ops@demo.com")
    await importer.run(ListSource([LegacyTenant(row=row)]))
    await importer.run(ListSource([LegacyTenant(row=msgspec.structs.replace(row, status="suspended"))]))
    assert (await storage.tenants.get("demo-1")).status is TenantStatus.SUSPENDED
    types = [event.type for event in await storage.events.read(0, 100, tenant_id="demo-1")]
    assert "tenant.suspended" in types


async def test_a_rerun_changes_nothing_and_a_dry_run_writes_nothing(importer, storage):
    dry = await importer.run(ListSource(ROWS), dry_run=True)
    assert dry.count(Outcome.IMPORTED, ItemKind.TENANT) == 2 and await storage.tenants.get("demo-1") is None
    assert await storage.legacy_imports.get("demo-1") is None
    await importer.run(ListSource(ROWS))
    audit_before = await storage.audit.list_for_tenant("demo-1", 100, 0)
    again = await importer.run(ListSource(ROWS))
    assert again.count(Outcome.UNCHANGED, ItemKind.TENANT) == 2 and again.count(Outcome.IMPORTED) == 0
    assert again.count(Outcome.UPDATED) == 0
    assert await storage.audit.list_for_tenant("demo-1", 100, 0) == audit_before


async def test_a_dry_run_of_a_rerun_reports_and_writes_nothing(importer, storage):
    row = LegacyTenantRow(tenant_id="demo-1", name="Demo", email="ops@demo.com")
    await importer.run(ListSource([LegacyTenant(row=row)]))
    before = (await storage.tenants.get("demo-1"), await storage.legacy_imports.get("demo-1"))
    renamed = LegacyTenant(row=msgspec.structs.replace(row, name="Renamed"))
    dry = await importer.run(ListSource([renamed]), dry_run=True)
    assert dry.count(Outcome.UPDATED, ItemKind.TENANT) == 1
    assert (await storage.tenants.get("demo-1"), await storage.legacy_imports.get("demo-1")) == before


async def test_a_unique_value_taken_since_is_refused_on_a_rerun_and_kept(importer, storage, tenants):
    """An old tenant's new e-mail already belongs to a tenant of this service: refused, kept, reported."""
    await tenants.create(SYSTEM, create_command(email="taken@x.com"))
    row = LegacyTenantRow(tenant_id="demo-1", name="Demo", email="ops@demo.com")
    await importer.run(ListSource([LegacyTenant(row=row)]))
    again = await importer.run(ListSource([LegacyTenant(row=msgspec.structs.replace(row, email="taken@x.com"))]))
    demo = await storage.tenants.get("demo-1")
    assert demo.email is None and demo.metadata["legacyImport"]["rejected"] == {"email": "taken@x.com"}
    assert "email already belongs to another tenant" in lines_of(again, "demo-1")["tenant"][1]


async def test_a_credential_gone_from_the_old_database_is_deleted_here_with_its_number(importer, storage, resolver):
    row = LegacyTenantRow(tenant_id="demo-1", name="Demo", email="ops@demo.com")
    await importer.run(ListSource([with_whatsapp(row)]))
    assert (await resolver.by_phone(SYSTEM, "1555001")).id == "demo-1"  # now cached
    again = await importer.run(ListSource([LegacyTenant(row=row)]))
    with pytest.raises(NotFoundError):
        await resolver.by_phone(SYSTEM, "1555001")
    assert await storage.credentials.get("demo-1", CredentialType.WHATSAPP) is None
    tenant = await storage.tenants.get("demo-1")
    assert tenant.phone_number_id is None and tenant.whatsapp_configured is False
    assert lines_of(again, "demo-1")["credentials.whatsapp"][0] is Outcome.UPDATED
