"""tenant_core: the Tenant Service as a library (standard library and msgspec only).

Entities, commands, the error hierarchy, ports and the use cases that hold every rule. Each use case takes
the calling :class:`Principal` first (``SYSTEM`` is the trusted in-process caller) and returns an entity or
raises a :class:`TenantServiceError`. ``help(tenant_core.Name)`` documents one name; this page is the map.

Start in one call, on the in-memory adapters and a clock you set::

    from tenant_entrypoints.in_memory import in_memory_container
    core = in_memory_container()
    created = await core.tenants().create(SYSTEM, CreateTenant(name="Acme", email="ops@acme.com"))
    core.clock().advance(timedelta(days=1))

For production, ``tenant_entrypoints.container.build_container(config)`` wires the same use cases to
Postgres and Redis (``tenant_adapters.postgres``, ``tenant_adapters.redis``). Credentials and webhook secrets
are sealed by a :class:`SecretCipher`: ``tenant_adapters.crypto.AesGcmCipher({key_id: 32 random bytes})``, the
first key sealing and every key opening; keep the keys as long as the data (the in-memory setup makes one
random key per call unless given ``cipher=``).

Use cases
    TenantService, TenantResolver, GenesysProvisioning, ApiKeyService, AuditTrail, Authenticator, RateLimitPolicy,
    CredentialVault (CredentialWrites + CredentialReads), ConnectionChecks, WhatsAppSignup, EventFeed, EventRelay,
    WebhookSubscriptions, WebhookDelivery, CredentialKeyRotation, SealedKeyCheck, LegacyImport, OperationsReport,
    ConnectionWatch
Who calls
    Principal, SYSTEM, Role, Permission
Commands (inputs)
    CreateTenant, UpdateTenant, CompleteOnboarding, ProvisionGenesys, TenantQuery, CompleteSignup, SignupEvent,
    NewWebhook, WebhookChange
Entities and results
    Tenant, TenantStatus, ROUTING_KEYS, RoutingKey, Plan, Settings, CreatedTenant, Provisioned, TenantPage, ApiKey,
    IssuedApiKey, Admission, AuditEvent, AuditAction, AuditPage, ChangeEvent, EventType, EventPage, Webhook,
    WebhookStatus, CreatedWebhook, Delivery, DeliveryAttempt, DeliveryState, Lease, SignupState, VerifiedState,
    SignupResult, ImportReport, ImportLine, ItemKind, Outcome, RotationReport, KindRotation, KeyProblem,
    OperationsSnapshot, Backlog, ConnectionsHealth, SweepReport, CheckFailure, Announcement, FailedDelivery,
    FailedPublish
Credentials (one policy per type, in a registry)
    CREDENTIAL_POLICIES, CredentialRegistry, CredentialPolicy, GenesysPolicy, WhatsAppPolicy, CheckPorts,
    CheckOutcome, CredentialType, Credentials, GenesysCredentials, WhatsAppCredentials, StoredCredentials,
    SealedCredentials, StoreOutcome, MaskedCredentials, CredentialsRead, MetaCredentials, ConnectionReport,
    ConnectionStatus, Check, TokenHealth
Errors (the tree: ``help(tenant_core.errors)``)
    TenantServiceError, Refusal, ValidationFailedError, FieldProblem, AuthenticationFailedError, RateLimitedError,
    ForbiddenError, TenantSuspendedError, NotFoundError, TenantLockedError, ConflictError, PreconditionFailedError,
    CursorExpiredError, UnavailableError, MetaAppNotConfiguredError, SignupError, InvalidSignupStateError,
    WabaNotFoundError, GraphApiError, ExternalServiceError, CredentialsUnreadableError
Ports (implement one to plug in another technology; ``tenant_adapters`` has one package per technology)
    Storage, OperatedStorage, UnitOfWork, TenantRepository, ApiKeyRepository, AuditLog, CredentialStore,
    SealedValueStore, IdempotencyKeys, IdempotencyRecord, SignupNonces, EventLog, EventConsumers, EventBus,
    WebhookRepository, WebhookSender, Cache, CacheInvalidations, InvalidationFollower, FleetLocks, HeldLock,
    RateLimiter, Clock, SecretCipher, TokenVerifier, MetaGraph, TokenInfo, GraphPhoneNumber, GenesysCloud,
    GenesysOrganization, ImportRecords, ImportRecord, Seen, LegacySource, LegacyTenant, LegacyTenantRow,
    LegacyCredentialRow, LegacyApiKeyRow
Building blocks
    SystemClock, ManualClock, NoCache, ReadThrough, TenantCache, TenantDirectory, TenantWriter, SealedValues,
    SealedKind, SealedValue, SEALED_KINDS, UnreadableValue, SignupStateCodec, WebhookTarget, parse_webhook_url,
    address_refusal

Where each rule lives: ``docs/architecture.md`` in the source repository.
"""

from tenant_core.audit import AuditAction
from tenant_core.change_events import ChangeEvent, EventType
from tenant_core.clock import ManualClock, SystemClock
from tenant_core.commands import (
    CompleteOnboarding,
    CompleteSignup,
    CreateTenant,
    ProvisionGenesys,
    SignupEvent,
    UpdateTenant,
)
from tenant_core.connection_news import Announcement
from tenant_core.connections import Check, ConnectionReport, ConnectionStatus, TokenHealth
from tenant_core.credential_kinds.genesys import GenesysCredentials, GenesysPolicy
from tenant_core.credential_kinds.whatsapp import WhatsAppCredentials, WhatsAppPolicy
from tenant_core.credential_registry import CREDENTIAL_POLICIES, CredentialRegistry
from tenant_core.credential_types import (
    CheckOutcome,
    CheckPorts,
    CredentialPolicy,
    Credentials,
    CredentialType,
    SealedCredentials,
    StoredCredentials,
)
from tenant_core.entities import (
    ROUTING_KEYS,
    Admission,
    ApiKey,
    AuditEvent,
    AuditPage,
    CreatedTenant,
    IdempotencyRecord,
    IssuedApiKey,
    Plan,
    Provisioned,
    RoutingKey,
    Settings,
    Tenant,
    TenantPage,
    TenantQuery,
    TenantStatus,
)
from tenant_core.errors import (
    AuthenticationFailedError,
    ConflictError,
    CredentialsUnreadableError,
    CursorExpiredError,
    ExternalServiceError,
    FieldProblem,
    ForbiddenError,
    GraphApiError,
    InvalidSignupStateError,
    MetaAppNotConfiguredError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitedError,
    Refusal,
    SignupError,
    TenantLockedError,
    TenantServiceError,
    TenantSuspendedError,
    UnavailableError,
    ValidationFailedError,
    WabaNotFoundError,
)
from tenant_core.legacy import (
    ImportRecord,
    LegacyApiKeyRow,
    LegacyCredentialRow,
    LegacySource,
    LegacyTenant,
    LegacyTenantRow,
    Seen,
)
from tenant_core.lookup_cache import ReadThrough, TenantCache, TenantDirectory
from tenant_core.no_cache import NoCache
from tenant_core.operations import Backlog, ConnectionsHealth, OperationsSnapshot
from tenant_core.ports import (
    ApiKeyRepository,
    AuditLog,
    Cache,
    CacheInvalidations,
    Clock,
    CredentialStore,
    EventBus,
    EventConsumers,
    EventLog,
    FleetLocks,
    GenesysCloud,
    GenesysOrganization,
    GraphPhoneNumber,
    HeldLock,
    IdempotencyKeys,
    ImportRecords,
    InvalidationFollower,
    MetaGraph,
    OperatedStorage,
    RateLimiter,
    SealedValueStore,
    SecretCipher,
    SignupNonces,
    Storage,
    TenantRepository,
    TokenInfo,
    TokenVerifier,
    UnitOfWork,
    WebhookRepository,
    WebhookSender,
)
from tenant_core.sealed_kinds import SEALED_KINDS, SealedKind, SealedValue
from tenant_core.sealing import SealedValues, UnreadableValue
from tenant_core.security import SYSTEM, Permission, Principal, Role
from tenant_core.signup_state import SignupState, SignupStateCodec, VerifiedState
from tenant_core.tenant_writer import TenantWriter
from tenant_core.use_cases import (
    ApiKeyService,
    AuditTrail,
    Authenticator,
    CredentialKeyRotation,
    CredentialVault,
    GenesysProvisioning,
    LegacyImport,
    RateLimitPolicy,
    TenantResolver,
    TenantService,
    WhatsAppSignup,
)
from tenant_core.use_cases.connection_watch import CheckFailure, ConnectionWatch, SweepReport
from tenant_core.use_cases.connections import ConnectionChecks
from tenant_core.use_cases.credential_reads import CredentialReads, CredentialsRead, MaskedCredentials, MetaCredentials
from tenant_core.use_cases.credential_writes import CredentialWrites, StoreOutcome
from tenant_core.use_cases.event_relay import EventRelay, FailedPublish
from tenant_core.use_cases.events import EventFeed, EventPage
from tenant_core.use_cases.key_rotation import KeyProblem, KindRotation, RotationReport, SealedKeyCheck
from tenant_core.use_cases.legacy_import import ImportReport
from tenant_core.use_cases.legacy_plan import ImportLine, ItemKind, Outcome
from tenant_core.use_cases.operations import OperationsReport
from tenant_core.use_cases.signup import SignupResult
from tenant_core.use_cases.webhook_delivery import FailedDelivery, WebhookDelivery
from tenant_core.use_cases.webhook_subscriptions import WebhookSubscriptions
from tenant_core.webhook_urls import WebhookTarget, address_refusal, parse_webhook_url
from tenant_core.webhooks import (
    CreatedWebhook,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Lease,
    NewWebhook,
    Webhook,
    WebhookChange,
    WebhookStatus,
)

__all__ = [
    "Admission",
    "Announcement",
    "ApiKey",
    "ApiKeyRepository",
    "ApiKeyService",
    "AuditAction",
    "AuditEvent",
    "AuditLog",
    "AuditPage",
    "AuditTrail",
    "AuthenticationFailedError",
    "Authenticator",
    "Backlog",
    "CREDENTIAL_POLICIES",
    "Cache",
    "CacheInvalidations",
    "ChangeEvent",
    "Check",
    "CheckFailure",
    "CheckOutcome",
    "CheckPorts",
    "Clock",
    "CompleteOnboarding",
    "CompleteSignup",
    "ConflictError",
    "ConnectionChecks",
    "ConnectionReport",
    "ConnectionStatus",
    "ConnectionWatch",
    "ConnectionsHealth",
    "CreateTenant",
    "CreatedTenant",
    "CreatedWebhook",
    "CredentialKeyRotation",
    "CredentialPolicy",
    "CredentialReads",
    "CredentialRegistry",
    "CredentialStore",
    "CredentialType",
    "CredentialVault",
    "CredentialWrites",
    "Credentials",
    "CredentialsRead",
    "CredentialsUnreadableError",
    "CursorExpiredError",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryState",
    "EventBus",
    "EventConsumers",
    "EventFeed",
    "EventLog",
    "EventPage",
    "EventRelay",
    "EventType",
    "ExternalServiceError",
    "FailedDelivery",
    "FailedPublish",
    "FieldProblem",
    "FleetLocks",
    "ForbiddenError",
    "GenesysCloud",
    "GenesysCredentials",
    "GenesysOrganization",
    "GenesysPolicy",
    "GenesysProvisioning",
    "GraphApiError",
    "GraphPhoneNumber",
    "HeldLock",
    "IdempotencyKeys",
    "IdempotencyRecord",
    "ImportLine",
    "ImportRecord",
    "ImportRecords",
    "ImportReport",
    "InvalidSignupStateError",
    "InvalidationFollower",
    "IssuedApiKey",
    "ItemKind",
    "KeyProblem",
    "KindRotation",
    "Lease",
    "LegacyApiKeyRow",
    "LegacyCredentialRow",
    "LegacyImport",
    "LegacySource",
    "LegacyTenant",
    "LegacyTenantRow",
    "ManualClock",
    "MaskedCredentials",
    "MetaAppNotConfiguredError",
    "MetaCredentials",
    "MetaGraph",
    "NewWebhook",
    "NoCache",
    "NotFoundError",
    "OperatedStorage",
    "OperationsReport",
    "OperationsSnapshot",
    "Outcome",
    "Permission",
    "Plan",
    "PreconditionFailedError",
    "Principal",
    "ProvisionGenesys",
    "Provisioned",
    "ROUTING_KEYS",
    "RateLimitPolicy",
    "RateLimitedError",
    "RateLimiter",
    "ReadThrough",
    "Refusal",
    "Role",
    "RotationReport",
    "RoutingKey",
    "SEALED_KINDS",
    "SYSTEM",
    "SealedCredentials",
    "SealedKeyCheck",
    "SealedKind",
    "SealedValue",
    "SealedValueStore",
    "SealedValues",
    "SecretCipher",
    "Seen",
    "Settings",
    "SignupError",
    "SignupEvent",
    "SignupNonces",
    "SignupResult",
    "SignupState",
    "SignupStateCodec",
    "Storage",
    "StoreOutcome",
    "StoredCredentials",
    "SweepReport",
    "SystemClock",
    "Tenant",
    "TenantCache",
    "TenantDirectory",
    "TenantLockedError",
    "TenantPage",
    "TenantQuery",
    "TenantRepository",
    "TenantResolver",
    "TenantService",
    "TenantServiceError",
    "TenantStatus",
    "TenantSuspendedError",
    "TenantWriter",
    "TokenHealth",
    "TokenInfo",
    "TokenVerifier",
    "UnavailableError",
    "UnitOfWork",
    "UnreadableValue",
    "UpdateTenant",
    "ValidationFailedError",
    "VerifiedState",
    "WabaNotFoundError",
    "Webhook",
    "WebhookChange",
    "WebhookDelivery",
    "WebhookRepository",
    "WebhookSender",
    "WebhookStatus",
    "WebhookSubscriptions",
    "WebhookTarget",
    "WhatsAppCredentials",
    "WhatsAppPolicy",
    "WhatsAppSignup",
    "address_refusal",
    "parse_webhook_url",
]
