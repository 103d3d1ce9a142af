"""What the service knows about a stored credential's connection: the last check and the token's health.

A check is a list of named steps (``token``, ``org``, ``integration`` for Genesys; ``token``, ``scopes``,
``waba``, ``phone_number`` for WhatsApp), each ok or not with a detail a person can act on. The last result
is kept beside the credential and forgotten when the credential is replaced, so a view never shows a
check of values that are no longer stored.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import msgspec

#: Meta's granular scopes a WhatsApp token needs: managing the WABA (its targets are the WABAs a token
#: covers) and sending messages.
MANAGEMENT_SCOPE = "whatsapp_business_management"
MESSAGING_SCOPE = "whatsapp_business_messaging"


class Check(msgspec.Struct, frozen=True):
    """One step of a connection check. ``detail`` never holds a secret."""

    name: str
    ok: bool
    detail: str


class ConnectionReport(msgspec.Struct, frozen=True, rename="camel"):
    """``{ok, checks, checkedAt}``: ``ok`` when every step passed."""

    ok: bool
    checks: list[Check]
    checked_at: datetime

    @classmethod
    def of(cls, checks: list[Check], at: datetime) -> ConnectionReport:
        return cls(ok=all(check.ok for check in checks), checks=checks, checked_at=at)

    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]


class TokenHealth(enum.StrEnum):
    """A connection's health as last learned from the far side. WhatsApp: the token, from Meta's
    ``debug_token``. Genesys: the last check that reached Genesys (its client credentials do not expire)."""

    OK = "ok"
    EXPIRING = "expiring"  # a WhatsApp token that expires (or loses data access) within EXPIRING_WITHIN
    INVALID = "invalid"  # WhatsApp: refused by Meta (code 190), expired, or without what the platform needs;
    # Genesys: the last check that reached Genesys failed (credentials refused, another org, no integration)
    UNKNOWN = "unknown"  # never checked conclusively (stored by hand; every check so far found the far side away)


#: How early a token counts as expiring: a week leaves an operator time to rerun the signup.
EXPIRING_WITHIN = timedelta(days=7)


class ConnectionStatus(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """Kept with a credential (not secret, not sealed); replaced with it.

    ``token_checked`` says a check reached the far side and concluded (``token_invalid``: it failed). For
    WhatsApp it also says the token's expiry fields are known: ``None`` then means "never expires".
    ``failure_announced`` and ``expiry_announced`` remember what subscribers were told about these values
    (``connection.failed`` without a ``connection.recovered`` since; ``whatsapp.token_expiring``), so each
    is said once: see :mod:`tenant_core.connection_news`.
    """

    last_check: ConnectionReport | None = None
    token_checked: bool = False
    token_invalid: bool = False
    token_expires_at: datetime | None = None
    data_access_expires_at: datetime | None = None
    verified_name: str | None = None
    code_verification_status: str | None = None
    failure_announced: bool = False
    expiry_announced: bool = False

    def health(self, now: datetime) -> TokenHealth:
        if self.token_invalid:
            return TokenHealth.INVALID
        if not self.token_checked:
            return TokenHealth.UNKNOWN
        ends = self.expires_at()
        if ends is not None and ends <= now:
            return TokenHealth.INVALID
        if ends is not None and ends - now <= EXPIRING_WITHIN:
            return TokenHealth.EXPIRING
        return TokenHealth.OK

    def expires_at(self) -> datetime | None:
        """When the token stops working (see :func:`token_expiry`)."""
        return token_expiry(self.token_expires_at, self.data_access_expires_at)


def token_expiry(expires_at: datetime | None, data_access_expires_at: datetime | None) -> datetime | None:
    """When a Meta token stops working: the earlier of its own expiry and its data access expiry (``None``:
    never). The one place this is computed: the check's verdict and the health a view shows both read it."""
    return min((at for at in (expires_at, data_access_expires_at) if at is not None), default=None)
