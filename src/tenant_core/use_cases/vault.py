"""The credential vault: a tenant's credentials of every registered type, sealed at rest.

Its two jobs live in their own modules: :mod:`~tenant_core.use_cases.credential_writes` (store, delete,
record a connection check) and :mod:`~tenant_core.use_cases.credential_reads` (masked views, clear reads
and their audit). What differs by type is the type's policy (:mod:`tenant_core.credential_registry`).
"""

from __future__ import annotations

from tenant_core.lookup_cache import TenantCache, TenantDirectory
from tenant_core.ports import Clock, Storage
from tenant_core.sealing import SealedValues
from tenant_core.use_cases.credential_reads import CredentialReads
from tenant_core.use_cases.credential_writes import CredentialWrites


class CredentialVault(CredentialWrites, CredentialReads):
    """Store, read, reveal and delete a tenant's credentials; every method takes the calling principal first
    (but :meth:`opened`, for use cases that check their own permission)."""

    def __init__(
        self,
        storage: Storage,
        sealed: SealedValues,
        tenant_cache: TenantCache,
        directory: TenantDirectory,
        clock: Clock,
        meta_app_secret: str | None = None,
    ) -> None:
        """``directory`` is the service's one :class:`TenantDirectory`; ``meta_app_secret`` the platform's Meta
        app secret, handed out when a tenant has no app of its own."""
        CredentialWrites.__init__(self, storage, sealed, tenant_cache, clock)
        CredentialReads.__init__(self, storage, sealed, directory, clock, meta_app_secret)
