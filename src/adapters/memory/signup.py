"""Single-use signup states in memory."""

from __future__ import annotations

from datetime import datetime

from tenant_adapters.memory.state import StateView


class InMemorySignupNonces(StateView):
    async def claim(self, nonce: str, expires_at: datetime) -> bool:
        if nonce in self._state.signup_nonces:
            return False
        self._state.signup_nonces[nonce] = expires_at
        return True
