"""schemathesis against the service's own OpenAPI document: no 5xx, every response as documented."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from tests.support.fake_graph import APP_ID, APP_SECRET, FakeGraph
from tests.support.service_process import ADMIN

# A fixed budget and seed keep CI time bounded and runs comparable; raise it locally to dig deeper.
EXAMPLES_PER_OPERATION = "5"


async def test_fuzzing_finds_no_server_error_and_no_schema_violation(
    service_factory, postgres_url, clean_postgres, tmp_path
):
    # Signup talks to the fake Graph API, which accepts any code: schemathesis chains real signup states into
    # the callback, and a Graph that refused would (rightly) answer 502, which is not what is under test here.
    graph = FakeGraph()
    graph.behaviour.accept_any_code = True
    graph.start()
    try:
        env = {
            "DATABASE_URL": postgres_url,
            "META_APP_ID": APP_ID,
            "META_APP_SECRET": APP_SECRET,
            "META_GRAPH_URL": graph.url,
        }
        service = await service_factory(env).start()
        command = [
            sys.executable,
            "-c",
            "from schemathesis.cli import schemathesis; schemathesis()",
            "run",
            f"{service.url}/schema/openapi.json",
            "-H",
            f"Authorization: {ADMIN['Authorization']}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            EXAMPLES_PER_OPERATION,
            "--seed",
            "1",
            "--no-color",
        ]
        result = await asyncio.to_thread(
            subprocess.run,
            command,
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,  # its cache stays out
        )
    finally:
        graph.stop()
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert " passed" in summary and "failures" not in summary.split("SUMMARY")[-1].lower(), summary
