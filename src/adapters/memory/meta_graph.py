"""An in-memory Meta Graph API: the :class:`~tenant_core.ports.MetaGraph` port for tests and embedding.

Configure what Meta would answer (codes, the WABAs a token covers, their numbers, token expiry) and which
step should fail; it records the steps called, so tests can assert what happened, and what did not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tenant_core.connections import MANAGEMENT_SCOPE, MESSAGING_SCOPE
from tenant_core.errors import GraphApiError
from tenant_core.ports import GraphPhoneNumber, TokenInfo

STEPS = ("exchange_code", "debug_token", "phone_numbers", "phone_number", "subscribe_app", "register")


@dataclass
class InMemoryMetaGraph:
    """Meta as the tests want it: ``codes`` maps each valid code to the token it exchanges for."""

    codes: dict[str, str] = field(default_factory=dict)
    wabas: dict[str, list[str]] = field(default_factory=dict)  # token → WABA ids it covers
    numbers: dict[str, list[GraphPhoneNumber]] = field(default_factory=dict)  # WABA id → its numbers
    expiries: dict[str, tuple[datetime | None, datetime | None]] = field(default_factory=dict)  # token → expiry
    revoked: set[str] = field(default_factory=set)  # tokens Meta refuses with code 190
    failing: set[str] = field(default_factory=set)  # steps that answer a Graph error
    subscribed: set[str] = field(default_factory=set)
    registered: dict[str, str] = field(default_factory=dict)  # phone number id → its two-step PIN
    steps: list[str] = field(default_factory=list)

    def _step(self, step: str, token: str | None = None) -> None:
        self.steps.append(step)
        if step in self.failing:
            raise GraphApiError(f"Meta Graph API refused {step}", step=step, graph_message=f"{step} refused")
        if token in self.revoked:
            raise GraphApiError(f"Meta Graph API refused {step}", step=step, graph_code=190)

    async def exchange_code(self, code: str) -> str:
        self._step("exchange_code")
        if code not in self.codes:
            raise GraphApiError("Meta Graph API refused exchange_code", step="exchange_code", graph_code=100)
        return self.codes.pop(code)  # codes are single use

    async def inspect_token(self, access_token: str) -> TokenInfo:
        self._step("debug_token")
        if access_token in self.revoked:
            return TokenInfo(is_valid=False)
        wabas = list(self.wabas.get(access_token, []))
        expires_at, data_access_expires_at = self.expiries.get(access_token, (None, None))
        scopes = {MANAGEMENT_SCOPE: wabas, MESSAGING_SCOPE: wabas} if wabas else {}
        return TokenInfo(True, expires_at, data_access_expires_at, scopes)

    async def phone_numbers(self, waba_id: str, access_token: str) -> list[GraphPhoneNumber]:
        self._step("phone_numbers", access_token)
        return list(self.numbers.get(waba_id, []))

    async def phone_number(self, phone_number_id: str, access_token: str) -> GraphPhoneNumber:
        self._step("phone_number", access_token)
        for numbers in self.numbers.values():
            for number in numbers:
                if number.id == phone_number_id:
                    return number
        raise GraphApiError("Meta Graph API refused phone_number", step="phone_number", graph_code=100)

    async def subscribe_app(self, waba_id: str, access_token: str) -> None:
        self._step("subscribe_app", access_token)
        self.subscribed.add(waba_id)

    async def register_phone(self, phone_number_id: str, access_token: str, pin: str) -> None:
        self._step("register", access_token)
        self.registered[phone_number_id] = pin
