"""Every operation's published example is one this test sends: the real app answers it as documented.

The examples (``tenant_entrypoints.http.examples``) run in order as one story against the real app, with
the fake Meta Graph API and a fake Genesys Cloud on loopback; each response must have the documented
status and shape, and both the documented and the real body must match the operation's response schema.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import jsonschema_rs
import pytest
from litestar.testing import AsyncTestClient

from tenant_entrypoints.http.examples import EXAMPLES, WEBHOOK_SECRET, WEBHOOK_URL, Example, operation_key
from tests.api.conftest import ADMIN, app_for
from tests.support.fake_genesys import FakeGenesys
from tests.support.fake_graph import APP_ID, APP_SECRET, FakeGraph
from tests.support.webhook_receiver import Receiver

_METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeGraph, FakeGenesys]]:
    graph, genesys = FakeGraph(), FakeGenesys()
    graph.behaviour.accept_any_code = True  # the example's code is not the fake's one
    genesys.behaviour.accept_anything = True
    graph.start(), genesys.start()
    yield graph, genesys
    graph.stop(), genesys.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
async def examples_client(postgres_url, redis_server, fakes, clean_postgres, clean_redis) -> AsyncIterator:
    graph, genesys = fakes
    app = app_for(
        postgres_url,
        redis_server.url,
        meta_app_id=APP_ID,
        meta_app_secret=APP_SECRET,
        meta_graph_url=graph.url,
        meta_graph_timeout=2.0,
        genesys_base_url=genesys.url,
        genesys_timeout=2.0,
        webhook_retry_schedule=(3600.0,),  # the delivery example stays pending while the story reads it
    )
    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(ADMIN)
        yield client


async def test_every_operation_has_a_request_and_a_response_example(examples_client):
    document = (await examples_client.get("/schema/openapi.json")).json()
    missing = []
    for path, item in document["paths"].items():
        for method, operation in ((m, item[m]) for m in _METHODS if m in item):
            name = f"{method.upper()} {path}"
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and "examples" not in body:
                missing.append(f"{name}: request body")
            missing += [
                f"{name}: parameter {p['name']}"
                for p in operation.get("parameters", [])
                if p["in"] == "path" and "examples" not in p
            ]
            success = next(s for s in operation["responses"] if s.startswith("2"))
            content = operation["responses"][success].get("content")
            if content is not None and not all("examples" in media for media in content.values()):
                missing.append(f"{name}: {success} response")
    assert not missing, "\n".join(missing)
    operations = {operation_key(m, p) for p, item in document["paths"].items() for m in _METHODS if m in item}
    assert {example.operation for example in EXAMPLES} <= operations  # no example of a gone operation


async def test_every_example_is_answered_as_documented(examples_client, receiver):
    document = (await examples_client.get("/schema/openapi.json")).json()
    real = {WEBHOOK_URL: receiver.url}  # placeholder → the value the story created
    for example in EXAMPLES:
        response = await _send(examples_client, example, real)
        deadline = time.monotonic() + 15
        while example.eventually and not _same_shape(example.response, _body(response)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # background work (the event worker fanning events out to deliveries)
            response = await _send(examples_client, example, real)
        assert response.status_code == example.status, f"{example.operation}: {response.text}"
        body = _body(response)
        assert _same_shape(example.response, body), f"{example.operation}:\n{json.dumps(body, indent=1)}"
        schema = _response_schema(document, example)
        if schema is not None:
            assert schema.is_valid(example.response), f"{example.operation}: the documented example"
            assert schema.is_valid(body), f"{example.operation}: the answer"
        for placeholder, pointer in example.captures.items():
            real[placeholder] = _at(body, pointer)
        receiver.secret = real.get(WEBHOOK_SECRET)  # it verifies the deliveries' signatures


async def _send(client: AsyncTestClient, example: Example, real: dict[str, str]):
    def concrete(text: str) -> str:
        for placeholder, value in real.items():
            text = text.replace(placeholder, value)
        return text

    kwargs: dict[str, Any] = {"params": {k: concrete(v) for k, v in example.query.items()}}
    headers = {k: concrete(v) for k, v in example.headers.items()}
    if example.body is not None:
        kwargs["content"] = concrete(json.dumps(example.body))
        headers["content-type"] = "application/json"
    return await client.request(example.method, concrete(example.path()), headers=headers, **kwargs)


def _body(response) -> Any:
    if not response.content:
        return None
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return response.text


def _same_shape(documented: Any, actual: Any) -> bool:
    """The same JSON types and object keys; lists compared by their first items; ``{}`` documents any object
    (free-form ones: settings, metadata, event data)."""
    if isinstance(documented, dict):
        if not isinstance(actual, dict):
            return False
        if not documented:
            return True
        return documented.keys() == actual.keys() and all(_same_shape(v, actual[k]) for k, v in documented.items())
    if isinstance(documented, list):
        return (
            isinstance(actual, list)
            and (not documented) == (not actual)
            and (not documented or _same_shape(documented[0], actual[0]))
        )
    if documented is None or isinstance(documented, bool):
        return actual is documented or type(actual) is type(documented)
    if isinstance(documented, int | float):
        return isinstance(actual, int | float) and not isinstance(actual, bool)
    return type(actual) is type(documented)


def _response_schema(document: dict, example: Example) -> jsonschema_rs.Draft202012Validator | None:
    operation = document["paths"][example.template][example.method.lower()]
    media = operation["responses"][str(example.status)].get("content", {}).get(example.media_type)
    if media is None or "schema" not in media:
        return None
    return jsonschema_rs.Draft202012Validator({**media["schema"], "components": document["components"]})


def _at(body: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/"):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body
