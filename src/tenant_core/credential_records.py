"""A credential at rest: sealed whole (every field, under the credentials key) and bound to its tenant and
type, for every registered type. The vault, the connection checks and the legacy import seal and open
credentials only through these two functions."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tenant_core.connections import ConnectionStatus
from tenant_core.credential_registry import CREDENTIAL_POLICIES
from tenant_core.credential_types import Credentials, SealedCredentials, StoredCredentials
from tenant_core.sealed_kinds import CREDENTIALS
from tenant_core.sealing import SealedValues


def credentials_ref(tenant_id: str, kind: str) -> tuple[str, str]:
    """The record a credential is sealed for (:data:`~tenant_core.sealed_kinds.CREDENTIALS`): copied to another
    tenant or type, its ciphertext no longer opens."""
    return (tenant_id, str(kind))


def seal_credentials(
    sealed: SealedValues,
    tenant_id: str,
    credentials: Credentials,
    at: datetime,
    status: ConnectionStatus | None = None,
) -> SealedCredentials:
    """The record to store for ``credentials`` (its type is the policy whose fields they are)."""
    kind = CREDENTIAL_POLICIES.of(credentials).name
    key_id, ciphertext = sealed.seal(CREDENTIALS, credentials_ref(tenant_id, kind), msgspec.json.encode(credentials))
    return SealedCredentials(tenant_id, kind, key_id, ciphertext, at, status)


def open_credentials(sealed: SealedValues, record: SealedCredentials) -> StoredCredentials:
    """The credential in clear. One that no configured key opens, or not in its type's shape, is reported
    and raised (:class:`~tenant_core.errors.CredentialsUnreadableError`)."""
    fields = CREDENTIAL_POLICIES[record.type].fields
    ref = credentials_ref(record.tenant_id, record.type)
    credentials = sealed.decode(CREDENTIALS, ref, record.key_id, record.ciphertext, fields)
    return StoredCredentials(record.tenant_id, record.type, credentials, record.updated_at, record.status)
