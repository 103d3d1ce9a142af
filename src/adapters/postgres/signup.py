"""Single-use signup states in Postgres."""

from __future__ import annotations

from datetime import datetime

from tenant_adapters.postgres.errors import translated
from tenant_adapters.postgres.tenants import Executor


class PostgresSignupNonces:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def claim(self, nonce: str, expires_at: datetime) -> bool:
        # Expired nonces are swept as we go; their states fail the expiry check anyway.
        sql = (
            "WITH swept AS (DELETE FROM signup_nonces WHERE expires_at < now() - interval '1 hour') "
            "INSERT INTO signup_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING RETURNING 1"
        )
        with translated():
            return await self._db.fetchval(sql, nonce, expires_at) is not None
