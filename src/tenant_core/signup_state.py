"""Signed, tenant-bound, expiring ``state`` tokens for WhatsApp Embedded Signup (HMAC-SHA256, stdlib only).

Format: ``ss1.<base64url JSON {"t": tenant id, "n": nonce, "e": expiry}>.<base64url HMAC>``. Single use is
enforced separately, by claiming the nonce in shared storage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta

import msgspec

from tenant_core.errors import InvalidSignupStateError
from tenant_core.ports import Clock

STATE_TTL = timedelta(minutes=15)
_PREFIX = "ss1"


class SignupState(msgspec.Struct, frozen=True, rename="camel"):
    """A signed, single-use Embedded Signup ``state`` bound to one tenant, and when it expires."""

    state: str
    expires_at: datetime


class VerifiedState(msgspec.Struct, frozen=True):
    """The claims of a signup state whose signature and expiry held (single use is the caller's check)."""

    tenant_id: str
    nonce: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def looks_signed(state: str) -> bool:
    return state.startswith(_PREFIX + ".")


class SignupStateCodec:
    """Issues and verifies signup states (HMAC-SHA256 under a key derived from the service secret)."""

    def __init__(self, secret: bytes, clock: Clock, ttl: timedelta = STATE_TTL) -> None:
        # A key of its own, derived from the service secret: a state can never double as anything else.
        self._key = hmac.new(secret, b"tenant-service/signup-state/v1", hashlib.sha256).digest()
        self._clock = clock
        self._ttl = ttl

    def issue(self, tenant_id: str) -> SignupState:
        expires_at = (self._clock.now() + self._ttl).replace(microsecond=0)
        claims = {"t": tenant_id, "n": secrets.token_hex(16), "e": int(expires_at.timestamp())}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return SignupState(state=f"{_PREFIX}.{payload}.{self._sign(payload)}", expires_at=expires_at)

    def verify(self, state: str) -> VerifiedState:
        """The state's claims, if its signature holds and it has not expired (replay is checked by the caller)."""
        parts = state.split(".")
        if len(parts) != 3 or parts[0] != _PREFIX or not state.isascii():
            raise InvalidSignupStateError("state is not a signup state issued by this service")
        _, payload, signature = parts
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise InvalidSignupStateError("state signature is invalid")
        try:
            claims = json.loads(_unb64(payload))
            tenant_id, nonce, expiry = str(claims["t"]), str(claims["n"]), int(claims["e"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidSignupStateError("state is malformed") from None
        expires_at = datetime.fromtimestamp(expiry, UTC)
        if self._clock.now() >= expires_at:
            raise InvalidSignupStateError("state has expired; request a new one")
        return VerifiedState(tenant_id=tenant_id, nonce=nonce, expires_at=expires_at)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())
