"""What an operator watches: the work waiting in the outbox, the webhook lines and the relay, and the health of
the stored connections, read from the store, so every worker and every instance reports the same numbers
(per-process counters could not)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Backlog(msgspec.Struct, frozen=True, kw_only=True):
    """Work the event machinery has not done yet. Times are when the oldest waiting item was written."""

    pending_deliveries: int
    oldest_pending_delivery_at: datetime | None
    failing_subscriptions: int
    unnumbered_events: int
    oldest_unnumbered_event_at: datetime | None
    unrelayed_events: int  # numbered events the bus relay has not published yet


class ConnectionsHealth(msgspec.Struct, frozen=True, kw_only=True):
    """The stored connections of tenants not deleted, as their last checks left them, at one moment.

    Health is :meth:`~tenant_core.connections.ConnectionStatus.health` at that moment: a known expiry counts
    from the moment it comes, before any check sees it."""

    counts: dict[str, dict[str, int]]  # credential type → health → how many (only what is stored)
    next_expiry: dict[str, datetime]  # credential type → the earliest expiry of one still working (ok or expiring)
    oldest_check: dict[str, datetime]  # credential type → when its least recently checked one was (never: stored)


class OperationsSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One reading for ``/metrics``: what answers, and the backlog when the database does."""

    database_up: bool
    cache_status: str  # "connected", "disconnected" or "disabled" (no shared cache configured)
    backlog: Backlog | None  # None when the database did not answer
    relay_configured: bool  # without a bus, nothing is relayed and the relay backlog means nothing
    connections: ConnectionsHealth | None = None  # None when the database did not answer
