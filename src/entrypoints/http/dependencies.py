"""Litestar dependencies: every field of :class:`~tenant_entrypoints.container.Services` by its name, and the caller.

Adding a use case is one field (and one provider) in the container; its dependency follows from here.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from tenant_core import Principal
from tenant_entrypoints.container import Services


def _field_of_services(name: str):  # type: ignore[no-untyped-def]
    def provide(state: State) -> Any:
        return getattr(state.services, name)

    return provide


def provide_services(state: State) -> Services:
    return state.services  # type: ignore[no-any-return]


def principal_of(request: Request) -> Principal:
    """Set by :class:`~tenant_entrypoints.http.auth.AuthMiddleware`; public routes do not ask for it."""
    return request.scope["state"]["principal"]  # type: ignore[no-any-return]


def services_of(request: Request) -> Services:
    """For the hot routes: Litestar resolves two or more dependencies in an anyio task group, which costs
    more than the whole cache-hot lookup, so those routes take the request and read what they need."""
    return request.app.state.services  # type: ignore[no-any-return]


def provide_optional_principal(request: Request) -> Principal | None:
    """For routes where credentials are optional (``opt={"auth": "optional"}``)."""
    return request.scope["state"].get("principal")  # type: ignore[no-any-return]


DEPENDENCIES = {
    **{f.name: Provide(_field_of_services(f.name), sync_to_thread=False) for f in fields(Services)},
    "services": Provide(provide_services, sync_to_thread=False),
    "principal": Provide(principal_of, sync_to_thread=False),
    "optional_principal": Provide(provide_optional_principal, sync_to_thread=False),
}
