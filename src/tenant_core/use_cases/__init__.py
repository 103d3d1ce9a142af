"""Use cases: the rules of the Tenant Service, independent of HTTP and of storage technology."""

from tenant_core.use_cases.api_keys import ApiKeyService
from tenant_core.use_cases.audit_trail import AuditTrail
from tenant_core.use_cases.authentication import Authenticator
from tenant_core.use_cases.key_rotation import CredentialKeyRotation
from tenant_core.use_cases.legacy_import import LegacyImport
from tenant_core.use_cases.provisioning import GenesysProvisioning
from tenant_core.use_cases.rate_limits import RateLimitPolicy
from tenant_core.use_cases.resolution import TenantResolver
from tenant_core.use_cases.signup import WhatsAppSignup
from tenant_core.use_cases.tenants import TenantService, new_tenant_id
from tenant_core.use_cases.vault import CredentialVault

__all__ = [
    "ApiKeyService",
    "AuditTrail",
    "Authenticator",
    "CredentialKeyRotation",
    "CredentialVault",
    "GenesysProvisioning",
    "LegacyImport",
    "RateLimitPolicy",
    "TenantResolver",
    "TenantService",
    "WhatsAppSignup",
    "new_tenant_id",
]
