"""docs/FRD.md lists every route of the service's OpenAPI document."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from tenant_entrypoints.config import Config
from tenant_entrypoints.http.app import create_app

FRD = Path(__file__).resolve().parents[2] / "docs" / "FRD.md"


def test_every_openapi_route_is_in_the_frd():
    keys = "k=" + base64.b64encode(b"k" * 32).decode()
    app = create_app(config=Config(database_url="postgresql://unused", jwt_secret="x" * 32, credentials_keys=keys))
    documented = set(re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?]*)`", FRD.read_text()))
    paths = app.openapi_schema.to_schema()["paths"]
    missing = [
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
        and (method.upper(), re.sub(r"^/api(?=/(tenants|whatsapp))", "", path)) not in documented
    ]
    assert not missing, f"routes missing from docs/FRD.md: {missing}"
