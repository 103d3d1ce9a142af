"""An in-memory Meta Graph API: the :class:`~tenant_core.ports.MetaGraph` port for tests and embedding.

Configure what Meta would answer (codes, the WABAs a token covers, their numbers) and which step should
fail; it records the steps called, so tests can assert what happened, and what did not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tenant_core.errors import GraphApiError
from tenant_core.ports import GraphPhoneNumber

STEPS = ("exchange_code", "debug_token", "phone_numbers", "subscribe_app")


@dataclass
class InMemoryMetaGraph:
    """Meta as the tests want it: ``codes`` maps each valid code to the token it exchanges for."""

    codes: dict[str, str] = field(default_factory=dict)
    wabas: dict[str, list[str]] = field(default_factory=dict)  # token → WABA ids it covers
    numbers: dict[str, list[GraphPhoneNumber]] = field(default_factory=dict)  # WABA id → its numbers
    failing: set[str] = field(default_factory=set)  # steps that answer a Graph error
    subscribed: set[str] = field(default_factory=set)
    steps: list[str] = field(default_factory=list)

    def _step(self, step: str) -> None:
        self.steps.append(step)
        if step in self.failing:
            raise GraphApiError(f"Meta Graph API refused {step}", step=step, graph_message=f"{step} refused")

    async def exchange_code(self, code: str) -> str:
        self._step("exchange_code")
        if code not in self.codes:
            raise GraphApiError("Meta Graph API refused exchange_code", step="exchange_code", graph_code=100)
        return self.codes.pop(code)  # codes are single use

    async def granted_wabas(self, access_token: str) -> list[str]:
        self._step("debug_token")
        return list(self.wabas.get(access_token, []))

    async def phone_numbers(self, waba_id: str, access_token: str) -> list[GraphPhoneNumber]:
        self._step("phone_numbers")
        return list(self.numbers.get(waba_id, []))

    async def subscribe_app(self, waba_id: str, access_token: str) -> None:
        self._step("subscribe_app")
        self.subscribed.add(waba_id)
