"""Use cases: the rules of the Tenant Service, independent of HTTP and of storage technology."""

from tenant_core.use_cases.provisioning import GenesysProvisioning
from tenant_core.use_cases.resolution import TenantResolver
from tenant_core.use_cases.tenants import TenantService, new_tenant_id

__all__ = ["GenesysProvisioning", "TenantResolver", "TenantService", "new_tenant_id"]
