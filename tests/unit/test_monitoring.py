"""The alert rules and the dashboard shipped in docs/monitoring: they test green and name only real metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tenant_core.operations import Backlog, ConnectionsHealth, OperationsSnapshot
from tenant_entrypoints import metrics

MONITORING = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
PROMTOOL = shutil.which("promtool")
METRIC_NAME = re.compile(r"\btenant_service_[a-z0-9_]+")

#: A reading with every gauge present (a relay configured, something waiting everywhere).
EVERYTHING = OperationsSnapshot(
    database_up=True,
    cache_status="connected",
    backlog=Backlog(
        pending_deliveries=1,
        oldest_pending_delivery_at=datetime(2026, 1, 1, tzinfo=UTC),
        failing_subscriptions=1,
        unnumbered_events=1,
        oldest_unnumbered_event_at=datetime(2026, 1, 1, tzinfo=UTC),
        unrelayed_events=1,
    ),
    relay_configured=True,
    connections=ConnectionsHealth(
        counts={"whatsapp": {"ok": 1, "expiring": 1, "invalid": 1, "unknown": 1}},
        next_expiry={"whatsapp": datetime(2026, 1, 5, tzinfo=UTC)},
        oldest_check={"whatsapp": datetime(2026, 1, 1, tzinfo=UTC)},
    ),
)


def exported_names() -> set[str]:
    """Every series name ``/metrics`` can show: each family with its sample suffixes."""
    names = set()
    for line in metrics.render(EVERYTHING).decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            suffixes = {"counter": ("", "_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}
            names.update(name.removesuffix("_total") + s for s in suffixes.get(kind, ("",)))
    return names


def _dashboard_queries() -> list[str]:
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_every_metric_the_dashboard_queries_is_exported():
    queries = _dashboard_queries()
    assert len(queries) >= 15
    named = {name for query in queries for name in METRIC_NAME.findall(query)}
    assert named - exported_names() == set()


def test_every_metric_the_alert_rules_use_is_exported():
    named = set(METRIC_NAME.findall((MONITORING / "alerts.yml").read_text()))
    assert len(named) >= 8
    assert named - exported_names() == set()


def test_the_name_check_catches_a_metric_the_service_does_not_export():
    """The check above can fail: a query on a made-up series is reported."""
    assert {"tenant_service_made_up_total"} - exported_names() == {"tenant_service_made_up_total"}
    assert "tenant_service_http_requests_total" in exported_names()


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed: apt-get install prometheus (.ci/run does)")
def test_alert_rules_are_valid_and_each_fires_and_stays_quiet_as_tested():
    """promtool checks the rules file, then runs alerts.test.yml: a firing and a quiet case per alert."""
    check = subprocess.run([PROMTOOL, "check", "rules", "alerts.yml"], cwd=MONITORING, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run([PROMTOOL, "test", "rules", "alerts.test.yml"], cwd=MONITORING, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_alert_has_a_test():
    rules = set(re.findall(r"- alert: (\w+)", (MONITORING / "alerts.yml").read_text()))
    tested = set(re.findall(r"alertname: (\w+)", (MONITORING / "alerts.test.yml").read_text()))
    assert rules and rules == tested
