"""tenant_core: the Tenant Service as a library.

Pure Python (standard library and msgspec only): entities, the error hierarchy, ports and use cases.
Wire it to adapters (``adapters.memory`` for tests and embedding, ``adapters.postgres`` and
``adapters.redis`` for production) and call the use cases with a :class:`Principal`.
"""

from tenant_core.clock import SystemClock
from tenant_core.commands import CompleteOnboarding, CreateTenant, ProvisionGenesys, UpdateTenant
from tenant_core.entities import (
    Admission,
    ApiKey,
    AuditEvent,
    AuditPage,
    CreatedTenant,
    IssuedApiKey,
    Plan,
    Provisioned,
    Settings,
    Tenant,
    TenantPage,
    TenantQuery,
    TenantStatus,
)
from tenant_core.errors import (
    AuthenticationFailedError,
    ConflictError,
    FieldProblem,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitedError,
    TenantServiceError,
    UnavailableError,
    ValidationFailedError,
)
from tenant_core.lookup_cache import TenantCache
from tenant_core.ports import (
    ApiKeyRepository,
    AuditLog,
    Cache,
    Clock,
    IdempotencyKeys,
    RateLimiter,
    Storage,
    TenantRepository,
    TokenVerifier,
    UnitOfWork,
)
from tenant_core.security import SYSTEM, Permission, Principal, Role
from tenant_core.use_cases import (
    ApiKeyService,
    AuditTrail,
    Authenticator,
    GenesysProvisioning,
    RateLimitPolicy,
    TenantResolver,
    TenantService,
)

__all__ = [
    "Admission",
    "ApiKey",
    "ApiKeyRepository",
    "ApiKeyService",
    "AuditEvent",
    "AuditLog",
    "AuditPage",
    "AuditTrail",
    "AuthenticationFailedError",
    "Authenticator",
    "Cache",
    "Clock",
    "CompleteOnboarding",
    "ConflictError",
    "CreateTenant",
    "CreatedTenant",
    "FieldProblem",
    "ForbiddenError",
    "GenesysProvisioning",
    "IdempotencyKeys",
    "IssuedApiKey",
    "NotFoundError",
    "Permission",
    "Plan",
    "PreconditionFailedError",
    "Principal",
    "ProvisionGenesys",
    "Provisioned",
    "RateLimitPolicy",
    "RateLimitedError",
    "RateLimiter",
    "Role",
    "SYSTEM",
    "Settings",
    "Storage",
    "SystemClock",
    "Tenant",
    "TenantCache",
    "TenantPage",
    "TenantQuery",
    "TenantRepository",
    "TenantResolver",
    "TenantService",
    "TenantServiceError",
    "TenantStatus",
    "TokenVerifier",
    "UnavailableError",
    "UnitOfWork",
    "UpdateTenant",
    "ValidationFailedError",
]
