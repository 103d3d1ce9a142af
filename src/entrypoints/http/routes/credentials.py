"""Contract sections "Credentials" and "WhatsApp" (configuration views; the signup flow is separate)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from loguru import logger
from msgspec import UNSET, Meta, UnsetType

from tenant_core import ConnectionChecks, ConnectionReport, ConnectionStatus, Principal, TokenHealth
from tenant_core.credential_kinds.genesys import GENESYS
from tenant_core.credential_kinds.whatsapp import WHATSAPP
from tenant_core.credential_registry import CREDENTIAL_POLICIES, credential_policy
from tenant_core.errors import NotFoundError
from tenant_core.use_cases.credential_reads import CredentialsRead, MaskedCredentials
from tenant_core.use_cases.vault import CredentialVault
from tenant_entrypoints.http.credential_bodies import (
    GenesysCredentialsBody,
    StoreCredentials,
    WhatsAppConfigBody,
    check_required,
    sent,
    stored_kind,
)
from tenant_entrypoints.http.schemas import Message

#: The registered credential types' names, as the schema's enum (types registered before this module loads).
CredentialTypeName = Literal[CREDENTIAL_POLICIES.names()]  # type: ignore[valid-type]


class CredentialsStored(msgspec.Struct, rename="camel"):
    type: CredentialTypeName  # type: ignore[valid-type]
    message: str
    success: bool = True
    routing_keys_not_bound: list[str] | UnsetType = UNSET


#: ``GET /credentials/{type}``: the ``{type, credentials, updatedAt}`` view, with every credential field also
#: at the top level (the legacy flat form the platform's callers read: ``body.clientSecret``).
CredentialsView = msgspec.defstruct(
    "CredentialsView",
    [
        ("type", CredentialTypeName),
        ("credentials", dict[str, Any]),
        ("updated_at", datetime),
        *[
            (f.name, Annotated[f.type | UnsetType, Meta(description="Legacy flat form: same as in credentials")], UNSET)
            for policy in CREDENTIAL_POLICIES
            for f in msgspec.structs.fields(policy.fields)
        ],
    ],
    rename="camel",
    omit_defaults=True,
)


def credentials_view(read: CredentialsRead) -> msgspec.Struct:
    fields = msgspec.structs.fields(credential_policy(read.type).fields)
    flat = {f.name: read.credentials.get(f.encode_name) for f in fields}
    return CredentialsView(
        type=read.type,
        credentials=read.credentials,
        updated_at=read.updated_at,
        **{name: value for name, value in flat.items() if value is not None},
    )


class MetaCredentialsView(msgspec.Struct, rename="camel", omit_defaults=True):
    """In clear, for the WhatsApp services: ``appSecret`` is absent when neither the tenant nor the platform
    has a Meta app secret configured."""

    access_token: str
    phone_number_id: str
    waba_id: str
    app_secret: str | UnsetType = UNSET


class GenesysTenantSummary(msgspec.Struct, rename="camel"):
    id: str
    name: str
    genesys_region: str | None
    genesys_integration_id: str | None


class GenesysUpdated(msgspec.Struct, rename="camel"):
    message: str
    tenant: GenesysTenantSummary
    routing_keys_not_bound: list[str] | UnsetType = UNSET


class GenesysView(msgspec.Struct, rename="camel", omit_defaults=True):
    """``lastCheck`` is the last connection check of these values (absent until one ran)."""

    configured: bool
    client_id: str
    client_secret: str
    region: str
    integration_id: str | None
    last_check: ConnectionReport | UnsetType = UNSET


class WhatsAppView(msgspec.Struct, rename="camel", omit_defaults=True):
    """``{"configured": false}`` when nothing is stored; otherwise the masked configuration."""

    configured: bool
    waba_id: str | UnsetType = UNSET
    phone_number_id: str | UnsetType = UNSET
    business_account_id: str | None | UnsetType = UNSET
    display_phone_number: str | None | UnsetType = UNSET
    quality_rating: str | None | UnsetType = UNSET
    access_token: str | UnsetType = UNSET
    verify_token: str | None | UnsetType = UNSET
    app_secret: str | None | UnsetType = UNSET
    pin: str | None | UnsetType = UNSET
    updated_at: datetime | UnsetType = UNSET
    health: TokenHealth | UnsetType = UNSET
    token_expires_at: datetime | None | UnsetType = UNSET
    verified_name: str | UnsetType = UNSET
    code_verification_status: str | UnsetType = UNSET
    last_check: ConnectionReport | UnsetType = UNSET

    @classmethod
    def of(cls, view: MaskedCredentials | None) -> WhatsAppView:
        if view is None:
            return cls(configured=False)
        fields = msgspec.structs.fields(WHATSAPP.fields)
        values = {f.name: view.credentials.get(f.encode_name) for f in fields}
        status = view.status or ConnectionStatus()
        return cls(
            configured=True,
            updated_at=view.updated_at,
            health=view.health or TokenHealth.UNKNOWN,
            token_expires_at=status.expires_at(),
            verified_name=_given(status.verified_name),
            code_verification_status=_given(status.code_verification_status),
            last_check=_given(status.last_check),
            **values,
        )


class WhatsAppStored(msgspec.Struct, rename="camel"):
    config: WhatsAppView
    success: bool = True
    routing_keys_not_bound: list[str] | UnsetType = UNSET


def _given(value: Any) -> Any:
    """Facts not known yet are left out of a view rather than shown as null."""
    return UNSET if value is None else value


def _not_bound(unbound: list[str]) -> list[str] | UnsetType:
    """Tenant callers store credentials without moving routing keys; the response says which stayed unbound."""
    return unbound or UNSET


class CredentialController(Controller):
    path = "/{tenant_id:str}"
    tags = ["Credentials"]

    @post("/credentials", status_code=200, summary="Store (replace) a credential of one type")
    async def store(
        self,
        tenant_id: FromPath[str],
        data: JSONBody[StoreCredentials],  # type: ignore[valid-type]
        vault: NamedDependency[CredentialVault],
        principal: NamedDependency[Principal],
    ) -> CredentialsStored:
        kind = stored_kind(data)
        outcome = await vault.store(principal, tenant_id, kind, sent(data.credentials))
        logger.info("Credentials stored", tenant_id=tenant_id, type=kind, actor=principal.subject)
        return CredentialsStored(
            type=kind,
            message=f"{kind} credentials stored successfully",
            routing_keys_not_bound=_not_bound(outcome.unbound),
        )

    @get(
        "/credentials/meta",
        summary="The WhatsApp token, ids and Meta app secret in clear, for the WhatsApp services",
        description="For service and admin callers. appSecret is the tenant's own Meta app secret if stored, "
        "else the platform's META_APP_SECRET, else absent. 404 when WhatsApp is not configured.",
    )
    async def meta(
        self, tenant_id: FromPath[str], vault: NamedDependency[CredentialVault], principal: NamedDependency[Principal]
    ) -> MetaCredentialsView:
        meta = await vault.meta(principal, tenant_id)
        app_secret = UNSET if meta.app_secret is None else meta.app_secret
        return MetaCredentialsView(meta.access_token, meta.phone_number_id, meta.waba_id, app_secret)

    @get(
        "/credentials/{kind:str}",
        summary="Read a credential: in clear for services, masked otherwise (?reveal=true for admins)",
        description="Every field is also repeated at the top level (the legacy flat form). Secrets are in clear "
        "for service callers, for admins with reveal=true, never for tenants; clear reads are audited.",
    )
    async def read(
        self,
        tenant_id: FromPath[str],
        kind: FromPath[CredentialTypeName],  # type: ignore[valid-type]
        vault: NamedDependency[CredentialVault],
        principal: NamedDependency[Principal],
        reveal: Annotated[bool, QueryParameter(description="Return secrets in clear (admin; audited)")] = False,
    ) -> CredentialsView:  # type: ignore[valid-type]
        return credentials_view(await vault.read(principal, tenant_id, kind, reveal))

    @delete("/credentials/{kind:str}", status_code=200, summary="Delete a credential")
    async def remove(
        self,
        tenant_id: FromPath[str],
        kind: FromPath[CredentialTypeName],  # type: ignore[valid-type]
        vault: NamedDependency[CredentialVault],
        principal: NamedDependency[Principal],
    ) -> Message:
        await vault.delete(principal, tenant_id, kind)
        return Message(f"{kind} credentials deleted successfully")

    @put(
        "/genesys/credentials",
        summary="Store the Genesys OAuth client and integration",
        description="With verify=true the credentials are checked against Genesys Cloud first (token, org, "
        "integration) and stored only when every check passes: a failed check is a 400 whose details are the "
        "failed checks, credentials of another org than the tenant's a 409. A verified org fills the tenant's "
        "empty genesysOrgId and genesysOrgName.",
    )
    async def put_genesys(
        self,
        tenant_id: FromPath[str],
        data: JSONBody[GenesysCredentialsBody],  # type: ignore[valid-type]
        vault: NamedDependency[CredentialVault],
        connections: NamedDependency[ConnectionChecks],
        principal: NamedDependency[Principal],
        verify: Annotated[bool, QueryParameter(description="Check with Genesys Cloud before storing")] = False,
    ) -> GenesysUpdated:
        sent_fields = check_required(data)  # this route, unlike POST /credentials, requires the integration
        if verify:
            outcome = await connections.store_genesys(principal, tenant_id, sent_fields)
        else:
            outcome = await vault.store(principal, tenant_id, GENESYS.name, sent_fields, where="")
        logger.info("Credentials stored", tenant_id=tenant_id, type="genesys", actor=principal.subject)
        tenant = outcome.tenant
        summary = GenesysTenantSummary(tenant.id, tenant.name, tenant.genesys_region, tenant.genesys_integration_id)
        message = "Genesys credentials updated successfully"
        return GenesysUpdated(message, summary, routing_keys_not_bound=_not_bound(outcome.unbound))

    @get("/genesys/credentials", summary="The Genesys credentials, masked")
    async def get_genesys(
        self, tenant_id: FromPath[str], vault: NamedDependency[CredentialVault], principal: NamedDependency[Principal]
    ) -> GenesysView:
        view = await vault.view(principal, tenant_id, GENESYS.name)
        if view is None:
            raise NotFoundError(f"No Genesys credentials stored for tenant {tenant_id}")
        shown = view.credentials
        last_check = view.status.last_check if view.status and view.status.last_check else UNSET
        return GenesysView(
            True, shown["clientId"], shown["clientSecret"], shown["region"], shown.get("integrationId"), last_check
        )

    @post(
        "/genesys/credentials/verify",
        status_code=200,
        summary="Check the stored Genesys credentials against Genesys Cloud",
        description="Gets a client-credentials token in the credential's region, reads the org and checks the "
        "Open Messaging integration exists in it. The result is kept (see lastCheck) and a verified org fills "
        "the tenant's empty genesysOrgId and genesysOrgName.",
    )
    async def verify_genesys(
        self,
        tenant_id: FromPath[str],
        connections: NamedDependency[ConnectionChecks],
        principal: NamedDependency[Principal],
    ) -> ConnectionReport:
        report = await connections.verify_genesys(principal, tenant_id)
        logger.info("Genesys connection checked", tenant_id=tenant_id, ok=report.ok, actor=principal.subject)
        return report

    @post(
        "/whatsapp/verify",
        status_code=200,
        summary="Check the stored WhatsApp token and number with Meta",
        description="debug_token: the token is valid, has whatsapp_business_management and "
        "whatsapp_business_messaging, and still covers the WABA; then the number's display number, verified "
        "name, quality rating and code verification status, which are stored. A token Meta refuses (code 190) "
        "makes the connection's health invalid.",
    )
    async def verify_whatsapp(
        self,
        tenant_id: FromPath[str],
        connections: NamedDependency[ConnectionChecks],
        principal: NamedDependency[Principal],
    ) -> ConnectionReport:
        report = await connections.verify_whatsapp(principal, tenant_id)
        logger.info("WhatsApp connection checked", tenant_id=tenant_id, ok=report.ok, actor=principal.subject)
        return report

    @post("/whatsapp", status_code=200, summary="Store the WhatsApp configuration")
    async def put_whatsapp(
        self,
        tenant_id: FromPath[str],
        data: JSONBody[WhatsAppConfigBody],  # type: ignore[valid-type]
        vault: NamedDependency[CredentialVault],
        principal: NamedDependency[Principal],
    ) -> WhatsAppStored:
        outcome = await vault.store(principal, tenant_id, WHATSAPP.name, sent(data), where="")
        logger.info("Credentials stored", tenant_id=tenant_id, type="whatsapp", actor=principal.subject)
        config = WhatsAppView.of(await vault.view(principal, tenant_id, WHATSAPP.name))
        return WhatsAppStored(config=config, routing_keys_not_bound=_not_bound(outcome.unbound))

    @get("/whatsapp", summary="The WhatsApp configuration, masked; configured=false when none")
    async def get_whatsapp(
        self, tenant_id: FromPath[str], vault: NamedDependency[CredentialVault], principal: NamedDependency[Principal]
    ) -> Response[WhatsAppView]:
        return Response(WhatsAppView.of(await vault.view(principal, tenant_id, WHATSAPP.name)))
