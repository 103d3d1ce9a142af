"""schemathesis against the service's own OpenAPI document: no 5xx, every response as documented."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from tests.support.fake_genesys import FakeGenesys
from tests.support.fake_graph import APP_ID, APP_SECRET, FakeGraph
from tests.support.service_process import ADMIN

# A fixed budget and seed keep CI time bounded and runs comparable; raise it locally to dig deeper. The
# stateful phase follows the OpenAPI links (POST /tenants → every /tenants/{tenant_id} operation, …) with
# enough scenarios and steps that every linked operation is reached with a real id.
CONFIG = """
generation.max-examples = 5
# PUT …/genesys/credentials?verify=true refuses credentials of another org than the tenant's, and generated
# tenants carry random org ids: verifying would leave the walk without stored credentials to follow.
parameters = { "query.verify" = false }

[phases.stateful]
max-steps = 12
inference.algorithms = []  # follow the schema's own links only

[phases.stateful.generation]
max-examples = 150
"""


@pytest.fixture
async def fuzzed_service(service_factory, postgres_url, clean_postgres, tmp_path) -> AsyncIterator[str]:
    """A serve process with its Meta and Genesys fakes, and schemathesis' config in ``tmp_path``."""
    # Signup talks to the fake Graph API, which accepts any code: schemathesis chains real signup states into
    # the callback, and a Graph that refused would (rightly) answer 502, which is not what is under test here.
    graph = FakeGraph()
    graph.behaviour.accept_any_code = True
    graph.start()
    # Connection checks reach a fake Genesys (accepting any client), never the real one.
    genesys = FakeGenesys()
    genesys.behaviour.accept_anything = True
    genesys.start()
    try:
        env = {
            "DATABASE_URL": postgres_url,
            "META_APP_ID": APP_ID,
            "META_APP_SECRET": APP_SECRET,
            "META_GRAPH_URL": graph.url,
            # Generated webhook URLs are not resolved (no DNS waits) and their deliveries give up quickly.
            "WEBHOOK_ALLOW_PRIVATE": "true",
            "WEBHOOK_TIMEOUT_SECONDS": "1",
            "GENESYS_BASE_URL": genesys.url,
        }
        service = await service_factory(env).start()
        (tmp_path / "schemathesis.toml").write_text(CONFIG)
        yield service.url
    finally:
        graph.stop()
        genesys.stop()


# The event routes and the connection checks are fuzzed on their own: their operations would dilute the
# stateful walk through the tenant routes, which is what that walk is for. Two tests, so that they can run
# side by side on two test workers.


async def test_event_and_check_routes_give_no_server_error_and_no_schema_violation(fuzzed_service, tmp_path):
    """All four phases; the stateful one follows POST /webhooks to every /webhooks/{webhook_id} operation."""
    command = _run(fuzzed_service, "examples,coverage,fuzzing,stateful", "--include-path-regex")
    result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    (tmp_path / "schemathesis.out").write_text(result.stdout)
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    links = re.search(r"API Links: +(\d+) covered / (\d+) selected", result.stdout)
    assert links and int(links[1]) == int(links[2]) > 0, summary  # every webhook link followed with a real id


async def test_tenant_routes_and_their_links_give_no_server_error_and_no_schema_violation(fuzzed_service, tmp_path):
    command = _run(fuzzed_service, "examples,coverage,fuzzing,stateful", "--exclude-path-regex")
    result = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,  # its cache stays out
    )
    (tmp_path / "schemathesis.out").write_text(result.stdout)
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert " passed" in summary and "failures" not in summary.split("SUMMARY")[-1].lower(), summary
    assert "Stateful" in result.stdout, summary
    # The operations an earlier run never reached past 404 now get real ids through the OpenAPI links: under
    # one prefix at least (both serve the same route; which one a random walk reaches first is luck, and the
    # published examples, which generation mixes in, make repeated creates conflict more often).
    unreached = _unreached(result.stdout)
    for method, path in NEEDED_REAL_IDS:
        reached = [f"{method} {prefix}{path}" not in unreached for prefix in ("/tenants", "/api/tenants")]
        assert any(reached), f"{method} {path} never got a real id:\n{unreached}"


#: Every check runs but these, whose rules the README's API section lists: the contract states every rule it
#: can, but some are not JSON Schema's to state (a cursor this service issued, a signed signup state, an IANA
#: zone, no NUL, an old and a new credential name that disagree, a stale If-Match version), and a deleted
#: tenant's audit log stays readable on purpose (an audit trail outlives what it records).
EXCLUDED_CHECKS = ["positive_data_acceptance", "use_after_free"]


def _run(url: str, phases: str, filter_option: str) -> list[str]:
    """A schemathesis run of ``phases``, on the event and connection-check routes or (``--exclude-path-regex``)
    all the others."""
    return [
        sys.executable,
        "-c",
        "from schemathesis.cli import schemathesis; schemathesis()",
        "run",
        f"{url}/schema/openapi.json",
        "-H",
        f"Authorization: {ADMIN['Authorization']}",
        "--checks",
        "all",
        *(["--exclude-checks", ",".join(EXCLUDED_CHECKS)] if EXCLUDED_CHECKS else []),
        # Valid and invalid inputs alike; the stateful phase follows the OpenAPI links with real ids.
        "--mode",
        "all",
        "--phases",
        phases,
        "--generation-with-security-parameters",
        "false",  # the admin bearer above authenticates; a generated X-API-Key too would be a 400
        "--seed",
        "1",
        "--no-color",
        filter_option,
        "^/(events|webhooks)|/verify$",
    ]


NEEDED_REAL_IDS = [
    ("DELETE", "/{tenant_id}/api-keys/{key_id}"),
    ("GET", "/{tenant_id}/genesys/credentials"),
    ("GET", "/{tenant_id}/credentials/{kind}"),
    ("PATCH", "/{tenant_id}"),
    ("GET", "/{tenant_id}/audit-log"),
    ("POST", "/{tenant_id}/whatsapp/signup-state"),
]


def _unreached(output: str) -> str:
    """The "Missing test data" warning of schemathesis' report (empty when every operation got data)."""
    start = output.find("Missing test data")
    if start == -1:
        return ""
    end = output.find("Schema validation mismatch", start)
    return output[start : end if end != -1 else start + 4000]
