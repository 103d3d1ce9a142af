"""``OPTIONS`` answers list every method of the resource in ``Allow``.

Litestar answers ``OPTIONS`` itself, but its answer names the methods of the route as it stood when the first
handler of a path was registered (``Allow: GET, OPTIONS`` for ``/tenants/{id}``, which also takes PATCH and
DELETE). This ``before_send`` hook rewrites the header from the finished app's routes.
"""

from __future__ import annotations

from functools import cache

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope


@cache
def _allowed(app: Litestar) -> dict[str, str]:
    return {route.path_format: ", ".join(sorted(route.methods)) for route in app.routes if isinstance(route, HTTPRoute)}


async def allow_every_method(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    allowed = _allowed(scope["app"]).get(scope.get("path_template", ""))
    headers = MutableScopeHeaders.from_message(message)
    if allowed is not None and "allow" in headers:
        headers["Allow"] = allowed
