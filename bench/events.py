"""The cost of change events: ``python bench/events.py``.

1. Write throughput with and without the outbox: the same create-then-rename workload through the real use
   cases on the embedded Postgres, alternating rounds; "without" drops the events before they are written
   (a bench-only storage, never shipped). Reported as the median round's ratio.
2. Commit to delivery on loopback: a webhook subscription, the event worker ``serve`` runs and a receiver on
   127.0.0.1; the time from a rename's commit returning to its delivery arriving, p50/p99/max.

Both numbers are ratios or distributions measured in one run on one machine, never pass/fail timers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tenant_adapters.crypto import AesGcmCipher  # noqa: E402
from tenant_adapters.memory import InMemoryCache  # noqa: E402
from tenant_adapters.postgres import PostgresStorage, apply_migrations, create_pool, start_embedded_postgres  # noqa: E402
from tenant_adapters.postgres.storage import PostgresUnitOfWork  # noqa: E402
from tenant_adapters.webhooks import HttpWebhookSender  # noqa: E402
from tenant_core import (  # noqa: E402
    SYSTEM,
    CreateTenant,
    EventFeed,
    NewWebhook,
    SealedValues,
    SystemClock,
    TenantCache,
    TenantDirectory,
    TenantService,
    UpdateTenant,
    WebhookDelivery,
    WebhookSubscriptions,
)
from tenant_entrypoints.event_worker import EventWorker  # noqa: E402


def tenant_service(storage: PostgresStorage, clock: SystemClock, sealed: SealedValues) -> TenantService:
    cache = TenantCache(InMemoryCache())
    return TenantService(storage, cache, TenantDirectory(storage.tenants, cache), clock, sealed=sealed)


class _NoOutboxUnitOfWork(PostgresUnitOfWork):
    async def __aenter__(self):  # type: ignore[no-untyped-def]
        uow = await super().__aenter__()
        uow.events._pending = _Discard()  # type: ignore[attr-defined]
        return uow


class _Discard(list):  # type: ignore[type-arg]
    def append(self, _: object) -> None:
        pass


class NoOutboxStorage(PostgresStorage):
    """Bench only: the same storage with the outbox writes dropped, to price them."""

    def unit_of_work(self) -> PostgresUnitOfWork:
        return _NoOutboxUnitOfWork(self._pool)


async def write_round(service: TenantService, seconds: float, concurrency: int, tag: str) -> float:
    """Create-then-rename pairs per second."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def writer(n: int) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            created = await service.create(SYSTEM, CreateTenant(name="B", email=f"{tag}-{n}-{i}@bench.example"))
            await service.update(SYSTEM, created.tenant.id, UpdateTenant(name=f"B{i}"))
            done += 1
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(concurrency)))
    return done / (time.perf_counter() - started)


async def receiver(arrivals: dict[str, float]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            )
            body = msgspec.json.decode(await reader.readexactly(length))
            arrivals.setdefault(body["data"]["tenant"]["name"], time.perf_counter())
            writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(guarded, "127.0.0.1", 0)


def median_interval(values: list[float], resamples: int = 2000) -> tuple[float, float]:
    """A 90% bootstrap interval of the median: how far the machine's noise leaves the median uncertain."""
    pick = random.Random(0)  # the same data gives the same interval
    medians = sorted(statistics.median(pick.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.05 * resamples)], medians[int(0.95 * resamples)]


async def latencies(
    service: TenantService, tenant_id: str, arrivals: dict[str, float], renames: int, label: str
) -> list[float]:
    """Milliseconds from each rename's commit returning to its delivery arriving, sorted."""
    committed: dict[str, float] = {}
    for i in range(renames):
        name = f"{label}-{i}"
        await service.update(SYSTEM, tenant_id, UpdateTenant(name=name))
        committed[name] = time.perf_counter()
        await asyncio.sleep(0.01)
    deadline = time.perf_counter() + 30
    while any(n not in arrivals for n in committed) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    return sorted((arrivals[n] - t) * 1000 for n, t in committed.items() if n in arrivals)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5, help="length of each write round")
    parser.add_argument("--rounds", type=int, default=30, help="rounds of each variant, alternating")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--deliveries", type=int, default=500, help="renames timed from commit to delivery")
    parser.add_argument(
        "--no-worker", action="store_true", help="diagnosis: write with the outbox but no event worker running"
    )
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="bench-events-"))
    data.chmod(0o755)
    dsn, _server = start_embedded_postgres(data)
    apply_migrations(dsn)
    pool = await create_pool(dsn, max_size=args.concurrency + 4)
    clock, sealed = SystemClock(), SealedValues(AesGcmCipher({"b": b"b" * 32}))
    storage = PostgresStorage(pool, dsn=dsn)  # one storage for writes and the worker, as in a serve process
    with_outbox = tenant_service(storage, clock, sealed)
    without = tenant_service(NoOutboxStorage(pool), clock, sealed)

    sender = HttpWebhookSender(allow_private=True)

    def delivery_for_a_worker() -> WebhookDelivery:
        return WebhookDelivery(storage, sealed, sender, clock)  # a stopped worker's delivery sends no more

    await write_round(with_outbox, 1, args.concurrency, "warm")
    ratios, rates = [], {"with": [], "without": []}
    for r in range(args.rounds):

        async def with_worker(r: int = r) -> float:
            # As in serve: the event worker numbers the events while they are written.
            worker = EventWorker(storage, delivery_for_a_worker(), EventFeed(storage), clock, 30)
            if not args.no_worker:
                worker.start()
            try:
                return await write_round(with_outbox, args.seconds, args.concurrency, f"o{r}")
            finally:
                await worker.stop()

        # The tables grow as rounds go by, so each variant goes first in every other round.
        if r % 2 == 0:
            plain = await write_round(without, args.seconds, args.concurrency, f"n{r}")
            outboxed = await with_worker()
        else:
            outboxed = await with_worker()
            plain = await write_round(without, args.seconds, args.concurrency, f"n{r}")
        rates["without"].append(plain)
        rates["with"].append(outboxed)
        ratios.append(outboxed / plain)
        print(f"round {r + 1}: without {plain:7.1f}/s  with outbox {outboxed:7.1f}/s  ratio {outboxed / plain:.3f}")
    low, high = median_interval(ratios)
    print(
        f"create+rename pairs/s, median round: without {statistics.median(rates['without']):.1f}, "
        f"with {statistics.median(rates['with']):.1f}; ratio median {statistics.median(ratios):.3f} "
        f"(90% bootstrap interval {low:.3f}–{high:.3f}), worst {min(ratios):.3f}"
    )

    arrivals: dict[str, float] = {}
    server = await receiver(arrivals)
    port = server.sockets[0].getsockname()[1]
    while await EventFeed(storage).sequence(wait=True):  # number what the write rounds left
        pass
    directory = TenantDirectory(storage.tenants, TenantCache(InMemoryCache()))
    hooks = WebhookSubscriptions(storage, sealed, sender, directory, clock)
    tenant_id = (await with_outbox.create(SYSTEM, CreateTenant(name="L", email="latency@bench.example"))).tenant.id
    # One tenant's renames are timed; the writers' own events are numbered and fanned out, not delivered.
    await hooks.create(SYSTEM, NewWebhook(f"http://127.0.0.1:{port}/", ["tenant.updated"], tenant_id=tenant_id))
    delivery = delivery_for_a_worker()
    while await delivery.fan_out(batch=5000):  # walk past the write rounds' events before timing anything
        pass
    worker = EventWorker(storage, delivery, EventFeed(storage), clock, 30)
    worker.start()
    for label, writers in (("light load", 0), (f"under {args.concurrency} writers", args.concurrency)):
        renaming = asyncio.ensure_future(latencies(with_outbox, tenant_id, arrivals, args.deliveries, label))
        while writers and not renaming.done():
            await write_round(with_outbox, 0.5, writers, f"l{time.perf_counter_ns()}")
        found = await renaming
        p = lambda q, found=found: found[min(len(found) - 1, int(q * len(found)))]  # noqa: E731
        print(
            f"commit → delivery, {label}, over {len(found)}/{args.deliveries} renames: p50 {p(0.5):.1f} ms, "
            f"p99 {p(0.99):.1f} ms, max {found[-1]:.1f} ms"
        )
    await worker.stop()
    server.close()
    await sender.close()
    await storage.close()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
