"""``token``: a signed JWT for calling the API."""

from __future__ import annotations

import secrets
import sys

from tenant_core.security import Principal, Role
from tenant_entrypoints.config import Config


def print_token(config: Config, role: Role, tenant: str | None, subject: str | None, ttl: int) -> int:
    from tenant_adapters.jwt import JwtTokens

    if (role is Role.TENANT) != (tenant is not None):
        print("tenant-service: --tenant is required with --role tenant, and only with it", file=sys.stderr)
        return 2
    if not 1 <= ttl <= config.jwt_max_ttl_seconds:
        print(
            f"tenant-service: --ttl must be 1 to {config.jwt_max_ttl_seconds} seconds (JWT_MAX_TTL_SECONDS)",
            file=sys.stderr,
        )
        return 2
    # A unique subject per token unless one is given: subjects scope idempotency keys and name the actor.
    principal = Principal(subject=subject or f"cli-{role.value}-{secrets.token_hex(4)}", role=role, tenant_id=tenant)
    tokens = JwtTokens(config.jwt_keys(), issuer=config.jwt_issuer, audience=config.jwt_audience)
    print(tokens.issue(principal, ttl))
    return 0
