"""What an API key is: its secret's shape, its stored hash, its name rule and how one is issued.

Shared by the use cases that issue keys (tenant creation, the key service), recognise them (authentication)
and import them (legacy import).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Annotated

from msgspec import Meta

from tenant_core.audit import AuditAction, record
from tenant_core.entities import ApiKey, IssuedApiKey
from tenant_core.errors import ValidationFailedError
from tenant_core.ports import Clock, UnitOfWork
from tenant_core.security import Principal

SECRET_PREFIX = "sk_"

#: A key's name: what its owner calls it in the key list.
ApiKeyName = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S", description="What the key is for")]


def check_name(name: str) -> str:
    if not 1 <= len(name) <= 100 or not name.strip():
        raise ValidationFailedError.for_field("name", "must be 1 to 100 characters and not blank")
    return name


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret. Keys carry 256 random bits, so a slow hash would add cost and no safety."""
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def new_api_key(tenant_id: str, name: str, now: datetime) -> IssuedApiKey:
    secret = SECRET_PREFIX + secrets.token_hex(32)
    key = ApiKey(
        id="key_" + secrets.token_hex(8),
        tenant_id=tenant_id,
        name=check_name(name),
        prefix=secret[:11],  # "sk_" + 8 hex: enough to recognise a key, useless to guess it
        key_hash=hash_secret(secret),
        created_at=now,
    )
    return IssuedApiKey(key=key, secret=secret)


async def issue_in(uow: UnitOfWork, clock: Clock, principal: Principal, tenant_id: str, name: str) -> IssuedApiKey:
    """Issue a key inside an open unit of work (tenant creation uses this too)."""
    issued = new_api_key(tenant_id, name, clock.now())
    await uow.api_keys.add(issued.key)
    detail = {"apiKeyId": issued.key.id, "name": issued.key.name, "prefix": issued.key.prefix}
    await record(uow, clock, principal, AuditAction.API_KEY_CREATED, tenant_id, ["name"], detail=detail)
    return issued
