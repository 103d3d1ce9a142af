"""Refinements of the generated OpenAPI document that Litestar cannot derive by itself.

Links: which response supplies the ids other operations need. Patterns: in ECMA-262 form (see
:func:`ecma_patterns`).
A tenant created by ``POST /tenants`` is what every ``/tenants/{tenant_id}…`` operation acts on, and an API
key issued by ``POST …/api-keys`` is what ``DELETE …/api-keys/{key_id}`` revokes. Saying so lets clients
and tools (schemathesis' stateful phase) follow real ids instead of guessing them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import Link, OpenAPIType, Operation, Reference, RequestBody, Schema

from tenant_core.change_events import EventType
from tenant_core.commands import WHOLE_STRING_END

_METHODS = ("get", "put", "post", "patch", "delete")


def _operations(app: Litestar) -> list[tuple[str, Operation]]:
    paths = app.openapi_schema.paths or {}
    return [(path, op) for path, item in paths.items() for m in _METHODS if (op := getattr(item, m)) is not None]


#: (source path under a prefix, source method, status) → (target paths under the prefix, parameters).
_RULES: list[tuple[tuple[str, str, str], tuple[tuple[str, ...], dict[str, str]]]] = [
    (("", "post", "201"), (("/{tenant_id}",), {"tenant_id": "$response.body#/tenant/id"})),
    (("/provision/genesys", "post", "201"), (("/{tenant_id}",), {"tenant_id": "$response.body#/tenantId"})),
    (("/provision/genesys", "post", "200"), (("/{tenant_id}",), {"tenant_id": "$response.body#/tenantId"})),
    (
        ("/{tenant_id}/api-keys", "post", "201"),
        (("/{tenant_id}/api-keys/{key_id}",), {"tenant_id": "$request.path.tenant_id", "key_id": "$response.body#/id"}),
    ),
    (
        ("/{tenant_id}/genesys/credentials", "put", "200"),
        (
            ("/{tenant_id}/genesys/credentials", "/{tenant_id}/credentials/{kind}", "/by-integration/"),
            {
                "tenant_id": "$request.path.tenant_id",
                "kind": "genesys",
                "integration_id": "$response.body#/tenant/genesysIntegrationId",
            },
        ),
    ),
    (
        ("/{tenant_id}/whatsapp", "post", "200"),
        (("/{tenant_id}/credentials/",), {"tenant_id": "$request.path.tenant_id", "kind": "whatsapp"}),
    ),
]


def forbid_unknown_fields(app: Litestar) -> None:
    """Say ``additionalProperties: false`` where the body Struct refuses unknown fields (Litestar leaves it out)."""
    strict = {cls.__name__ for cls in _structs(msgspec.Struct) if cls.__struct_config__.forbid_unknown_fields}
    components = app.openapi_schema.components
    for name, schema in ((components.schemas or {}) if components else {}).items():
        if name in strict and isinstance(schema, Schema):
            schema.additional_properties = False


def _structs(base: type) -> set[type]:
    found = set()
    for sub in base.__subclasses__():
        found |= {sub} | _structs(sub)
    return found


#: Links of the routes outside the tenant prefixes.
_ROOT_RULES = [
    (("/webhooks", "post", "201"), (("/webhooks/{webhook_id}",), {"webhook_id": "$response.body#/id"})),
]


def add_links(app: Litestar) -> None:
    operations = _operations(app)
    rules = [(prefix, rule) for prefix in ("/tenants", "/api/tenants") for rule in _RULES]
    for prefix, ((source_path, method, status), (targets, parameters)) in [*rules, *(("", r) for r in _ROOT_RULES)]:
        item = (app.openapi_schema.paths or {}).get(prefix + source_path)
        source = getattr(item, method, None) if item is not None else None
        if source is not None:
            _link(source, status, operations, tuple(prefix + t for t in targets), parameters)


#: Reads of what a tenant gets only later (stored credentials): a tenant's id alone does not lead to them, so
#: the links that hand out a new tenant's id do not point there (the credential writes' links do).
_NOT_YET = ("/genesys/credentials", "/credentials/meta")


def _link(
    source: Operation,
    status: str,
    operations: list[tuple[str, Operation]],
    under: tuple[str, ...],
    parameters: dict[str, str],
) -> None:
    """Link ``source``'s ``status`` response to every operation whose path starts with one of ``under`` and
    whose path parameters ``parameters`` all supply."""
    response = (source.responses or {}).get(status)
    if response is None or isinstance(response, dict):
        return
    links = dict(getattr(response, "links", None) or {})
    hands_out_tenants = set(parameters) == {"tenant_id"}
    for path, target in operations:
        if not path.startswith(under) or target is source or target.operation_id is None:
            continue
        if hands_out_tenants and path.endswith(_NOT_YET) and target.request_body is None:
            continue
        names = {p.name for p in (target.parameters or []) if getattr(p, "param_in", None) == "path"}
        if names <= set(parameters):
            links[target.operation_id] = Link(
                operation_id=target.operation_id, parameters={n: parameters[n] for n in sorted(names)}
            )
    response.links = links


def ecma_patterns(app: Litestar) -> None:
    """Publish identifier patterns as JSON Schema reads them (ECMA-262), where a closing ``$`` already means the
    end of the string: the ``(?!\\n)`` that Python's ``re`` needs after it (see :mod:`tenant_core.commands`) is
    dropped, so that clients and schema-driven generators read the plain, equivalent pattern."""
    _ecma(app.openapi_schema, set())


def _ecma(node: Any, seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, Schema) and isinstance(node.pattern, str) and node.pattern.endswith(WHOLE_STRING_END):
        node.pattern = node.pattern.removesuffix(WHOLE_STRING_END) + "$"
    if isinstance(node, dict):
        children: Any = node.values()
    elif isinstance(node, list | tuple):
        children = node
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        children = (getattr(node, f.name) for f in dataclasses.fields(node))
    else:
        return
    for child in children:
        _ecma(child, seen)


def optional_bodies(app: Litestar) -> None:
    """A body the route may go without (its ``data`` has a default) is not ``required`` (Litestar says it is)."""
    paths = app.openapi_schema.paths or {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is None or not data.is_optional:
                continue
            item = paths.get(route.path_format)
            for method in handler.http_methods:
                operation = getattr(item, method.lower(), None) if item is not None else None
                if operation is not None and isinstance(operation.request_body, RequestBody):
                    operation.request_body.required = False


def parameters_are_never_null(app: Litestar) -> None:
    """A query parameter or header the caller leaves out is absent, never ``null``: Litestar describes optional
    ones as ``oneOf [T, null]``, which invites clients (and generators) to send the text ``null``."""
    for _, operation in _operations(app):
        for parameter in operation.parameters or []:
            schema = getattr(parameter, "schema", None)
            if isinstance(schema, Schema) and schema.one_of:
                kept = [s for s in schema.one_of if not (isinstance(s, Schema) and s.type == OpenAPIType.NULL)]
                if len(kept) == 1 and isinstance(kept[0], Schema | Reference):
                    schema.one_of = None
                    if isinstance(kept[0], Reference):
                        schema.all_of = [kept[0]]
                    else:
                        schema.type = kept[0].type
                        schema.enum = schema.enum or kept[0].enum


def event_type_lists(app: Litestar) -> None:
    """List the event types a subscription's ``eventTypes`` takes, as an enum: the core judges the names with
    :func:`~tenant_core.change_events.checked_event_types` (as it does the feed's filter), not by their type."""
    components = app.openapi_schema.components
    for name in ("NewWebhook", "WebhookChange"):
        schema = ((components.schemas or {}) if components else {}).get(name)
        if isinstance(schema, Schema):
            _enum_items((schema.properties or {}).get("eventTypes"))


def _enum_items(node: Any) -> None:
    if isinstance(node, Schema):
        if node.type == OpenAPIType.ARRAY and isinstance(node.items, Schema):
            node.items.enum = [t.value for t in EventType]
        for child in (*(node.one_of or ()), *(node.any_of or ())):
            _enum_items(child)
