"""An in-memory Genesys Cloud: the :class:`~tenant_core.ports.GenesysCloud` port for tests and embedding.

Register OAuth clients (by region) with the org they belong to, and each org's Open Messaging
integrations; a client asked for in another region is refused, as Genesys refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tenant_core.errors import ExternalServiceError
from tenant_core.ports import GenesysOrganization


@dataclass
class InMemoryGenesysCloud:
    clients: dict[tuple[str, str], tuple[str, GenesysOrganization]] = field(default_factory=dict)  # (region,
    # client id) → (secret, its org)
    integrations: dict[str, set[str]] = field(default_factory=dict)  # org id → Open Messaging integration ids
    unreachable: set[str] = field(default_factory=set)  # steps that fail as an outage would
    _tokens: dict[str, GenesysOrganization] = field(default_factory=dict)

    def add_client(self, region: str, client_id: str, secret: str, org: GenesysOrganization) -> None:
        self.clients[(region, client_id)] = (secret, org)

    def _reach(self, step: str) -> None:
        if step in self.unreachable:
            raise ExternalServiceError("Genesys Cloud did not answer in time", step=step, refused=False)

    async def token(self, region: str, client_id: str, client_secret: str) -> str:
        self._reach("token")
        secret, org = self.clients.get((region, client_id), (None, None))
        if org is None or secret != client_secret:
            raise ExternalServiceError("Genesys Cloud refused the client credentials", step="token", refused=True)
        token = f"token-{len(self._tokens) + 1}"
        self._tokens[token] = org
        return token

    async def organization(self, region: str, token: str) -> GenesysOrganization:
        self._reach("organization")
        return self._tokens[token]

    async def has_open_messaging_integration(self, region: str, token: str, integration_id: str) -> bool:
        self._reach("integration")
        return integration_id in self.integrations.get(self._tokens[token].id, set())
