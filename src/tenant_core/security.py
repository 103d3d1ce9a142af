"""Who is asking, and what each role may do. The HTTP layer only turns headers into a :class:`Principal`."""

from __future__ import annotations

import enum

import msgspec

from tenant_core.errors import ForbiddenError, Refusal, TenantSuspendedError


class Role(enum.StrEnum):
    """Who is calling: an admin, another platform service, or a tenant acting on itself."""

    ADMIN = "admin"
    SERVICE = "service"  # other platform services
    TENANT = "tenant"  # a tenant acting on itself (JWT with tenant_id, or one of its API keys)


class Permission(enum.StrEnum):
    """What a principal may do; :data:`ROLE_PERMISSIONS` in ``tenant_core.security`` gives each role's."""

    TENANTS_CREATE = "tenants:create"
    TENANTS_LIST = "tenants:list"
    TENANTS_READ = "tenants:read"
    TENANTS_UPDATE = "tenants:update"
    TENANTS_DELETE = "tenants:delete"
    TENANTS_ONBOARD = "tenants:onboard"
    TENANTS_RESOLVE = "tenants:resolve"
    TENANTS_PROVISION = "tenants:provision"
    CREDENTIALS_READ = "credentials:read"
    CREDENTIALS_WRITE = "credentials:write"
    CREDENTIALS_REVEAL = "credentials:reveal"
    SIGNUP_START = "whatsapp:signup"
    API_KEYS_MANAGE = "api_keys:manage"
    AUDIT_READ = "audit:read"
    METRICS_READ = "metrics:read"
    EVENTS_READ = "events:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    CONNECTIONS_VERIFY = "connections:verify"


_ALL = frozenset(Permission)

#: The contract's role table. A ``tenant`` principal holds its permissions for its own tenant only.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: _ALL,
    Role.SERVICE: frozenset(
        {
            Permission.TENANTS_LIST,
            Permission.TENANTS_READ,
            Permission.TENANTS_RESOLVE,
            Permission.TENANTS_PROVISION,
            Permission.CREDENTIALS_READ,
            Permission.CREDENTIALS_REVEAL,
            Permission.METRICS_READ,
            Permission.EVENTS_READ,
            Permission.CONNECTIONS_VERIFY,
        }
    ),
    Role.TENANT: frozenset(
        {
            Permission.TENANTS_READ,
            Permission.TENANTS_UPDATE,
            Permission.CREDENTIALS_READ,
            Permission.CREDENTIALS_WRITE,
            Permission.SIGNUP_START,
            Permission.API_KEYS_MANAGE,
            Permission.AUDIT_READ,
            Permission.EVENTS_READ,  # its own events only
            Permission.CONNECTIONS_VERIFY,
        }
    ),
}

#: What a tenant may change about itself with PATCH (wire names).
TENANT_SELF_EDITABLE: frozenset[str] = frozenset({"name", "email", "domain", "settings"})


#: What the principals of a suspended tenant may still do: read their own record (to learn why).
SUSPENDED_PERMISSIONS: frozenset[Permission] = frozenset({Permission.TENANTS_READ})


class Principal(msgspec.Struct, frozen=True):
    """An authenticated caller. ``subject`` is the JWT ``sub`` or the API key id; it is what the audit log shows.

    ``suspended`` is set per request by the authenticator when a tenant principal's tenant is suspended.
    """

    subject: str
    role: Role
    tenant_id: str | None = None
    suspended: bool = False

    def can(self, permission: Permission, tenant_id: str | None = None) -> bool:
        if permission not in ROLE_PERMISSIONS[self.role]:
            return False
        if self.role is Role.TENANT:
            # Tenant principals act only on their own tenant, and never on tenant-less operations.
            return tenant_id is not None and tenant_id == self.tenant_id
        return True

    def require(self, permission: Permission, tenant_id: str | None = None) -> None:
        """Raise :class:`ForbiddenError` unless allowed. Checked before any lookup, so a refusal leaks nothing."""
        if not self.can(permission, tenant_id):
            wrong_role = permission not in ROLE_PERMISSIONS[self.role]
            raise ForbiddenError(
                "You are not allowed to perform this action", Refusal.WRONG_ROLE if wrong_role else Refusal.OTHER_TENANT
            )
        if self.suspended and permission not in SUSPENDED_PERMISSIONS:
            raise TenantSuspendedError(f"Tenant {self.tenant_id} is suspended: it may only read its own record")


#: The principal for trusted in-process callers and CLI tools.
SYSTEM = Principal(subject="system", role=Role.ADMIN)
