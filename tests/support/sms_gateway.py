"""A hypothetical third credential type, for tests only: an SMS gateway whose number routes the tenant's
messages (the phone number routing key), so storing it binds a routing key and deleting it releases it.

It is defined here and registered by the tests that use it, never by the service.
"""

from __future__ import annotations

from typing import Any

from tenant_core import Check, CheckOutcome, CheckPorts, ConnectionReport, ConnectionStatus, CredentialPolicy, Tenant
from tenant_core.commands import ExternalId
from tenant_core.credential_types import Credentials, Secret
from tenant_core.entities import PHONE_NUMBER

NAME = "sms_gateway"


class SmsGatewayCredentials(Credentials, kw_only=True):
    api_key: Secret
    number_id: ExternalId
    sender_name: str | None = None


class SmsGatewayPolicy(CredentialPolicy):
    """The whole type: fields, secrets, a legacy name, the routing key it carries, and its check."""

    name = NAME
    label = "SMS gateway"
    fields = SmsGatewayCredentials
    secret_fields = frozenset({"api_key"})
    legacy_names = {"gatewayKey": "apiKey"}
    routing_keys = {PHONE_NUMBER: "number_id"}
    tenant_fields = ("phone_number_id",)

    def on_delete(self) -> dict[str, Any]:
        return {"phone_number_id": None}

    async def check(
        self, ports: CheckPorts, credentials: Any, known: ConnectionStatus | None, tenant: Tenant
    ) -> CheckOutcome:
        holder = await ports.tenants.get_by(PHONE_NUMBER, credentials.number_id)
        mine = holder is None or holder.id == tenant.id
        checks = [
            Check("key", not credentials.api_key.startswith("revoked"), "the gateway accepts the key"),
            Check("number", mine, f"number {credentials.number_id}"),
        ]
        report = ConnectionReport.of(checks, ports.clock.now())
        return CheckOutcome(report, ConnectionStatus(last_check=report))


#: A body as an old client sends it: ``gatewayKey`` is the legacy name of ``apiKey``.
SENT = {"gatewayKey": "gw-key-0000-1234", "numberId": "4400123", "senderName": "Acme"}
