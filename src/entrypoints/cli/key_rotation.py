"""``rotate-credentials-key``: every sealed kind re-sealed under the first key, reported per kind."""

from __future__ import annotations

from tenant_entrypoints.cli.progress import ProgressBar
from tenant_entrypoints.cli.startup import container_for
from tenant_entrypoints.config import Config


async def rotate(config: Config, dsn: str, batch_size: int) -> int:
    """Re-seal every sealed kind; safe to interrupt and rerun (each value is re-sealed on its own, and only if
    nobody changed it meanwhile). Exits 1 when any value could not be opened (each is logged at ERROR)."""
    from dependency_injector import providers

    from tenant_core.sealing import SealedValues
    from tenant_entrypoints.container import report_unreadable

    container = container_for(config, dsn)
    unreadable: list = []  # logged once the progress bar has finished its line
    container.sealed.override(providers.Singleton(SealedValues, container.cipher, unreadable.append))
    try:
        rotation = await container.key_rotation()
        total = await rotation.pending()
        with ProgressBar(total, label=f"re-sealing under key {next(iter(config.cipher_keys()))!r}") as bar:
            report = await rotation.rotate(batch_size, bar.update)
    finally:
        await container.shutdown_resources()
    for value in unreadable:
        report_unreadable(value)
    print(rotation_summary(report))
    return 1 if report.unreadable else 0


def rotation_summary(report) -> str:  # type: ignore[no-untyped-def]
    """One row per sealed kind: re-sealed, unreadable, and still under another key."""
    width = max(len("kind"), *(len(k.label) for k in report.kinds))
    header = f"{'kind':<{width}}  {'resealed':>9}  {'unreadable':>10}  remaining"
    lines = [f"re-sealed under key {report.key_id!r}", header]
    lines += [f"{k.label:<{width}}  {k.resealed:>9}  {len(k.unreadable):>10}  {k.remaining:>9}" for k in report.kinds]
    if report.unreadable:
        lines.append(
            f"\n{report.unreadable} values could not be opened with any configured key (logged above, one ERROR line "
            "each): put their key back in CREDENTIALS_KEYS, after the first, and run this again"
        )
    return "\n".join(lines)
