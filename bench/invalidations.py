"""The cost of announcing cache invalidations in writers' transactions: ``python bench/invalidations.py``.

The same create-then-rename workload as ``bench/events.py`` through the real use cases on the embedded
Postgres, with the announcement (``pg_notify`` in the transaction, as shipped) and without it (a bench-only
storage whose units of work announce nothing), in alternating rounds. As in a ``serve`` worker, an event
worker numbers the events meanwhile and one follower listens (other processes' followers use their own CPU).
PostgreSQL commits notifying transactions one at a time (a cluster-wide lock held through the commit), which
is part of what this prices. Reported as the median round's ratio; nothing here is a pass/fail timer.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.events import median_interval, tenant_service, write_round  # noqa: E402
from tenant_adapters.crypto import AesGcmCipher  # noqa: E402
from tenant_adapters.postgres import PostgresStorage, apply_migrations, create_pool, start_embedded_postgres  # noqa: E402
from tenant_adapters.postgres.invalidations import PostgresCacheInvalidations  # noqa: E402
from tenant_adapters.postgres.storage import PostgresUnitOfWork  # noqa: E402
from tenant_adapters.webhooks import HttpWebhookSender  # noqa: E402
from tenant_core import EventFeed, SealedValues, SystemClock, WebhookDelivery  # noqa: E402
from tenant_entrypoints.event_worker import EventWorker  # noqa: E402


class _Unannounced(PostgresCacheInvalidations):
    def notices(self) -> list[str]:
        self._keys = []
        return []


class _UnannouncedUnitOfWork(PostgresUnitOfWork):
    async def __aenter__(self):  # type: ignore[no-untyped-def]
        uow = await super().__aenter__()
        uow.invalidations = _Unannounced()
        return uow


class UnannouncedStorage(PostgresStorage):
    """Bench only: the same storage, its units of work announcing nothing, to price the announcement."""

    def unit_of_work(self) -> PostgresUnitOfWork:
        return _UnannouncedUnitOfWork(self._pool, self._events_committed)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5, help="length of each write round")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of each variant, alternating")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--followers", type=int, default=1, help="followers in this process (serve has one per worker process)"
    )
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="bench-invalidations-"))
    data.chmod(0o755)
    dsn, _server = start_embedded_postgres(data)
    apply_migrations(dsn)
    pool = await create_pool(dsn, max_size=args.concurrency + 4)
    clock, sealed = SystemClock(), SealedValues(AesGcmCipher({"b": b"b" * 32}))
    storage = PostgresStorage(pool, dsn=dsn)
    announced = tenant_service(storage, clock, sealed)
    silent = tenant_service(UnannouncedStorage(pool, dsn=dsn), clock, sealed)
    worker = EventWorker(
        storage, WebhookDelivery(storage, sealed, HttpWebhookSender(), clock), EventFeed(storage), clock, 30
    )
    heard = 0

    def count(keys: object) -> None:
        nonlocal heard
        heard += 1

    async def no_gap() -> None:
        return None

    async with AsyncExitStack() as followers:
        for _ in range(args.followers):
            follower = await followers.enter_async_context(storage.follow_invalidations())
            follower.subscribe(count, no_gap)
        worker.start()
        await write_round(announced, 1, args.concurrency, "warm")
        ratios, rates = [], {"with": [], "without": []}
        for r in range(args.rounds):
            # The tables grow as rounds go by, so each variant goes first in every other round.
            order = [("without", silent), ("with", announced)]
            for name, service in order if r % 2 == 0 else reversed(order):
                rates[name].append(await write_round(service, args.seconds, args.concurrency, f"{name}{r}"))
            ratios.append(rates["with"][-1] / rates["without"][-1])
            print(
                f"round {r + 1}: without {rates['without'][-1]:7.1f}/s  with announcements {rates['with'][-1]:7.1f}/s"
                f"  ratio {ratios[-1]:.3f}"
            )
        await worker.stop()
    low, high = median_interval(ratios)
    print(
        f"create+rename pairs/s, median round: without {statistics.median(rates['without']):.1f}, "
        f"with {statistics.median(rates['with']):.1f}; ratio median {statistics.median(ratios):.3f} "
        f"(90% bootstrap interval {low:.3f}-{high:.3f}), worst {min(ratios):.3f}; "
        f"{heard} announcements heard by {args.followers} followers"
    )
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
