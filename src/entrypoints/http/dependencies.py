"""Litestar dependencies: the use cases built by the container (resolved once in the lifespan) and the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from tenant_core import (
    ApiKeyService,
    AuditTrail,
    Authenticator,
    GenesysProvisioning,
    Principal,
    RateLimitPolicy,
    TenantResolver,
    TenantService,
)
from tenant_core.ports import Cache, Storage
from tenant_core.use_cases.credentials import CredentialVault
from tenant_core.use_cases.signup import WhatsAppSignup


class OperatedStorage(Storage, Protocol):
    async def missing_migrations(self) -> set[str]:
        """Migration ids not yet applied (empty when the schema is current)."""
        ...

    def pool_usage(self) -> tuple[int, int]:
        """``(connections open, idle)``."""
        ...


@dataclass(frozen=True, slots=True)
class Services:
    """What the routes use, resolved from the container once per process."""

    storage: OperatedStorage
    cache: Cache
    tenants: TenantService
    resolver: TenantResolver
    provisioning: GenesysProvisioning
    api_keys: ApiKeyService
    audit_trail: AuditTrail
    authenticator: Authenticator
    rate_limits: RateLimitPolicy
    vault: CredentialVault
    signup: WhatsAppSignup
    auth_disabled: bool


def _services(state: State) -> Services:
    return state.services  # type: ignore[no-any-return]


def provide_tenants(state: State) -> TenantService:
    return _services(state).tenants


def provide_resolver(state: State) -> TenantResolver:
    return _services(state).resolver


def provide_provisioning(state: State) -> GenesysProvisioning:
    return _services(state).provisioning


def provide_api_keys(state: State) -> ApiKeyService:
    return _services(state).api_keys


def provide_audit_trail(state: State) -> AuditTrail:
    return _services(state).audit_trail


def provide_vault(state: State) -> CredentialVault:
    return _services(state).vault


def provide_signup(state: State) -> WhatsAppSignup:
    return _services(state).signup


def provide_services(state: State) -> Services:
    return _services(state)


def provide_principal(request: Request) -> Principal:
    """Set by :class:`~entrypoints.http.auth.AuthMiddleware`; public routes do not ask for it."""
    return principal_of(request)


def principal_of(request: Request) -> Principal:
    return request.scope["state"]["principal"]  # type: ignore[no-any-return]


def services_of(request: Request) -> Services:
    """For the hot routes: Litestar resolves two or more dependencies in an anyio task group, which costs
    more than the whole cache-hot lookup, so those routes take the request and read what they need."""
    return request.app.state.services  # type: ignore[no-any-return]


def provide_optional_principal(request: Request) -> Principal | None:
    """For routes where credentials are optional (``opt={"auth": "optional"}``)."""
    return request.scope["state"].get("principal")  # type: ignore[no-any-return]


DEPENDENCIES = {
    "tenants": Provide(provide_tenants, sync_to_thread=False),
    "resolver": Provide(provide_resolver, sync_to_thread=False),
    "provisioning": Provide(provide_provisioning, sync_to_thread=False),
    "api_keys": Provide(provide_api_keys, sync_to_thread=False),
    "audit_trail": Provide(provide_audit_trail, sync_to_thread=False),
    "vault": Provide(provide_vault, sync_to_thread=False),
    "signup": Provide(provide_signup, sync_to_thread=False),
    "optional_principal": Provide(provide_optional_principal, sync_to_thread=False),
    "services": Provide(provide_services, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
}
