"""The core's one error hierarchy.

Every failure a use case reports is one of these; the HTTP layer maps each class to a status and a code
in a single table, and in-process callers catch them directly::

    TenantServiceError
    ├── ValidationFailedError      bad input; ``details`` names each bad field
    ├── AuthenticationFailedError  missing, malformed, expired or revoked credentials
    ├── RateLimitedError           the tenant's requests per minute are used up
    ├── ForbiddenError             the principal may not do this (or not to this tenant)
    │   └── TenantSuspendedError       the principal's own tenant is suspended
    ├── NotFoundError              the tenant (or a thing it owns) does not exist
    ├── TenantLockedError          resolution found a suspended tenant: its traffic must stop
    ├── ConflictError              a unique field is taken, or a status transition is not allowed
    ├── PreconditionFailedError    the caller's expected ``version`` is not the current one
    ├── CursorExpiredError         a feed cursor points before the retention horizon (events were pruned)
    ├── UnavailableError           a backing store cannot be reached, or a feature is not configured
    │   └── MetaAppNotConfiguredError  no Meta app is configured: no Embedded Signup, no WhatsApp checks
    ├── SignupError                WhatsApp Embedded Signup could not complete
    │   ├── InvalidSignupStateError    the ``state`` is forged, expired, replayed or for another tenant
    │   ├── WabaNotFoundError          the token covers no (or not the requested) WABA or phone number
    │   └── GraphApiError              Meta's Graph API refused or failed
    ├── ExternalServiceError       Genesys Cloud refused a connection check's call, or did not answer
    └── CredentialsUnreadableError stored ciphertext fails authentication (tampered, moved, or key missing)

A 401 or 403 carries a :class:`Refusal`, the machine-readable reason for the operator's access line. The
response stays generic: telling a caller *why* its credential failed would help whoever guesses them.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from tenant_core.security import Principal


class FieldProblem(msgspec.Struct, frozen=True):
    """One bad field: its wire name (camelCase, dotted for nested fields) and what is wrong with it."""

    field: str
    message: str


class TenantServiceError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailedError(TenantServiceError):
    """The input breaks a rule; ``details`` lists the fields at fault."""

    def __init__(self, message: str, details: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.details = details or []

    @classmethod
    def for_field(cls, field: str, message: str) -> ValidationFailedError:
        return cls(f"Invalid {field}: {message}", [FieldProblem(field, message)])


class Refusal(enum.StrEnum):
    """Why a caller was refused (401 or 403). Logged, never sent: the response says no more than its message."""

    MISSING_CREDENTIALS = "missing_credentials"  # nothing sent where a credential is required
    MALFORMED_CREDENTIALS = "malformed_credentials"  # an Authorization or X-API-Key header of the wrong shape
    MALFORMED_TOKEN = "malformed_token"  # not a JWT
    BAD_SIGNATURE = "bad_signature"  # no configured secret verifies it (a removed secret's tokens land here)
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"  # nbf or iat in the future
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    TOO_LONG_LIVED = "too_long_lived"  # exp - iat above the configured maximum lifetime
    INVALID_CLAIMS = "invalid_claims"  # sub, exp, role or tenant_id missing or of the wrong type
    UNKNOWN_KEY = "unknown_key"  # an API key this service never issued (or one of a deleted tenant)
    REVOKED = "revoked"  # an API key that was revoked
    TENANT_DELETED = "tenant_deleted"  # the credential's tenant no longer exists
    WRONG_ROLE = "wrong_role"  # the role lacks the permission
    OTHER_TENANT = "other_tenant"  # a tenant principal acting on another tenant (or on none)
    SUSPENDED = "suspended"  # a suspended tenant's principal doing more than reading its own record
    NOT_PERMITTED = "not_permitted"  # a use case's own rule (a field a tenant may not change)


class AuthenticationFailedError(TenantServiceError):
    """The caller could not be identified. The message never says which part of a credential was wrong;
    ``reason`` does, for the log, and ``principal`` names whom a genuine but refused credential was for
    (an expired token, a revoked key), so the operator's line can name the caller."""

    def __init__(self, message: str, reason: Refusal, principal: Principal | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.principal = principal


class RateLimitedError(TenantServiceError):
    """The tenant used up its requests for the current window."""

    def __init__(self, message: str, limit: int, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.retry_after_seconds = retry_after_seconds


class ForbiddenError(TenantServiceError):
    """The principal is known but not allowed; says nothing about whether the target exists."""

    def __init__(self, message: str, reason: Refusal = Refusal.NOT_PERMITTED) -> None:
        super().__init__(message)
        self.reason = reason


class TenantSuspendedError(ForbiddenError):
    """The principal acts for a suspended tenant, which may only read its own record."""

    def __init__(self, message: str) -> None:
        super().__init__(message, Refusal.SUSPENDED)


class TenantLockedError(TenantServiceError):
    """A lookup matched a suspended tenant. Callers must stop serving it (the contract answers 423)."""

    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"Tenant {tenant_id} is suspended")
        self.tenant_id = tenant_id


class NotFoundError(TenantServiceError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class ConflictError(TenantServiceError):
    """The change collides with current state: a taken unique field or a forbidden transition."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CursorExpiredError(TenantServiceError):
    """A feed cursor points before the retention horizon: events after it were pruned and cannot be replayed."""


class PreconditionFailedError(TenantServiceError):
    """The caller's ``If-Match`` version is not the tenant's current version."""


class UnavailableError(TenantServiceError):
    """A store the use case needs cannot be reached right now; retrying later may succeed."""


class MetaAppNotConfiguredError(UnavailableError):
    """Embedded Signup and the WhatsApp connection check need the platform's Meta app, and none is configured."""

    def __init__(self) -> None:
        super().__init__("No Meta app is configured: WhatsApp signup and WhatsApp checks need one")


class CredentialsUnreadableError(TenantServiceError):
    """A stored credential does not decrypt: tampered with, copied from another row, or its key was removed."""


class SignupError(TenantServiceError):
    """WhatsApp Embedded Signup could not complete; nothing was stored."""


class InvalidSignupStateError(SignupError):
    """The ``state`` is not a live token of this service for this tenant (checked before calling Meta)."""


class WabaNotFoundError(SignupError):
    """The token covers no WhatsApp Business Account (or not the one, or the number, the caller named)."""


class ExternalServiceError(TenantServiceError):
    """An external API (Genesys Cloud) refused a call or did not answer; the message names no secret.

    ``refused`` is true when the API answered with a refusal (4xx) rather than failing or timing out."""

    def __init__(self, message: str, *, step: str, refused: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.refused = refused
        self.status = status


class GraphApiError(SignupError):
    """Meta's Graph API answered with an error, or did not answer. Never carries the access token."""

    def __init__(
        self,
        message: str,
        *,
        step: str,
        graph_message: str | None = None,
        graph_type: str | None = None,
        graph_code: int | None = None,
        graph_subcode: int | None = None,
        fbtrace_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.step = step
        self.graph_message = graph_message
        self.graph_type = graph_type
        self.graph_code = graph_code
        self.graph_subcode = graph_subcode
        self.fbtrace_id = fbtrace_id
