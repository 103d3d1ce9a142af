"""The event work every ``serve`` worker runs beside its HTTP server: webhook fan-out and delivery, the bus
relay and retention, and the scheduled connection checks. Work is claimed in the database, so workers and
instances share it; a commit's notification wakes them, and a short poll covers retries that fall due and
missed notifications."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from datetime import timedelta
from typing import NamedTuple

from loguru import logger

from tenant_core.errors import TenantServiceError
from tenant_core.ports import Clock, Storage
from tenant_core.use_cases.connection_watch import ConnectionWatch
from tenant_core.use_cases.event_relay import EventRelay
from tenant_core.use_cases.events import EventFeed
from tenant_core.use_cases.webhook_delivery import WebhookDelivery
from tenant_entrypoints import metrics

POLL_SECONDS = 0.5
#: After each round, wait this long for more commits before the next. Measured with bench/events.py, the
#: number of rounds does not change what the outbox costs the writers (pauses from 0.01 to 0.5 s gave the
#: same ratio within the machine's noise); the pause only adds to commit → delivery, so it is short.
GATHER_SECONDS = 0.02
#: Batch sizes of one round. A round that fills any of them is behind: the next round starts at once.
SEQUENCE_BATCH = FAN_OUT_BATCH = 1000
#: A claim takes up to 50 deliveries of a line; its lease is renewed as each is sent (``delivery_lease``), so a
#: long line stays with this worker for as long as it sends.
SEND_LINES, SEND_PER_LINE = 20, 50
RELAY_BATCH = 500
PRUNE_EVERY_SECONDS = 600.0
BACKOFF_SECONDS = 1.0
#: How often a worker looks for connections due for their check (at most; a shorter check interval is used
#: as it is). It waits a random 50-90% of it each time, so the fleet's workers do not ask together and the
#: sweep's own work still fits: a connection is checked within one tick of falling due.
WATCH_TICK_SECONDS = 300.0


class Round(NamedTuple):
    busy: bool  #: some work found something to do
    behind: bool  #: some work filled its batch, so more is waiting


class EventWorker:
    def __init__(
        self,
        storage: Storage,
        delivery: WebhookDelivery,
        feed: EventFeed,
        clock: Clock,
        retention_days: float,
        relay: EventRelay | None = None,
        watch: ConnectionWatch | None = None,
    ) -> None:
        """``watch``: the scheduled connection checks, if on."""
        self._storage = storage
        self._delivery = delivery
        self._relay = relay  # None: no bus configured
        self._feed = feed
        self._clock = clock
        self._retention = timedelta(days=retention_days)
        self._watch = watch
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-worker")
        if self._watch is not None:
            self._watching = asyncio.create_task(self._watch_connections(self._watch), name="connection-watch")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the attempts in flight (bounded by ``grace_seconds``), hand the rest of each claimed line over
        to the other workers, then stop."""
        if self._task is None:
            return
        self._stopping.set()
        self._delivery.stop()
        if self._watching is not None:  # a check cut short is simply not recorded: the next sweep does it
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
            self._watching = None
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_seconds)
        except TimeoutError:
            self._task.cancel()
        self._task = None

    async def _run(self) -> None:
        seen = 0
        next_prune = time.monotonic() + random.uniform(0, PRUNE_EVERY_SECONDS)  # noqa: S311 - spreads workers out
        failing = False
        while not self._stopping.is_set():
            try:
                last = await self.step()
                if time.monotonic() >= next_prune:
                    await self._feed.prune(self._clock.now(), self._retention)
                    next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                if failing:
                    logger.info("Event delivery resumed")
                    failing = False
            except TenantServiceError as exc:  # the database or the broker is away: events wait, none is lost
                if not failing:
                    logger.warning("Event delivery paused: {}", exc.message)
                    failing = True
                await self._pause(BACKOFF_SECONDS)
                continue
            except Exception:  # a bug must not end delivery for the life of the process
                logger.exception("Event delivery failed; retrying")
                await self._pause(BACKOFF_SECONDS)
                continue
            if last.behind:
                continue
            if not last.busy:
                waited = asyncio.ensure_future(self._storage.wait_for_events(seen, POLL_SECONDS))
                stopping = asyncio.ensure_future(self._stopping.wait())
                done, _ = await asyncio.wait({waited, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if waited in done:
                    seen = waited.result()
                else:
                    waited.cancel()
            await self._pause(GATHER_SECONDS)

    async def step(self) -> Round:
        """One round of every kind of work."""
        numbered = await self._feed.sequence(batch=SEQUENCE_BATCH)
        fanned = await self._delivery.fan_out(FAN_OUT_BATCH)
        sent = await self._delivery.send_due(SEND_LINES, SEND_PER_LINE)
        try:
            relayed = await self._relay.relay(RELAY_BATCH) if self._relay is not None else 0
        except TenantServiceError:
            metrics.observe_relay("rabbitmq", "error")
            raise
        if relayed:
            metrics.observe_relay("rabbitmq", "ok", relayed)
        return Round(
            busy=bool(numbered or fanned or sent or relayed),
            # sent: a line may have had more than its share waiting
            behind=numbered >= SEQUENCE_BATCH
            or fanned >= FAN_OUT_BATCH
            or sent >= SEND_PER_LINE
            or relayed >= RELAY_BATCH,
        )

    async def _watch_connections(self, watch: ConnectionWatch) -> None:
        """Sweep the connections that are due, a tick apart; a sweep that finds another process sweeping does
        nothing. What a check finds goes out as events; what stops a check from running is logged here."""
        tick, paused = min(watch.every.total_seconds(), WATCH_TICK_SECONDS), False
        while not self._stopping.is_set():
            await self._pause(tick * random.uniform(0.5, 0.9))  # noqa: S311 - spreads workers out
            if self._stopping.is_set():
                return
            try:
                report = await watch.sweep()
            except TenantServiceError as exc:  # the database is away: the next tick tries again
                if not paused:
                    logger.warning("Connection checks paused: {}", exc.message)
                    paused = True
                continue
            except Exception:  # a bug must not end the checks for the life of the process
                logger.exception("Connection checks failed; retrying")
                continue
            if paused:
                logger.info("Connection checks resumed")
                paused = False
            if report is None:
                continue
            for error in report.errors:
                logger.bind(tenantId=error.tenant_id, credentialType=error.kind.value).warning(
                    "Connection check could not run: {}", error.reason
                )
            if report.checked:
                logger.info("Connection checks: {} checked, {} failed", report.checked, report.failed)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass
