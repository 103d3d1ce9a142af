"""tenant_core: the Tenant Service as a library.

Pure Python (standard library and msgspec only): entities, the error hierarchy, ports and use cases.
Wire it to adapters (``adapters.memory`` for tests and embedding, ``adapters.postgres`` and
``adapters.redis`` for production) and call the use cases with a :class:`Principal`.
"""

from tenant_core.clock import SystemClock
from tenant_core.commands import CompleteOnboarding, CreateTenant, ProvisionGenesys, UpdateTenant
from tenant_core.entities import Plan, Provisioned, Settings, Tenant, TenantPage, TenantQuery, TenantStatus
from tenant_core.errors import (
    ConflictError,
    FieldProblem,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    TenantServiceError,
    UnavailableError,
    ValidationFailedError,
)
from tenant_core.lookup_cache import TenantCache
from tenant_core.ports import Cache, Clock, IdempotencyKeys, Storage, TenantRepository, UnitOfWork
from tenant_core.security import SYSTEM, Permission, Principal, Role
from tenant_core.use_cases import GenesysProvisioning, TenantResolver, TenantService

__all__ = [
    "Cache",
    "Clock",
    "CompleteOnboarding",
    "ConflictError",
    "CreateTenant",
    "FieldProblem",
    "ForbiddenError",
    "GenesysProvisioning",
    "IdempotencyKeys",
    "NotFoundError",
    "Permission",
    "Plan",
    "PreconditionFailedError",
    "Principal",
    "ProvisionGenesys",
    "Provisioned",
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
    "UnavailableError",
    "UnitOfWork",
    "UpdateTenant",
    "ValidationFailedError",
]
