"""Ports: what the use cases need from the outside world, in domain terms.

Adapters implement these structurally (``typing.Protocol``); the in-memory adapters in ``tenant_adapters.memory``
are the reference behaviour and both kinds pass the same contract suite in ``tests/contract``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

import msgspec

from tenant_core.change_events import ChangeEvent
from tenant_core.connections import ConnectionStatus
from tenant_core.credential_types import SealedCredentials
from tenant_core.entities import ApiKey, AuditEvent, IdempotencyRecord, Provisioned, RoutingKey, Tenant, TenantQuery
from tenant_core.legacy import ImportRecord
from tenant_core.operations import Backlog, ConnectionsHealth
from tenant_core.sealed_kinds import SealedKind, SealedValue
from tenant_core.security import Principal
from tenant_core.webhooks import Delivery, DeliveryAttempt, DeliveryState, Lease, Webhook


class Clock(Protocol):
    """The port of the time: production wires :class:`SystemClock`, tests and embedders :class:`ManualClock`."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class TenantRepository(Protocol):
    """Tenants by id and by their lookup keys. Uniqueness is enforced here, atomically.

    Writes raise :class:`~tenant_core.errors.ConflictError` naming the field when a unique value is taken
    by another tenant that is not deleted (case-insensitive); deleted tenants hold no unique values.
    """

    async def get(self, tenant_id: str) -> Tenant | None:
        """Any tenant by id, deleted ones included."""
        ...

    async def get_by(self, key: RoutingKey, value: str) -> Tenant | None:
        """The active or suspended tenant holding ``value`` (case-insensitively) under the routing key ``key``
        (one of :data:`~tenant_core.entities.ROUTING_KEYS`: a phone number id, integration id or org id)."""
        ...

    async def list(self, query: TenantQuery) -> tuple[list[Tenant], int]:
        """A page newest first, and the total matching the filters."""
        ...

    async def add(self, tenant: Tenant) -> Tenant:
        """Insert a new tenant; returns it as stored."""
        ...

    async def replace(self, tenant: Tenant, expected_version: int) -> Tenant | None:
        """Compare-and-set: store ``tenant`` if the stored version is still ``expected_version``.

        Returns the stored tenant, or ``None`` when the tenant is gone or its version moved on.
        """
        ...

    async def remove(self, tenant_id: str) -> Tenant | None:
        """Delete the tenant and everything it owns; returns what was removed."""
        ...

    async def add_or_get_by_genesys_org(self, tenant: Tenant) -> Provisioned:
        """Insert ``tenant`` unless a live tenant already owns its Genesys org id; race-safe."""
        ...


class IdempotencyKeys(Protocol):
    """Remembers which tenant a create request with an ``Idempotency-Key`` produced."""

    async def recall(self, scope: str, key: str, since: datetime) -> IdempotencyRecord | None:
        """The record stored for this key at or after ``since``, if any."""
        ...

    async def remember(self, record: IdempotencyRecord) -> None:
        """Store the record; raises ConflictError if another live request stored the key first."""
        ...


class ApiKeyRepository(Protocol):
    """API keys by tenant and by the hash of their secret."""

    async def add(self, key: ApiKey) -> ApiKey: ...

    async def list_for_tenant(self, tenant_id: str) -> list[ApiKey]:
        """The tenant's keys, newest first."""
        ...

    async def find_by_hash(self, key_hash: str, *, include_revoked: bool = False) -> ApiKey | None:
        """The live key with this hash; with ``include_revoked``, else the record of a revoked one (its
        ``revoked_at`` set)."""
        ...

    async def remove(self, tenant_id: str, key_id: str) -> ApiKey | None:
        """Revoke: delete the key if it belongs to this tenant, keeping a record that it was revoked (found by
        ``find_by_hash(..., include_revoked=True)``, gone with its tenant); returns what was removed."""
        ...

    async def touch(self, key_id: str, at: datetime) -> None:
        """Record when the key was last used."""
        ...


class AuditLog(Protocol):
    """The port of the audit log: append-only rows per tenant, kept after the tenant is deleted."""

    async def record(self, event: AuditEvent) -> None: ...

    async def list_for_tenant(
        self, tenant_id: str, limit: int, offset: int, before: int | None = None
    ) -> tuple[list[AuditEvent], int]:
        """Events newest first (those with an id below ``before``, when given), and how many the tenant has."""
        ...


class CredentialStore(Protocol):
    """Sealed credentials, one record per tenant and type (``kind``: the name of a registered credential type,
    :mod:`tenant_core.credential_registry`). Removed with their tenant."""

    async def put(self, sealed: SealedCredentials) -> None:
        """Insert or replace the tenant's credential of this type."""
        ...

    async def get(self, tenant_id: str, kind: str) -> SealedCredentials | None: ...

    async def remove(self, tenant_id: str, kind: str) -> bool: ...

    async def record_status(self, tenant_id: str, kind: str, updated_at: datetime, status: ConnectionStatus) -> bool:
        """Keep ``status`` with the credential if it is still the one stored at ``updated_at`` (a check of
        values replaced meanwhile is dropped). ``put`` replaces the status with the sealed record's own."""
        ...

    async def due_for_check(self, checked_by: datetime, kinds: Collection[str], limit: int) -> list[tuple[str, str]]:
        """``(tenant id, type)`` of up to ``limit`` credentials of ``kinds``, of tenants not deleted, never checked
        or last checked at ``checked_by`` or earlier: the never checked first, then the least recently checked."""
        ...


class SealedValueStore(Protocol):
    """Every stored value of every kind in :data:`~tenant_core.sealed_kinds.SEALED_KINDS`, whatever its
    table: what key rotation re-seals and what the start-up key check looks at."""

    async def sealed_with_other_keys(
        self, kind: SealedKind, key_id: str, after: tuple[str, ...] | None, limit: int
    ) -> list[SealedValue]:
        """Values of ``kind`` not sealed with ``key_id``, ordered by their ``ref``, those after ``after``."""
        ...

    async def count_sealed_with_other_keys(self, kind: SealedKind, key_id: str) -> int: ...

    async def reseal(self, old: SealedValue, key_id: str, ciphertext: bytes) -> bool:
        """Replace the ciphertext and its key id if the record still holds ``old``'s (a concurrent write wins)."""
        ...

    async def one_per_key(self, kind: SealedKind) -> list[SealedValue]:
        """One stored value of ``kind`` for each key id in use, in key id order. Cheap at any size: it walks
        an index of key ids, never the table."""
        ...


class SignupNonces(Protocol):
    """Single use of signup states, shared by every worker and instance."""

    async def claim(self, nonce: str, expires_at: datetime) -> bool:
        """True the first time a nonce is claimed, False ever after (until it has expired)."""
        ...


class EventLog(Protocol):
    """The outbox and the feed it serves. Events appended in a unit of work commit with it; :meth:`sequence`
    then gives them feed positions in commit order, so a reader that saw position ``p`` never later finds a
    new event below ``p``."""

    async def append(self, event: ChangeEvent) -> None:
        """Add ``event`` to the transaction."""
        ...

    async def sequence(self, wait: bool = False, batch: int = 1000) -> int:
        """Give committed events without a position the next positions, at most ``batch``; returns how many.
        Without ``wait`` it
        is its own transaction and returns 0 at once when another worker is numbering; with ``wait`` it runs
        in a unit of work of its own and numbers after that worker."""
        ...

    async def read(
        self, after: int, limit: int, types: frozenset[str] | None = None, tenant_id: str | None = None
    ) -> list[ChangeEvent]:
        """Committed events with a position above ``after``, in position order, filtered when asked."""
        ...

    async def horizon(self) -> int:
        """Events at or below this position were pruned (0 when none was)."""
        ...

    async def newest(self) -> int:
        """The position of the newest numbered event (the horizon when there is none)."""
        ...

    async def prune(self, before: datetime) -> int:
        """Remove events older than ``before``; returns how many went."""
        ...


class EventConsumers(Protocol):
    """Named positions in the feed (the webhook fan-out, the bus relay), each held by one worker at a time."""

    async def claim(self, name: str) -> int | None:
        """The consumer's position, held until the transaction ends; ``None`` when another worker holds it."""
        ...

    async def advance(self, name: str, position: int) -> None: ...


class WebhookRepository(Protocol):
    """Subscriptions and their deliveries. Deliveries go with their subscription."""

    async def add(self, webhook: Webhook) -> Webhook: ...

    async def get(self, webhook_id: str) -> Webhook | None: ...

    async def list(self) -> list[Webhook]:
        """Every subscription, oldest first."""
        ...

    async def replace(self, webhook: Webhook) -> Webhook | None: ...

    async def remove(self, webhook_id: str) -> bool: ...

    async def enqueue(self, deliveries: list[Delivery]) -> None:
        """Queue deliveries; a delivery of the same event to the same subscription is queued once."""
        ...

    async def claim_due(self, now: datetime, lease: Lease, lines: int, per_line: int) -> list[Delivery]:
        """Reserve under ``lease`` the next deliveries of up to ``lines`` subscription-and-tenant lines whose
        oldest pending delivery is due by ``now`` and free (never leased, or its lease ended by ``now``):
        that one and the pending ones after it, at most ``per_line``, in feed order. A line another worker
        holds is skipped, so each tenant's deliveries go out in order."""
        ...

    async def renew(self, delivery_ids: list[str], lease: Lease) -> bool:
        """Extend to ``lease.until`` the reservation of deliveries ``lease.holder`` claimed; ``False`` (and
        nothing extended) when any of them is no longer its own: another worker took the line over."""
        ...

    async def release(self, delivery_ids: list[str], holder: str) -> None:
        """Drop the reservation of deliveries claimed but not attempted, where ``holder`` still holds it."""
        ...

    async def record_attempt(
        self, delivery_id: str, attempt: DeliveryAttempt, state: DeliveryState, next_attempt_at: datetime, holder: str
    ) -> None:
        """Log an attempt, set the delivery's state and next try, and release its reservation if ``holder``
        still holds it (a holder that lost the line leaves the new holder's claim alone)."""
        ...

    async def deliveries(self, webhook_id: str, limit: int, before: str | None = None) -> list[Delivery]:
        """The subscription's deliveries, newest first (those created before delivery ``before``, when given)."""
        ...

    async def get_delivery(self, webhook_id: str, delivery_id: str) -> Delivery | None: ...

    async def requeue(self, webhook_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        """Make the delivery pending and due now (a manual retry); ``None`` when there is no such delivery."""
        ...


class ImportRecords(Protocol):
    """What the legacy import last saw of each old tenant, by tenant id. Records outlive their tenants."""

    async def get(self, tenant_id: str) -> ImportRecord | None: ...

    async def put(self, record: ImportRecord) -> None:
        """Insert or replace the tenant's record."""


class CacheInvalidations(Protocol):
    """The cache keys a unit of work makes stale. They are announced with its commit, in the same transaction,
    so every process learns of them exactly when the change commits, even if its writer dies right after."""

    def add(self, keys: Iterable[str]) -> None: ...


class InvalidationFollower(Protocol):
    """One process following every committed :class:`CacheInvalidations` announcement, from any process.

    ``current()`` is what makes a staleness bound: while it is true, every change acknowledged to its writer
    more than ``bound`` seconds ago has already reached ``on_stale``. A cache serves nothing while it is false.
    """

    bound: float

    def subscribe(self, on_stale: Callable[[Sequence[str]], None], on_gap: Callable[[], Awaitable[None]]) -> None:
        """``on_stale(keys)`` for each committed announcement; ``on_gap()`` (awaited before the follower counts
        as current again) after announcements may have been missed, when every cached value is suspect."""
        ...

    def current(self) -> bool: ...

    async def caught_up(self) -> None:
        """Return once every change acknowledged before this call has reached ``on_stale`` (callers bound the
        wait, with ``asyncio.timeout``: a follower that lost its connection catches up when it is back)."""
        ...


class HeldLock(Protocol):
    """A fleet-wide lock this process holds (see :class:`FleetLocks`)."""

    async def still_held(self) -> bool:
        """False once the lock was lost (its holder's connection to the database ended): stop working under it."""
        ...


class FleetLocks(Protocol):
    """Locks that one process of the whole fleet holds at a time, released when the holder's block ends or the
    holder dies (never a committed row that a crash leaves behind)."""

    def try_hold(self, name: str) -> AbstractAsyncContextManager[HeldLock | None]:
        """Hold lock ``name`` for the ``async with`` block; ``None`` at once when another process holds it."""
        ...


class UnitOfWork(Protocol):
    """One transaction: everything done through it commits together on clean exit, or not at all.

    A credential read through it is held until the transaction ends (a concurrent writer of the same one
    waits), so what is decided from it still holds at the commit."""

    invalidations: CacheInvalidations
    tenants: TenantRepository
    idempotency: IdempotencyKeys
    api_keys: ApiKeyRepository
    audit: AuditLog
    credentials: CredentialStore
    events: EventLog
    consumers: EventConsumers
    webhooks: WebhookRepository
    legacy_imports: ImportRecords

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Storage(Protocol):
    """The system of record: reads outside a transaction, writes through :meth:`unit_of_work`."""

    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def idempotency(self) -> IdempotencyKeys: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def credentials(self) -> CredentialStore: ...

    @property
    def signup_nonces(self) -> SignupNonces: ...

    @property
    def sealed(self) -> SealedValueStore: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def legacy_imports(self) -> ImportRecords: ...

    async def wait_for_events(self, after: int, at_most: float) -> int:
        """Return soon after an event above ``after`` commits (in any worker), or after ``at_most`` seconds.

        Returns the newest position known to exist (at least ``after``): pass it next time to wait again."""
        ...

    def unit_of_work(self) -> UnitOfWork: ...

    def follow_invalidations(self) -> AbstractAsyncContextManager[InvalidationFollower]:
        """Follow the cache invalidations every process commits, for as long as the context is open."""
        ...

    async def ping(self) -> None:
        """Raise :class:`~tenant_core.errors.UnavailableError` when the store cannot answer."""
        ...


class OperatedStorage(Storage, Protocol):
    """Storage as a running service operates it: schema state and connection use, for health and metrics."""

    async def missing_migrations(self) -> set[str]:
        """Migration ids not yet applied (empty when the schema is current)."""
        ...

    def pool_usage(self) -> tuple[int, int]:
        """``(connections open, idle)``."""
        ...

    async def backlog(self, relay: str) -> Backlog:
        """The event machinery's waiting work, as the store holds it (the same for every reader); ``relay``
        is the event consumer whose distance from the newest event is the relay's backlog."""
        ...

    async def connections(self, now: datetime) -> ConnectionsHealth:
        """The stored connections by type and health at ``now`` (the same for every reader)."""
        ...


class Cache(Protocol):
    """A shared cache with race-free invalidation.

    ``read`` returns the value (or ``None``) and a *stamp*; ``write`` stores a value under the stamp the
    reader saw, and the value is served only while no ``invalidate`` of that key happened in between. So a
    reader that loaded old data just before a write committed can never re-plant it after the write's
    invalidation. A cache that cannot reach its backend answers misses and drops writes; it never raises.
    """

    async def read(self, key: str) -> tuple[bytes | None, bytes]: ...

    async def write(self, key: str, value: bytes, stamp: bytes, ttl_seconds: float) -> None: ...

    async def invalidate(self, keys: Iterable[str]) -> None: ...

    async def status(self) -> str:
        """``connected``, ``disconnected`` or ``disabled``, for health reports."""
        ...


class TokenVerifier(Protocol):
    """Turns a bearer token (a JWT) into a Principal."""

    def verify(self, token: str) -> Principal:
        """Raise :class:`~tenant_core.errors.AuthenticationFailedError` for any bad, expired or foreign token."""
        ...

    def verified(self, token: str) -> Principal | None:
        """The principal of a token already verified and not expired, without verifying again; else ``None``."""
        ...


class RateLimiter(Protocol):
    """Counts requests per key in fixed windows, shared by every worker that uses the same backend."""

    async def hit(self, key: str, limit: int, window_seconds: int) -> tuple[int, int]:
        """Count one request; returns ``(count in this window, seconds until the window ends)``."""
        ...


class SecretCipher(Protocol):
    """Authenticated encryption with key ids, so keys can rotate while old records still open."""

    @property
    def current_key_id(self) -> str: ...

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every configured key id, the current one first."""
        ...

    def seal(self, plaintext: bytes, associated_data: bytes) -> tuple[str, bytes]:
        """Encrypt under the current key; returns ``(key_id, ciphertext)``."""
        ...

    def open(self, key_id: str, ciphertext: bytes, associated_data: bytes) -> bytes:
        """Decrypt; raise :class:`~tenant_core.errors.CredentialsUnreadableError` if it does not authenticate."""
        ...


class GraphPhoneNumber(msgspec.Struct, frozen=True):
    """A business phone number of a WABA, as Graph lists it."""

    id: str
    display_phone_number: str | None = None
    quality_rating: str | None = None
    verified_name: str | None = None
    code_verification_status: str | None = None


class TokenInfo(msgspec.Struct, frozen=True):
    """What ``debug_token`` says of an access token. Expiry times are ``None`` when they never come."""

    is_valid: bool
    expires_at: datetime | None = None
    data_access_expires_at: datetime | None = None
    scopes: dict[str, list[str]] = {}  # granular scope → the asset ids it is limited to (empty: not limited)


class MetaGraph(Protocol):
    """The Meta Graph API calls of Embedded Signup and of the WhatsApp connection check.

    Failures raise :class:`~tenant_core.errors.GraphApiError`; a refused token has ``graph_code`` 190."""

    async def exchange_code(self, code: str) -> str:
        """The business access token for an Embedded Signup ``code`` (codes are single use: never retried)."""
        ...

    async def inspect_token(self, access_token: str) -> TokenInfo:
        """``debug_token`` with the app's own token: validity, expiry and granular scopes."""
        ...

    async def phone_numbers(self, waba_id: str, access_token: str) -> list[GraphPhoneNumber]: ...

    async def phone_number(self, phone_number_id: str, access_token: str) -> GraphPhoneNumber:
        """One number's display number, verified name, quality rating and code verification status."""
        ...

    async def subscribe_app(self, waba_id: str, access_token: str) -> None:
        """Subscribe this app to the WABA's webhooks."""
        ...

    async def register_phone(self, phone_number_id: str, access_token: str, pin: str) -> None:
        """Register the number for the Cloud API, setting ``pin`` as its two-step verification PIN (a write:
        never retried)."""
        ...


class GenesysOrganization(msgspec.Struct, frozen=True):
    """A Genesys Cloud organization, as a client's credentials reveal it."""

    id: str
    name: str


class GenesysCloud(Protocol):
    """The Genesys Cloud calls of the connection check, in the region the credential names (its host).

    Failures raise :class:`~tenant_core.errors.ExternalServiceError`; ``refused`` tells a refusal (wrong
    credentials or region) from an outage or timeout."""

    async def token(self, region: str, client_id: str, client_secret: str) -> str:
        """A client-credentials access token from ``login.<region>``."""
        ...

    async def organization(self, region: str, token: str) -> GenesysOrganization:
        """The organization the token belongs to (``/api/v2/organizations/me``)."""
        ...

    async def has_open_messaging_integration(self, region: str, token: str, integration_id: str) -> bool:
        """Whether the org has this Open Messaging integration."""
        ...


class WebhookSender(Protocol):
    """Delivers one signed event to one URL."""

    async def refusal(self, url: str) -> str | None:
        """Why ``url`` may not receive webhooks (not http(s), a private address, …), or ``None``."""
        ...

    async def send(self, url: str, secret: str, message_id: str, payload: bytes) -> DeliveryAttempt:
        """POST ``payload`` signed with ``secret`` (Standard Webhooks, ``webhook-id: message_id``). Never
        raises: a failure is an attempt without a 2xx status."""
        ...


class EventBus(Protocol):
    """The platform's message bus."""

    async def publish(self, events: list[ChangeEvent]) -> None:
        """Publish durably, in order; returns once the broker confirmed all. Raises
        :class:`~tenant_core.errors.UnavailableError` if it could not."""
        ...
