"""The event work every ``serve`` worker runs beside its HTTP server: webhook fan-out and delivery, the bus
relay and retention. Work is claimed in the database, so workers and instances share it; a commit's
notification wakes them, and a short poll covers retries that fall due and missed notifications."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta

from loguru import logger

from entrypoints import metrics
from tenant_core.errors import TenantServiceError
from tenant_core.ports import Clock, Storage
from tenant_core.use_cases.events import EventFeed
from tenant_core.use_cases.webhooks import WebhookDelivery

POLL_SECONDS = 0.5
#: After each round, wait this long before the next, so that the commits of a busy moment are handled in a
#: few batched rounds instead of one round each: a round costs the writers database time (bench/events.py).
#: It adds up to 50 ms from commit to delivery, well under the 200 ms a consumer may expect.
GATHER_SECONDS = 0.05
PRUNE_EVERY_SECONDS = 600.0
BACKOFF_SECONDS = 1.0


class EventWorker:
    def __init__(
        self, storage: Storage, delivery: WebhookDelivery, feed: EventFeed, clock: Clock, retention_days: float
    ) -> None:
        self._storage = storage
        self._delivery = delivery
        self._feed = feed
        self._clock = clock
        self._retention = timedelta(days=retention_days)
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-worker")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the batch in hand (bounded by ``grace_seconds``), then stop."""
        if self._task is None:
            return
        self._stopping.set()
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
                busy = await self.step()
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
            if not busy:
                waited = asyncio.ensure_future(self._storage.wait_for_events(seen, POLL_SECONDS))
                stopping = asyncio.ensure_future(self._stopping.wait())
                done, _ = await asyncio.wait({waited, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if waited in done:
                    seen = waited.result()
                else:
                    waited.cancel()
            await self._pause(GATHER_SECONDS)

    async def step(self) -> bool:
        """One round of every kind of work; True when any of it found something to do."""
        numbered = await self._feed.sequence()
        fanned = await self._delivery.fan_out()
        sent = await self._delivery.send_due()
        try:
            relayed = await self._delivery.relay_to_bus()
        except TenantServiceError:
            metrics.observe_relay("rabbitmq", "error")
            raise
        if relayed:
            metrics.observe_relay("rabbitmq", "ok", relayed)
        return bool(numbered or fanned or sent or relayed)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass
