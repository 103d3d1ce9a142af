"""Genesys Cloud credentials: an OAuth client (client credentials grant) and the Open Messaging integration.

The check: a client-credentials token from the credential's region, the org it belongs to (which must be
the tenant's, and no other tenant's), and the Open Messaging integration in that org. A verified org fills
the tenant's empty org fields: Genesys proves the org as Meta proves a number, so it is bound whoever asked.
A check that reached Genesys decides the connection's health (``ok`` when every step passed, ``invalid``
otherwise); one that failed because Genesys did not answer keeps what was known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tenant_core.commands import ExternalId, RegionHost
from tenant_core.connections import Check, ConnectionReport, ConnectionStatus
from tenant_core.credential_types import (
    CheckOutcome,
    CheckPorts,
    CredentialPolicy,
    Credentials,
    CredentialType,
    Secret,
    Text,
)
from tenant_core.entities import GENESYS_ORG, INTEGRATION, Tenant
from tenant_core.errors import ExternalServiceError, FieldProblem
from tenant_core.ports import GenesysOrganization
from tenant_core.regions import normalise_region


class GenesysCredentials(Credentials, kw_only=True):
    """A Genesys Cloud OAuth client (client credentials grant) and the integration it serves."""

    client_id: Text
    client_secret: Secret
    region: RegionHost
    integration_id: ExternalId | None = None
    webhook_secret: Secret | None = None


class GenesysPolicy(CredentialPolicy):
    """Genesys: the region is the tenant's own setting (set by every store, kept on delete); the integration
    id routes Open Messaging to the tenant."""

    name = CredentialType.GENESYS
    label = "Genesys"
    fields = GenesysCredentials
    secret_fields = frozenset({"client_secret", "webhook_secret"})
    legacy_names = {"openMsgSecret": "webhookSecret", "openMsgIntegrationId": "integrationId"}
    routing_keys = {INTEGRATION: "integration_id"}
    tenant_fields = ("genesys_integration_id", "genesys_region")

    def prepared(self, raw: dict[str, Any]) -> dict[str, Any]:
        if isinstance(region := raw.get("region"), str):
            return {**raw, "region": region.strip().lower()}
        return raw

    def checked(self, credentials: Any, where: str) -> Any:
        """A region in any known spelling is stored as its canonical host."""
        return msgspec.structs.replace(credentials, region=normalise_region(credentials.region, f"{where}region"))

    def on_store(self, credentials: Any, binds_routing: bool) -> dict[str, Any]:
        return {"genesys_region": credentials.region, **super().on_store(credentials, binds_routing)}

    async def check(
        self, ports: CheckPorts, credentials: Any, known: ConnectionStatus | None, tenant: Tenant
    ) -> CheckOutcome:
        region, now = credentials.region, ports.clock.now()
        try:
            token = await ports.genesys.token(region, credentials.client_id, credentials.client_secret)
        except ExternalServiceError as exc:
            detail = (
                f"login.{region} refused the client credentials: wrong region or credentials"
                if exc.refused
                else f"login.{region}: {exc.message}"
            )
            skipped = [Check(name, False, "not checked: no access token") for name in ("org", "integration")]
            return _outcome([Check("token", False, detail), *skipped], now, known, unreachable=not exc.refused)
        checks = [Check("token", True, f"login.{region} issued a token to client {credentials.client_id}")]
        try:
            org = await ports.genesys.organization(region, token)
        except ExternalServiceError as exc:
            checks.append(Check("org", False, f"could not read the organization: {exc.message}"))
            checks.append(Check("integration", False, "not checked: the organization is unknown"))
            return _outcome(checks, now, known, unreachable=not exc.refused)
        named = f"{org.name} ({org.id})"
        owner = await ports.tenants.get_by(GENESYS_ORG, org.id)
        if tenant.genesys_org_id and tenant.genesys_org_id != org.id:
            detail = f"the credentials belong to org {named}, but the tenant is bound to org {tenant.genesys_org_id}"
        elif owner is not None and owner.id != tenant.id:  # which tenant is not said: it may not be the caller's
            detail = f"the credentials belong to org {named}, bound to another tenant"
        else:
            checks.append(Check("org", True, f"org {named}"))
            integration, unreachable = await _integration_check(ports, credentials, token, named)
            return _outcome([*checks, integration], now, known, unreachable=unreachable, fill=_fill_org(org))
        checks.append(Check("org", False, detail))
        checks.append((await _integration_check(ports, credentials, token, named))[0])
        # Another org is a failure whatever the integration's answer.
        return _outcome(checks, now, known, conflict=FieldProblem("genesysOrgId", detail))


GENESYS = GenesysPolicy()


def _outcome(
    checks: list[Check],
    now: Any,
    known: ConnectionStatus | None,
    unreachable: bool = False,
    fill: Callable[[Tenant], dict[str, Any]] | None = None,
    conflict: FieldProblem | None = None,
) -> CheckOutcome:
    """``unreachable``: a step failed because Genesys did not answer, so the report says nothing of health."""
    report = ConnectionReport.of(checks, now)
    if unreachable:
        status = msgspec.structs.replace(known or ConnectionStatus(), last_check=report)
    else:
        status = ConnectionStatus(last_check=report, token_checked=True, token_invalid=not report.ok)
    return CheckOutcome(report, status, more_fields=fill, conflict=conflict)


def _fill_org(org: GenesysOrganization) -> Callable[[Tenant], dict[str, Any]]:
    """Empty org fields of the tenant take the verified org's (a set org id is never replaced)."""

    def fields(tenant: Tenant) -> dict[str, Any]:
        filled: dict[str, Any] = {}
        if not tenant.genesys_org_id:
            filled["genesys_org_id"] = org.id
        if not tenant.genesys_org_name:
            filled["genesys_org_name"] = org.name
        return filled

    return fields


async def _integration_check(ports: CheckPorts, credentials: Any, token: str, org: str) -> tuple[Check, bool]:
    """The integration's check, and whether it failed because Genesys did not answer."""
    region, integration = credentials.region, credentials.integration_id
    if integration is None:
        return Check("integration", False, "no integrationId is stored: Open Messaging cannot route"), False
    try:
        found = await ports.genesys.has_open_messaging_integration(region, token, integration)
    except ExternalServiceError as exc:
        return Check("integration", False, f"could not read integration {integration}: {exc.message}"), not exc.refused
    if not found:
        missing = f"Open Messaging integration {integration} does not exist in org {org}"
        return Check("integration", False, missing), False
    return Check("integration", True, f"Open Messaging integration {integration} exists in org {org}"), False
