"""WhatsApp Cloud API credentials: an access token and the business number it sends from.

The check: ``debug_token`` (valid, not expired, both WhatsApp scopes, the WABA still covered) and the
number's state, whose display number and quality rating are stored. A token Meta refuses (code 190) makes
the connection's health invalid; an outage leaves what was known.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from tenant_core.commands import ExternalId
from tenant_core.connections import (
    MANAGEMENT_SCOPE,
    MESSAGING_SCOPE,
    Check,
    ConnectionReport,
    ConnectionStatus,
    TokenHealth,
    token_expiry,
)
from tenant_core.credential_types import (
    CheckOutcome,
    CheckPorts,
    CredentialPolicy,
    Credentials,
    CredentialType,
    Secret,
)
from tenant_core.entities import PHONE_NUMBER, Tenant
from tenant_core.errors import GraphApiError, MetaAppNotConfiguredError, ValidationFailedError
from tenant_core.ports import GraphPhoneNumber, MetaGraph, TokenInfo

#: A WhatsApp number's two-step verification PIN.
Pin = Annotated[str, Meta(pattern=r"^[0-9]{6}$")]

#: Meta's code for a token it no longer accepts (expired, revoked, the app removed).
TOKEN_REFUSED = 190


class WhatsAppCredentials(Credentials, kw_only=True):
    """A WhatsApp Cloud API access token and the business number it sends from.

    ``phone_number_id`` is required of every caller that stores one; only an Embedded Signup that finished
    with a WABA alone (``FINISH_ONLY_WABA``) stores none. ``pin`` is the number's two-step verification PIN,
    set when this service registered the number.
    """

    access_token: Secret
    phone_number_id: ExternalId | None = None
    waba_id: ExternalId
    business_account_id: ExternalId | None = None
    verify_token: Secret | None = None
    display_phone_number: Annotated[str, Meta(max_length=32)] | None = None
    quality_rating: Annotated[str, Meta(max_length=32)] | None = None
    app_secret: Secret | None = None  # the tenant's own Meta app, when it has one (signs its webhooks)
    pin: Pin | None = None


class WhatsAppPolicy(CredentialPolicy):
    """WhatsApp: the number routes the tenant's messages, and ``whatsappConfigured`` says one is bound."""

    name = CredentialType.WHATSAPP
    label = "WhatsApp"
    fields = WhatsAppCredentials
    secret_fields = frozenset({"access_token", "verify_token", "app_secret", "pin"})
    legacy_names = {"businessId": "businessAccountId", "business_id": "businessAccountId"}
    routing_keys = {PHONE_NUMBER: "phone_number_id"}
    tenant_fields = ("phone_number_id", "whatsapp_configured")

    def checked(self, credentials: Any, where: str) -> Any:
        """A stored number is required of callers; only a signup with a WABA alone stores none (it does not
        parse: it stores what Meta returned)."""
        if credentials.phone_number_id is None:
            raise ValidationFailedError.for_field(
                f"{where}phoneNumberId", "Object missing required field `phoneNumberId`"
            )
        return credentials

    def on_store(self, credentials: Any, binds_routing: bool) -> dict[str, Any]:
        if not binds_routing:
            return {}
        number = credentials.phone_number_id  # None: a WABA without a number yet, which routes nothing
        return {"phone_number_id": number, "whatsapp_configured": number is not None}

    def on_delete(self) -> dict[str, Any]:
        """Deleting WhatsApp releases the number."""
        return {"phone_number_id": None, "whatsapp_configured": False}

    def health(self, status: ConnectionStatus | None, now: datetime) -> TokenHealth | None:
        return (status or ConnectionStatus()).health(now)

    def can_check(self, ports: CheckPorts) -> bool:
        return ports.graph is not None  # checks ask Meta with the platform's app

    async def check(
        self, ports: CheckPorts, credentials: Any, known: ConnectionStatus | None, tenant: Tenant
    ) -> CheckOutcome:
        if ports.graph is None:
            raise MetaAppNotConfiguredError()
        known = known or ConnectionStatus()
        now = ports.clock.now()
        try:
            token = await ports.graph.inspect_token(credentials.access_token)
        except GraphApiError as exc:
            refused = exc.graph_code == TOKEN_REFUSED
            detail = _refusal(exc) if refused else f"could not ask Meta: {exc.message}"
            report = ConnectionReport.of([Check("token", False, detail)], now)
            # Only a refusal says something about the token; an outage leaves what was known.
            learned = {"token_invalid": True, "token_checked": True} if refused else {}
            return CheckOutcome(report, msgspec.structs.replace(known, last_check=report, **learned))
        checks = _token_checks(token, credentials.waba_id, now)
        number_check, number, refused = await _number(credentials, ports.graph)
        checks.append(number_check)
        report = ConnectionReport.of(checks, now)
        status = msgspec.structs.replace(
            token_status(token, number),
            last_check=report,
            token_invalid=refused or not all(c.ok for c in checks if c.name != "phone_number"),
        )
        if number is None:
            status = msgspec.structs.replace(
                status, verified_name=known.verified_name, code_verification_status=known.code_verification_status
            )
            return CheckOutcome(report, status)
        refreshed = msgspec.structs.replace(
            credentials, display_phone_number=number.display_phone_number, quality_rating=number.quality_rating
        )
        return CheckOutcome(report, status, refreshed=refreshed)


WHATSAPP = WhatsAppPolicy()


def token_status(token: TokenInfo, number: GraphPhoneNumber | None) -> ConnectionStatus:
    """What ``debug_token`` (and the number, when read) say of a connection: when the token stops working,
    and the number's state. A signup and a check both learn it this way."""
    return ConnectionStatus(
        token_checked=True,
        token_expires_at=token.expires_at,
        data_access_expires_at=token.data_access_expires_at,
        verified_name=number and number.verified_name,
        code_verification_status=number and number.code_verification_status,
    )


def _token_checks(token: TokenInfo, waba_id: str, now: datetime) -> list[Check]:
    if not token.is_valid:
        return [Check("token", False, "Meta reports the token is not valid")]
    ends = token_expiry(token.expires_at, token.data_access_expires_at)
    expired = ends is not None and ends <= now
    expiry = "expired" if expired else f"valid until {ends.isoformat()}" if ends else "valid, never expires"
    checks = [Check("token", not expired, expiry)]
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


async def _number(credentials: Any, graph: MetaGraph) -> tuple[Check, GraphPhoneNumber | None, bool]:
    """The phone number's check, what Graph said of it, and whether Meta refused the token."""
    if credentials.phone_number_id is None:
        missing = Check("phone_number", False, "no phone number yet: the signup finished with a WABA only")
        return missing, None, False
    try:
        number = await graph.phone_number(credentials.phone_number_id, credentials.access_token)
    except GraphApiError as exc:
        refused = exc.graph_code == TOKEN_REFUSED
        detail = _refusal(exc) if refused else f"could not read number {credentials.phone_number_id}: {exc.message}"
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
    shown = number.display_phone_number or credentials.phone_number_id
    return Check("phone_number", True, f"{shown}: {state}" if state else shown), number, False


def _refusal(exc: GraphApiError) -> str:
    """Meta's code 190: the token is dead. Graph's message says why (expired, app removed, password changed)."""
    why = f": {exc.graph_message}" if exc.graph_message else ""
    return f"Meta refused the token (code {TOKEN_REFUSED}){why}"
