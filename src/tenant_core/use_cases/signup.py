"""WhatsApp Embedded Signup: exchange Meta's code, find the WABA and number, subscribe, register the number,
store — all or nothing.

Every Graph call happens before the single write, so a failure at any step leaves the tenant as it was. And
every local rule that could refuse the write is checked before the first call that changes anything at
Meta (subscribing the app, registering the number with a new PIN): a number bound to another tenant is a
409 before Meta hears of it, so that tenant's registration and stored PIN stay valid. The write itself
still enforces uniqueness, for a signup that races another.
"""

from __future__ import annotations

import secrets

import msgspec

from tenant_core.audit import AuditAction
from tenant_core.commands import TENANT_ID, CompleteSignup, SignupEvent
from tenant_core.connections import MANAGEMENT_SCOPE
from tenant_core.credential_kinds.whatsapp import WhatsAppCredentials, token_status
from tenant_core.entities import PHONE_NUMBER, TenantStatus
from tenant_core.errors import (
    ConflictError,
    InvalidSignupStateError,
    MetaAppNotConfiguredError,
    TenantSuspendedError,
    ValidationFailedError,
    WabaNotFoundError,
)
from tenant_core.lookup_cache import TenantDirectory
from tenant_core.ports import GraphPhoneNumber, MetaGraph, Storage
from tenant_core.security import SYSTEM, Permission, Principal, Role
from tenant_core.signup_state import SignupState, SignupStateCodec, looks_signed
from tenant_core.use_cases.vault import CredentialVault
from tenant_core.validation import validated


class SignupResult(msgspec.Struct, frozen=True):
    """A completed Embedded Signup: the tenant and the WhatsApp credentials stored for it."""

    tenant_id: str
    credentials: WhatsAppCredentials


class WhatsAppSignup:
    """WhatsApp Embedded Signup: a signed state to start, then Meta's code exchanged, checked and stored."""

    def __init__(
        self,
        storage: Storage,
        states: SignupStateCodec,
        graph: MetaGraph | None,
        vault: CredentialVault,
        directory: TenantDirectory,
    ) -> None:
        """``graph`` is ``None`` when the Meta app is not configured; signup then answers 503, the rest works."""
        self._storage = storage
        self._states = states
        self._graph = graph
        self._vault = vault
        self._directory = directory

    async def start(self, principal: Principal, tenant_id: str) -> SignupState:
        """A signed, single-use state bound to the tenant, valid 15 minutes."""
        principal.require(Permission.SIGNUP_START, tenant_id)
        await self._live_tenant(tenant_id)
        return self._states.issue(tenant_id)

    async def complete(self, principal: Principal | None, command: CompleteSignup) -> SignupResult:
        command = validated(command)
        if self._graph is None:
            raise MetaAppNotConfiguredError()
        with_number = command.event is not SignupEvent.FINISH_ONLY_WABA
        if not with_number and command.phone_number_id is not None:
            raise ValidationFailedError.for_field("phoneNumberId", "FINISH_ONLY_WABA finishes without a phone number")
        tenant_id = await self._tenant_of(principal, command.state)
        if command.phone_number_id is not None:  # known already: refuse before the single-use code is spent
            await self._number_is_free(tenant_id, command.phone_number_id)
        graph = self._graph
        token = await graph.exchange_code(command.code)
        token_info = await graph.inspect_token(token)
        waba_id = _pick_waba(token_info.scopes.get(MANAGEMENT_SCOPE, []), command.waba_id)
        phone = None
        if with_number:
            phone = _pick_phone(await graph.phone_numbers(waba_id, token), waba_id, command.phone_number_id)
            await self._number_is_free(tenant_id, phone.id)  # the last read before Meta's first write
        await graph.subscribe_app(waba_id, token)
        pin = None
        if phone is not None and command.event is SignupEvent.FINISH:
            # The coexistence flow's number stays registered by the WhatsApp Business app; a new Cloud API
            # number must be registered, and its PIN becomes the number's two-step PIN for good.
            pin = new_pin()
            await graph.register_phone(phone.id, token, pin)
        credentials = WhatsAppCredentials(
            access_token=token,
            phone_number_id=phone and phone.id,
            waba_id=waba_id,
            display_phone_number=phone and phone.display_phone_number,
            quality_rating=phone and phone.quality_rating,
            pin=pin,
        )
        actor = principal or Principal(subject="whatsapp-signup", role=Role.TENANT, tenant_id=tenant_id)
        # Meta has just proved the number is the tenant's: the signup binds it, whoever started it.
        await self._vault.store_in_transaction(
            actor,
            tenant_id,
            credentials,
            AuditAction.WHATSAPP_SIGNUP_COMPLETED,
            binding=SYSTEM,
            status=token_status(token_info, phone),
        )
        return SignupResult(tenant_id=tenant_id, credentials=credentials)

    async def _tenant_of(self, principal: Principal | None, state: str) -> str:
        """The tenant a state stands for. Everything here is checked before Meta is called."""
        if not looks_signed(state):
            # Legacy clients send the tenant id itself; only a caller allowed on that tenant may do so.
            if not TENANT_ID.match(state) or principal is None or not principal.can(Permission.SIGNUP_START, state):
                raise InvalidSignupStateError("state must be a signup state this service issued for the tenant")
            await self._live_tenant(state)
            return state
        verified = self._states.verify(state)
        if principal is not None and principal.role is Role.TENANT and principal.tenant_id != verified.tenant_id:
            raise InvalidSignupStateError("state was issued for another tenant")
        await self._live_tenant(verified.tenant_id)
        if not await self._storage.signup_nonces.claim(verified.nonce, verified.expires_at):
            raise InvalidSignupStateError("state has already been used; request a new one")
        return verified.tenant_id

    async def _number_is_free(self, tenant_id: str, phone_number_id: str) -> None:
        """:class:`ConflictError` when another tenant (active or suspended) holds the number."""
        holder = await self._storage.tenants.get_by(PHONE_NUMBER, phone_number_id)
        if holder is not None and holder.id != tenant_id:
            raise ConflictError(f"Phone number {phone_number_id} belongs to another tenant", "phoneNumberId")

    async def _live_tenant(self, tenant_id: str) -> None:
        """Signup connects live traffic, so it needs an active tenant, read fresh: Meta's writes (subscribing,
        registering the number with a new PIN) cannot be undone for a tenant a cache still shows active."""
        tenant = await self._directory.fresh.live(tenant_id)
        if tenant.status is TenantStatus.SUSPENDED:
            raise TenantSuspendedError(f"Tenant {tenant_id} is suspended: WhatsApp signup needs an active tenant")


def new_pin() -> str:
    """Six random digits: a number's two-step verification PIN."""
    return f"{secrets.randbelow(1_000_000):06d}"


def _pick_waba(granted: list[str], wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in granted:
            raise WabaNotFoundError(f"WABA {wanted} is not among the accounts this signup granted")
        return wanted
    if not granted:
        raise WabaNotFoundError("The signup granted access to no WhatsApp Business Account")
    return granted[0]


def _pick_phone(numbers: list[GraphPhoneNumber], waba_id: str, wanted: str | None) -> GraphPhoneNumber:
    if wanted is not None:
        for number in numbers:
            if number.id == wanted:
                return number
        raise WabaNotFoundError(f"Phone number {wanted} does not belong to WABA {waba_id}")
    if not numbers:
        raise WabaNotFoundError(f"WABA {waba_id} has no phone numbers")
    return numbers[0]
