"""``check-connections``: every stored Genesys and WhatsApp connection verified, a few at a time."""

from __future__ import annotations

import asyncio

from tenant_core.security import Principal, Role
from tenant_entrypoints.cli.progress import ProgressBar
from tenant_entrypoints.cli.startup import StartupError, container_for, refuse_unopenable_values
from tenant_entrypoints.config import Config

#: The principal the command acts as: an admin, named in the audit log of anything a check fills in.
CHECKER = Principal(subject="cli-check-connections", role=Role.ADMIN)


async def check_connections(config: Config, dsn: str, tenant_id: str | None, concurrency: int) -> int:
    """Verify every stored credential (or one tenant's), ``concurrency`` at a time; non-zero when any fails. A
    kind this configuration cannot check (WhatsApp without a Meta app) is reported ``skipped``."""
    from tenant_core import MetaAppNotConfiguredError, TenantServiceError

    await refuse_unopenable_values(config, dsn)
    container = container_for(config, dsn)
    await container.init_resources()
    try:
        checks = await container.connections()
        try:
            targets = [target async for target in checks.configured(tenant_id)]
        except TenantServiceError as exc:
            raise StartupError(exc.message) from None
        limit, done = asyncio.Semaphore(concurrency), 0

        async def check(tenant: str, kind: str) -> tuple[str, str, str, str]:
            nonlocal done
            async with limit:
                try:
                    report = await checks.verify(CHECKER, tenant, kind)
                    failed = "; ".join(f"{c.name}: {c.detail}" for c in report.failed())
                    row = (tenant, kind, "ok" if report.ok else FAILED, failed or "every check passed")
                except MetaAppNotConfiguredError as exc:  # a kind this configuration cannot check
                    row = (tenant, kind, SKIPPED, f"not checked: {exc.message} (META_APP_ID, META_APP_SECRET)")
                except TenantServiceError as exc:  # unreadable credentials, a tenant deleted meanwhile
                    row = (tenant, kind, FAILED, exc.message)
            done += 1
            bar.update(done)
            return row

        with ProgressBar(len(targets), label="checking connections") as bar:
            rows = await asyncio.gather(*(check(tenant, kind) for tenant, kind in targets))
    finally:
        await container.shutdown_resources()
    print(connections_table(rows))
    return 1 if any(result == FAILED for _, _, result, _ in rows) else 0


FAILED, SKIPPED = "FAILED", "skipped"


def connections_table(rows: list[tuple[str, str, str, str]]) -> str:
    """One line per connection (tenant, kind, result: ok, FAILED or skipped, detail) and a count of each result."""
    width = max([len("tenant"), *(len(tenant) for tenant, _, _, _ in rows)])
    lines = [f"{'tenant':<{width}}  {'kind':<8}  {'result':<7}  detail"]
    lines += [f"{t:<{width}}  {k:<8}  {result:<7}  {detail}" for t, k, result, detail in rows]
    counts = {result: sum(1 for _, _, r, _ in rows if r == result) for result in ("ok", FAILED, SKIPPED)}
    lines.append(f"\n{len(rows)} connections: {counts['ok']} ok, {counts[FAILED]} failed, {counts[SKIPPED]} skipped")
    return "\n".join(lines)
