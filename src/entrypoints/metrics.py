"""Prometheus metrics (prometheus-client). Imported by the app factory only, never by the CLI's parent
process, so that with several granian workers ``PROMETHEUS_MULTIPROC_DIR`` (set by ``serve``) takes effect
before the first metric exists and ``/metrics`` aggregates every worker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from tenant_core.operations import OperationsSnapshot

REQUESTS = Counter(
    "tenant_service_http_requests_total", "HTTP requests by route template and status", ["method", "route", "status"]
)
LATENCY = Histogram(
    "tenant_service_http_request_duration_seconds",
    "HTTP request latency by method and route template",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CACHE_LOOKUPS = Counter(
    "tenant_service_cache_lookups_total",
    "Cache lookups by level (l1 in-process, l2 Redis) and outcome",
    ["level", "outcome"],
)
GRAPH_CALLS = Counter(
    "tenant_service_graph_calls_total", "Meta Graph API calls by step and outcome", ["step", "outcome"]
)
GENESYS_CALLS = Counter(
    "tenant_service_genesys_calls_total",
    "Genesys Cloud calls (connection checks) by step and outcome",
    ["step", "outcome"],
)
POOL_CONNECTIONS = Gauge(
    "tenant_service_db_pool_connections", "Database pool connections by state", ["state"], multiprocess_mode="livesum"
)

WEBHOOK_ATTEMPTS = Histogram(
    "tenant_service_webhook_attempts_seconds",
    "Webhook delivery attempts by outcome (ok: a 2xx answer) and their latency",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENTS_RELAYED = Counter(
    "tenant_service_events_relayed_total", "Change events handed on, by destination and outcome", ["to", "outcome"]
)
SEALED_UNREADABLE = Counter(
    "tenant_service_sealed_values_unreadable_total",
    "Stored sealed values (credentials, webhook secrets, ...) that no configured key opened, by kind",
    ["kind"],
)

CONTENT_TYPE = CONTENT_TYPE_LATEST
_request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
#: The methods counted by name; any other (a caller may send any token, tens of kilobytes long) is OTHER, so no
#: request can add a series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "OTHER"
    children = _request_children.get((method, route, status))
    if children is None:  # labels() costs more than the increment; the set of routes is small and fixed
        children = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
        _request_children[(method, route, status)] = children
    children[0].inc()
    children[1].observe(seconds)


_cache_children: dict[tuple[str, bool], Counter] = {}


def observe_cache(level: str, hit: bool) -> None:
    child = _cache_children.get((level, hit))
    if child is None:  # once per level and outcome: the lookup counts on every resolution
        child = _cache_children[(level, hit)] = CACHE_LOOKUPS.labels(level, "hit" if hit else "miss")
    child.inc()


def observe_graph(step: str, outcome: str) -> None:
    GRAPH_CALLS.labels(step, outcome).inc()


def observe_genesys(step: str, outcome: str) -> None:
    GENESYS_CALLS.labels(step, outcome).inc()


def observe_webhook_attempt(outcome: str, seconds: float) -> None:
    WEBHOOK_ATTEMPTS.labels(outcome).observe(seconds)


def observe_relay(to: str, outcome: str, count: int = 1) -> None:
    EVENTS_RELAYED.labels(to, outcome).inc(count)


def observe_unreadable(kind: str) -> None:
    SEALED_UNREADABLE.labels(kind).inc()


def observe_pool(size: int, idle: int) -> None:
    POOL_CONNECTIONS.labels("in_use").set(size - idle)
    POOL_CONNECTIONS.labels("idle").set(idle)


def render(snapshot: OperationsSnapshot) -> bytes:
    """Every worker's counters, then the reading of the store that every worker and instance shares."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        counters = generate_latest(registry)
    else:
        counters = generate_latest(REGISTRY)
    shared = CollectorRegistry()
    shared.register(_SnapshotCollector(snapshot))
    return counters + generate_latest(shared)


class _SnapshotCollector:
    """Gauges read from the database at scrape time: equal on every instance, so alerts can use any of them.
    Ages are exported as the Unix time of the oldest item (alert on ``time() - metric``), not as a number of
    seconds that would differ between two scrapes."""

    def __init__(self, snapshot: OperationsSnapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self._snapshot
        up = GaugeMetricFamily("tenant_service_dependency_up", "1 when the dependency answers", labels=["dependency"])
        up.add_metric(["postgres"], 1.0 if snapshot.database_up else 0.0)
        if snapshot.cache_status != "disabled":
            up.add_metric(["redis"], 1.0 if snapshot.cache_status == "connected" else 0.0)
        yield up
        if (backlog := snapshot.backlog) is None:
            return
        yield _gauge(
            "tenant_service_webhook_deliveries_pending",
            "Webhook deliveries waiting to be sent",
            backlog.pending_deliveries,
        )
        yield _gauge(
            "tenant_service_webhook_oldest_pending_delivery_timestamp_seconds",
            "When the oldest pending webhook delivery was queued",
            _timestamp(backlog.oldest_pending_delivery_at),
        )
        yield _gauge(
            "tenant_service_webhook_subscriptions_failing",
            "Webhook subscriptions whose last delivery failed for good",
            backlog.failing_subscriptions,
        )
        yield _gauge(
            "tenant_service_events_unnumbered",
            "Committed change events not yet given a feed position",
            backlog.unnumbered_events,
        )
        yield _gauge(
            "tenant_service_events_oldest_unnumbered_timestamp_seconds",
            "When the oldest change event still without a feed position was written",
            _timestamp(backlog.oldest_unnumbered_event_at),
        )
        if snapshot.relay_configured:
            yield _gauge(
                "tenant_service_events_relay_backlog",
                "Change events not yet published to RabbitMQ",
                backlog.unrelayed_events,
            )
        if (connections := snapshot.connections) is None:
            return
        by_health = GaugeMetricFamily(
            "tenant_service_connections",
            "Stored connections by credential type and health (ok, expiring, invalid, unknown)",
            labels=["kind", "health"],
        )
        for kind, counts in sorted(connections.counts.items()):
            for health, count in counts.items():
                by_health.add_metric([kind, health], count)
        yield by_health
        expiry = GaugeMetricFamily(
            "tenant_service_connections_earliest_expiry_timestamp_seconds",
            "When the first connection of each type that still works expires (a WhatsApp token, or its data access)",
            labels=["kind"],
        )
        for kind, at in sorted(connections.next_expiry.items()):
            expiry.add_metric([kind], at.timestamp())
        yield expiry
        oldest = GaugeMetricFamily(
            "tenant_service_connections_oldest_check_timestamp_seconds",
            "When the least recently checked connection of each type was checked (never checked: stored)",
            labels=["kind"],
        )
        for kind, at in sorted(connections.oldest_check.items()):
            oldest.add_metric([kind], at.timestamp())
        yield oldest


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    """A gauge with one sample, or none when there is nothing to measure (no oldest item: absent, not 0)."""
    family = GaugeMetricFamily(name, documentation)
    if value is not None:
        family.add_metric([], value)
    return family


def _timestamp(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()
