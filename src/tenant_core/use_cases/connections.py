"""Connection checks: do a tenant's stored credentials actually work?

Genesys: a client-credentials token from the credential's region, the org it belongs to, and the Open
Messaging integration in that org. WhatsApp: ``debug_token`` (valid, both WhatsApp scopes, the WABA covered)
and the number's state. Each check is kept with the credential it checked; what it learned (the org, the
number's display name and quality, the token's expiry) is stored too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import msgspec

from tenant_core.connections import (
    MANAGEMENT_SCOPE,
    MESSAGING_SCOPE,
    Check,
    ConnectionReport,
    ConnectionStatus,
    token_end,
)
from tenant_core.credential_types import (
    CredentialType,
    GenesysCredentials,
    StoredCredentials,
    WhatsAppCredentials,
    parse_credentials,
)
from tenant_core.entities import Tenant, TenantQuery, TenantStatus
from tenant_core.errors import (
    ConflictError,
    ExternalServiceError,
    FieldProblem,
    GraphApiError,
    MetaAppNotConfiguredError,
    NotFoundError,
    ValidationFailedError,
)
from tenant_core.ports import (
    Clock,
    GenesysCloud,
    GenesysOrganization,
    GraphPhoneNumber,
    MetaGraph,
    Storage,
    TokenInfo,
)
from tenant_core.security import Permission, Principal
from tenant_core.use_cases.vault import CredentialVault, StoreOutcome

#: Meta's code for a token it no longer accepts (expired, revoked, the app removed).
TOKEN_REFUSED = 190


class _GenesysOutcome(msgspec.Struct, frozen=True):
    report: ConnectionReport
    org: GenesysOrganization | None  # the org the credentials belong to, when the token worked
    org_conflict: bool  # that org is not the tenant's: another is set on it, or another tenant has it


def _fill_org(org: GenesysOrganization | None) -> Callable[[Tenant], dict[str, Any]] | None:
    """Empty org fields of the tenant take the verified org's (a set org id is never replaced)."""
    if org is None:
        return None

    def fields(tenant: Tenant) -> dict[str, Any]:
        filled: dict[str, Any] = {}
        if not tenant.genesys_org_id:
            filled["genesys_org_id"] = org.id
        if not tenant.genesys_org_name:
            filled["genesys_org_name"] = org.name
        return filled

    return fields


class ConnectionChecks:
    """Checks stored Genesys and WhatsApp credentials against the real services, and keeps the result."""

    def __init__(
        self,
        storage: Storage,
        vault: CredentialVault,
        clock: Clock,
        genesys: GenesysCloud,
        graph: MetaGraph | None,
    ) -> None:
        """``graph`` is ``None`` when no Meta app is configured: WhatsApp checks then answer 503."""
        self._storage = storage
        self._vault = vault
        self._clock = clock
        self._genesys = genesys
        self._graph = graph

    async def verify(self, principal: Principal, tenant_id: str, kind: CredentialType) -> ConnectionReport:
        """Check the stored credential of ``kind`` and keep the result with it."""
        if kind is CredentialType.GENESYS:
            return await self.verify_genesys(principal, tenant_id)
        return await self.verify_whatsapp(principal, tenant_id)

    async def verify_genesys(self, principal: Principal, tenant_id: str) -> ConnectionReport:
        principal.require(Permission.CONNECTIONS_VERIFY, tenant_id)
        stored = await self._stored(tenant_id, CredentialType.GENESYS)
        tenant = await self._tenant(tenant_id)
        assert isinstance(stored.credentials, GenesysCredentials)
        outcome = await self._check_genesys(stored.credentials, tenant)
        # The org a working token belongs to is proved by Genesys, as Meta proves a number: it is bound
        # whoever asked (a tenant principal included), and only where the tenant has none.
        org = outcome.org if not outcome.org_conflict else None
        status = ConnectionStatus(last_check=outcome.report)
        await self._vault.record_check(principal, stored, status, more_fields=_fill_org(org))
        return outcome.report

    async def store_genesys(self, principal: Principal, tenant_id: str, data: Any, where: str = "") -> StoreOutcome:
        """Store Genesys credentials only if they pass every check (``PUT …?verify=true``).

        A different org than the tenant's is a :class:`ConflictError`; any other failed check is a
        :class:`ValidationFailedError` whose details are the failed checks. Nothing is stored then.
        """
        principal.require(Permission.CREDENTIALS_WRITE, tenant_id)
        principal.require(Permission.CONNECTIONS_VERIFY, tenant_id)
        credentials = parse_credentials(CredentialType.GENESYS, data, where)
        assert isinstance(credentials, GenesysCredentials)
        tenant = await self._tenant(tenant_id)
        outcome = await self._check_genesys(credentials, tenant)
        failed = outcome.report.failed()
        if outcome.org_conflict:
            org = next(check for check in failed if check.name == "org")
            raise ConflictError(f"Genesys credentials not stored: {org.detail}", "genesysOrgId")
        if failed:
            details = [FieldProblem(check.name, check.detail) for check in failed]
            names = ", ".join(check.name for check in failed)
            raise ValidationFailedError(f"Genesys credentials not stored: the {names} check failed", details)
        status = ConnectionStatus(last_check=outcome.report)
        return await self._vault.store(
            principal, tenant_id, CredentialType.GENESYS, credentials, status=status, more_fields=_fill_org(outcome.org)
        )

    async def verify_whatsapp(self, principal: Principal, tenant_id: str) -> ConnectionReport:
        principal.require(Permission.CONNECTIONS_VERIFY, tenant_id)
        stored = await self._stored(tenant_id, CredentialType.WHATSAPP)
        if self._graph is None:
            raise MetaAppNotConfiguredError("A WhatsApp connection check")
        whatsapp = stored.credentials
        assert isinstance(whatsapp, WhatsAppCredentials)
        known = stored.status or ConnectionStatus()
        now = self._clock.now()
        try:
            token = await self._graph.inspect_token(whatsapp.access_token)
        except GraphApiError as exc:
            refused = exc.graph_code == TOKEN_REFUSED
            detail = _refusal(exc) if refused else f"could not ask Meta: {exc.message}"
            report = ConnectionReport.of([Check("token", False, detail)], now)
            # Only a refusal says something about the token; an outage leaves what was known.
            learned = {"token_invalid": True, "token_checked": True} if refused else {}
            status = msgspec.structs.replace(known, last_check=report, **learned)
            await self._vault.record_check(principal, stored, status)
            return report
        checks = _token_checks(token, whatsapp.waba_id, now)
        number_check, number, refused = await self._number(whatsapp, self._graph)
        checks.append(number_check)
        report = ConnectionReport.of(checks, now)
        status = ConnectionStatus(
            last_check=report,
            token_checked=True,
            token_invalid=refused or not all(c.ok for c in checks if c.name != "phone_number"),
            token_expires_at=token.expires_at,
            data_access_expires_at=token.data_access_expires_at,
            verified_name=number.verified_name if number else known.verified_name,
            code_verification_status=number.code_verification_status if number else known.code_verification_status,
        )
        refreshed = None
        if number is not None:
            refreshed = msgspec.structs.replace(
                whatsapp, display_phone_number=number.display_phone_number, quality_rating=number.quality_rating
            )
        await self._vault.record_check(principal, stored, status, refreshed=refreshed)
        return report

    async def configured(self, tenant_id: str | None = None, page: int = 100) -> AsyncIterator[tuple[str, str]]:
        """``(tenant id, credential type)`` of every stored credential of tenants not deleted (or of one)."""
        after: tuple[datetime, str] | None = None
        while True:
            if tenant_id is not None:
                batch = [await self._tenant(tenant_id)]
            else:
                batch, _ = await self._storage.tenants.list(TenantQuery(limit=page, after=after))
            for tenant in batch:
                for kind in CredentialType:
                    if await self._storage.credentials.get(tenant.id, kind) is not None:
                        yield tenant.id, kind.value
            if tenant_id is not None or len(batch) < page:
                return
            after = (batch[-1].created_at, batch[-1].id)

    async def _check_genesys(self, credentials: GenesysCredentials, tenant: Tenant) -> _GenesysOutcome:
        region, now = credentials.region, self._clock.now()
        try:
            token = await self._genesys.token(region, credentials.client_id, credentials.client_secret)
        except ExternalServiceError as exc:
            detail = (
                f"login.{region} refused the client credentials: wrong region or credentials"
                if exc.refused
                else f"login.{region}: {exc.message}"
            )
            skipped = [Check(name, False, "not checked: no access token") for name in ("org", "integration")]
            return _GenesysOutcome(ConnectionReport.of([Check("token", False, detail), *skipped], now), None, False)
        checks = [Check("token", True, f"login.{region} issued a token to client {credentials.client_id}")]
        try:
            org = await self._genesys.organization(region, token)
        except ExternalServiceError as exc:
            checks.append(Check("org", False, f"could not read the organization: {exc.message}"))
            checks.append(Check("integration", False, "not checked: the organization is unknown"))
            return _GenesysOutcome(ConnectionReport.of(checks, now), None, False)
        named = f"{org.name} ({org.id})"
        owner = await self._storage.tenants.get_by_genesys_org(org.id)
        conflict = True
        if tenant.genesys_org_id and tenant.genesys_org_id != org.id:
            detail = f"the credentials belong to org {named}, but the tenant is bound to org {tenant.genesys_org_id}"
            checks.append(Check("org", False, detail))
        elif owner is not None and owner.id != tenant.id:  # which tenant is not said: it may not be the caller's
            checks.append(Check("org", False, f"the credentials belong to org {named}, bound to another tenant"))
        else:
            checks.append(Check("org", True, f"org {named}"))
            conflict = False
        checks.append(await self._integration_check(credentials, region, token, named))
        return _GenesysOutcome(ConnectionReport.of(checks, now), org, conflict)

    async def _integration_check(self, credentials: GenesysCredentials, region: str, token: str, org: str) -> Check:
        integration = credentials.integration_id
        if integration is None:
            return Check("integration", False, "no integrationId is stored: Open Messaging cannot route")
        try:
            found = await self._genesys.has_open_messaging_integration(region, token, integration)
        except ExternalServiceError as exc:
            return Check("integration", False, f"could not read integration {integration}: {exc.message}")
        if not found:
            return Check("integration", False, f"Open Messaging integration {integration} does not exist in org {org}")
        return Check("integration", True, f"Open Messaging integration {integration} exists in org {org}")

    async def _number(
        self, whatsapp: WhatsAppCredentials, graph: MetaGraph
    ) -> tuple[Check, GraphPhoneNumber | None, bool]:
        """The phone number's check, what Graph said of it, and whether Meta refused the token."""
        if whatsapp.phone_number_id is None:
            missing = Check("phone_number", False, "no phone number yet: the signup finished with a WABA only")
            return missing, None, False
        try:
            number = await graph.phone_number(whatsapp.phone_number_id, whatsapp.access_token)
        except GraphApiError as exc:
            refused = exc.graph_code == TOKEN_REFUSED
            detail = _refusal(exc) if refused else f"could not read number {whatsapp.phone_number_id}: {exc.message}"
            return Check("phone_number", False, detail), None, refused
        state = ", ".join(
            f"{label} {value}"
            for label, value in (
                ("verified name", number.verified_name),
                ("quality", number.quality_rating),
                ("code verification", number.code_verification_status),
            )
            if value
        )
        shown = number.display_phone_number or whatsapp.phone_number_id
        return Check("phone_number", True, f"{shown}: {state}" if state else shown), number, False

    async def _stored(self, tenant_id: str, kind: CredentialType) -> StoredCredentials:
        stored = await self._vault.opened(tenant_id, kind)
        if stored is None:
            raise NotFoundError(f"No {kind.value} credentials stored for tenant {tenant_id}")
        return stored

    async def _tenant(self, tenant_id: str) -> Tenant:
        """The tenant, read fresh: its org id decides a Genesys check."""
        tenant = await self._storage.tenants.get(tenant_id)
        if tenant is None or tenant.status is TenantStatus.DELETED:
            raise NotFoundError(f"Tenant {tenant_id} not found")
        return tenant


def _token_checks(token: TokenInfo, waba_id: str, now: datetime) -> list[Check]:
    if not token.is_valid:
        return [Check("token", False, "Meta reports the token is not valid")]
    end = token_end(token.expires_at, token.data_access_expires_at)
    expiry = "valid, never expires" if end is None else f"valid until {end.isoformat()}"
    expired = end is not None and end <= now
    checks = [Check("token", not expired, "expired" if expired else expiry)]
    missing = [scope for scope in (MANAGEMENT_SCOPE, MESSAGING_SCOPE) if scope not in token.scopes]
    if missing:
        checks.append(Check("scopes", False, f"the token lacks {', '.join(missing)}"))
    else:
        checks.append(Check("scopes", True, f"{MANAGEMENT_SCOPE} and {MESSAGING_SCOPE} granted"))
    targets = token.scopes.get(MANAGEMENT_SCOPE)
    covered = targets is not None and (not targets or waba_id in targets)  # no targets: not limited to some
    detail = f"the token covers WABA {waba_id}" if covered else f"the token no longer covers WABA {waba_id}"
    checks.append(Check("waba", covered, detail))
    return checks


def _refusal(exc: GraphApiError) -> str:
    """Meta's code 190: the token is dead. Graph's message says why (expired, app removed, password changed)."""
    why = f": {exc.graph_message}" if exc.graph_message else ""
    return f"Meta refused the token (code {TOKEN_REFUSED}){why}"
