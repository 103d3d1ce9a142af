"""``import-legacy``: the old service's tenants, credentials and API keys, rerun-safe, with a dry run that
writes nothing anywhere."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from tenant_entrypoints.cli.progress import ProgressBar
from tenant_entrypoints.cli.startup import StartupError, container_for, existing_database, refuse_unopenable_values
from tenant_entrypoints.config import Config, ConfigError, check_database_url


async def _open_legacy_source(source_dsn: str):  # type: ignore[no-untyped-def]
    from tenant_adapters.legacy import PostgresLegacySource

    try:
        check_database_url(source_dsn, "--from")
    except ConfigError as exc:
        raise StartupError(str(exc)) from None
    try:
        return await PostgresLegacySource.connect(source_dsn)
    except Exception as exc:  # OSError, a malformed URL, asyncpg's errors: all mean "check --from"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StartupError(f"cannot read the old database ({reason}); check --from") from None


async def import_legacy(config: Config, dsn: str, source_dsn: str) -> int:
    """Each tenant is one transaction with a record of what was imported: a rerun applies what changed in the
    old database since, never undoes what changed here, and finishes an interrupted import."""
    await refuse_unopenable_values(config, dsn)
    source = await _open_legacy_source(source_dsn)
    container = container_for(config, dsn)
    await container.init_resources()
    try:
        importer = await container.legacy_import()
        with ProgressBar(await source.count(), label="importing tenants") as bar:
            report = await importer.run(source, on_progress=bar.update)
    finally:
        await source.close()
        await container.shutdown_resources()
    print(import_summary(report))
    return 0


async def dry_run_import(config: Config, source_dsn: str) -> int:
    """Report what a real run would do, and write nothing anywhere: no database started or created, no
    migration, no file, no cache touched.

    Against a database that has this service's schema, each tenant is compared in a transaction that is
    rolled back. With no database yet (no ``DATABASE_URL`` and no embedded database in the data directory,
    or a database never migrated), the import runs into a scratch store in memory: exactly what the first
    real run will do, duplicates among the old rows included.
    """
    from tenant_adapters.memory import InMemoryCache, InMemoryStorage
    from tenant_core.clock import SystemClock
    from tenant_core.lookup_cache import TenantCache
    from tenant_core.sealing import SealedValues
    from tenant_core.use_cases.legacy_import import LegacyImport

    source = await _open_legacy_source(source_dsn)
    storage, pool, against = None, None, "an empty service (no database yet)"
    try:
        dsn, _embedded = existing_database(config)  # the handle keeps an embedded server up until we are done
        if dsn is not None:
            where = None if config.database_url else f"the embedded database in {config.data_dir}"
            storage, pool, against = await _migrated_storage(dsn, where)
        target = InMemoryStorage() if storage is None else storage
        sealed = SealedValues(_dry_run_cipher(config))
        importer = LegacyImport(target, sealed, TenantCache(InMemoryCache()), SystemClock())
        with ProgressBar(await source.count(), label="importing tenants (dry run)") as bar:
            # Into the scratch store the writes are real (and vanish with the process); into a database, rolled back.
            report = await importer.run(source, dry_run=storage is not None, on_progress=bar.update)
    finally:
        await source.close()
        if pool is not None:
            await pool.close()
    print(import_summary(report, dry_run_against=against))
    return 0


async def _migrated_storage(dsn: str, where: str | None):  # type: ignore[no-untyped-def]
    """``(storage, pool, description)`` of a database at this version's schema; ``(None, None, …)`` for one
    never migrated (compared as empty). A schema part-way refuses: a dry run never migrates."""
    from tenant_adapters.postgres import PostgresStorage, create_pool, expected_migration_ids

    host = urlsplit(dsn).hostname or "local socket"
    where = where or f"the database at {host}"
    try:
        pool = await create_pool(dsn, max_size=2)
    except Exception as exc:  # OSError, asyncpg's errors: all mean the same to the operator
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StartupError(f"cannot reach the database at {host} ({reason}); check DATABASE_URL") from None
    storage = PostgresStorage(pool)
    missing = await storage.missing_migrations()
    if missing == expected_migration_ids():
        await pool.close()
        return None, None, f"an empty service ({where} has no schema yet)"
    if missing:
        await pool.close()
        raise StartupError(
            f"{where} lacks {len(missing)} migration(s) of this version; run "
            "`tenant-service migrate` first (a dry run never changes the schema)"
        )
    return storage, pool, where


def _dry_run_cipher(config: Config):  # type: ignore[no-untyped-def]
    """The configured keys, or the data directory's key if it exists; never a new key file. Without any, a
    throwaway key: nothing sealed can exist then that the comparison would need to open."""
    from tenant_adapters.crypto import AesGcmCipher, parse_keys

    local = config.data_dir / "credentials-key"
    if config.credentials_keys:
        return AesGcmCipher(parse_keys(config.credentials_keys))
    if local.exists():
        return AesGcmCipher(parse_keys(f"local={local.read_text().strip()}"))
    return AesGcmCipher({"dry-run": secrets.token_bytes(32)})


def import_summary(report, dry_run_against: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """The counts per kind of thing and outcome, then every line that has a reason."""
    from tenant_core.use_cases.legacy_import import ItemKind, Outcome

    kinds = (("tenants", ItemKind.TENANT), ("credentials", ItemKind.CREDENTIALS), ("API keys", ItemKind.API_KEY))
    outcomes = list(Outcome)
    header = f"{'':<12}" + "".join(f"{o.value:>11}" for o in outcomes)
    rows = [f"{label:<12}" + "".join(f"{report.count(o, kind):>11}" for o in outcomes) for label, kind in kinds]
    lines = [header, *rows]
    if dry_run_against is not None:
        lines.insert(0, f"DRY RUN: nothing was written (compared with {dry_run_against})\n")
    explained = [line for line in report.lines if line.reason]
    if explained:
        lines += ["", f"{'tenant':<24} {'item':<44} {'outcome':<10} reason"]
        lines += [
            f"{_printable(ln.tenant_id):<24} {_printable(ln.item):<44} {ln.outcome.value:<10} {ln.reason}"
            for ln in explained
        ]
    return "\n".join(lines)


def _printable(text: str) -> str:
    """Control characters escaped (an old id may end in a newline), so each line of the report stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
