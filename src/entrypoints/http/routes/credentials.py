"""Contract sections "Credentials" and "WhatsApp" (configuration views; the signup flow is separate)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from loguru import logger
from msgspec import UNSET, UnsetType

from entrypoints.http.schemas import Message
from tenant_core import Principal
from tenant_core.commands import ExternalId
from tenant_core.credentials import CredentialType, Secret, Text, WhatsAppCredentials
from tenant_core.errors import NotFoundError, ValidationFailedError
from tenant_core.use_cases.credentials import CredentialVault, MaskedCredentials


class StoreCredentials(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``credentials`` holds the fields of ``type``: see GenesysCredentials and WhatsAppCredentials."""

    type: CredentialType
    credentials: dict[str, Any]


class CredentialsStored(msgspec.Struct):
    type: CredentialType
    message: str
    success: bool = True


class CredentialsView(msgspec.Struct, rename="camel"):
    type: CredentialType
    credentials: dict[str, Any]
    updated_at: datetime


class GenesysCredentialsBody(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True, kw_only=True):
    client_id: Text
    client_secret: Secret
    region: Text
    integration_id: ExternalId
    webhook_secret: Secret | None = None


class GenesysTenantSummary(msgspec.Struct, rename="camel"):
    id: str
    name: str
    genesys_region: str | None
    genesys_integration_id: str | None


class GenesysUpdated(msgspec.Struct):
    message: str
    tenant: GenesysTenantSummary


class GenesysView(msgspec.Struct, rename="camel"):
    configured: bool
    client_id: str
    client_secret: str
    region: str
    integration_id: str | None


class WhatsAppConfigBody(WhatsAppCredentials, frozen=True, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """The WhatsApp credential, plus ``businessId``: the legacy name of ``businessAccountId``."""

    business_id: ExternalId | None = None

    def credentials(self) -> dict[str, Any]:
        fields = msgspec.to_builtins(self)
        legacy = fields.pop("businessId", None)
        if legacy is not None and fields.get("businessAccountId") not in (None, legacy):
            raise ValidationFailedError.for_field("businessId", "differs from businessAccountId; send one of them")
        fields["businessAccountId"] = fields.get("businessAccountId") or legacy
        return fields


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
    updated_at: datetime | UnsetType = UNSET

    @classmethod
    def of(cls, view: MaskedCredentials | None) -> WhatsAppView:
        if view is None:
            return cls(configured=False)
        fields = msgspec.structs.fields(WhatsAppCredentials)
        values = {f.name: view.credentials.get(f.encode_name) for f in fields}
        return cls(configured=True, updated_at=view.updated_at, **values)


class WhatsAppStored(msgspec.Struct):
    config: WhatsAppView
    success: bool = True


class CredentialController(Controller):
    path = "/{tenant_id:str}"
    tags = ["Credentials"]

    @post("/credentials", status_code=200, summary="Store (replace) a credential of one type")
    async def store(
        self,
        tenant_id: FromPath[str],
        data: JSONBody[StoreCredentials],
        vault: NamedDependency[CredentialVault],
        principal: NamedDependency[Principal],
    ) -> CredentialsStored:
        await vault.store(principal, tenant_id, data.type, data.credentials)
        logger.info("Credentials stored", tenant_id=tenant_id, type=data.type.value, actor=principal.subject)
        return CredentialsStored(type=data.type, message=f"{data.type.value} credentials stored successfully")

    @get("/credentials/{kind:str}", summary="Read a credential, masked; ?reveal=true for permitted services")
    async def read(
        self,
        tenant_id: FromPath[str],
        kind: FromPath[CredentialType],
        vault: NamedDependency[CredentialVault],
        principal: NamedDependency[Principal],
        reveal: Annotated[bool, QueryParameter(description="Return secrets in clear (audited)")] = False,
    ) -> CredentialsView:
        if reveal:
            stored = await vault.reveal(principal, tenant_id, kind)
            return CredentialsView(kind, msgspec.to_builtins(stored.credentials), stored.updated_at)
        view = await vault.view(principal, tenant_id, kind)
        if view is None:
            raise NotFoundError(f"No {kind.value} credentials stored for tenant {tenant_id}")
        return CredentialsView(kind, view.credentials, view.updated_at)

    @delete("/credentials/{kind:str}", status_code=200, summary="Delete a credential")
    async def remove(
        self,
        tenant_id: FromPath[str],
        kind: FromPath[CredentialType],
        vault: NamedDependency[CredentialVault],
        principal: NamedDependency[Principal],
    ) -> Message:
        await vault.delete(principal, tenant_id, kind)
        return Message(f"{kind.value} credentials deleted successfully")

    @put("/genesys/credentials", summary="Store the Genesys OAuth client and integration")
    async def put_genesys(
        self,
        tenant_id: FromPath[str],
        data: JSONBody[GenesysCredentialsBody],
        vault: NamedDependency[CredentialVault],
        principal: NamedDependency[Principal],
    ) -> GenesysUpdated:
        tenant = await vault.store(principal, tenant_id, CredentialType.GENESYS, msgspec.to_builtins(data))
        logger.info("Credentials stored", tenant_id=tenant_id, type="genesys", actor=principal.subject)
        summary = GenesysTenantSummary(tenant.id, tenant.name, tenant.genesys_region, tenant.genesys_integration_id)
        return GenesysUpdated("Genesys credentials updated successfully", summary)

    @get("/genesys/credentials", summary="The Genesys credentials, masked")
    async def get_genesys(
        self, tenant_id: FromPath[str], vault: NamedDependency[CredentialVault], principal: NamedDependency[Principal]
    ) -> GenesysView:
        view = await vault.view(principal, tenant_id, CredentialType.GENESYS)
        if view is None:
            raise NotFoundError(f"No Genesys credentials stored for tenant {tenant_id}")
        shown = view.credentials
        return GenesysView(True, shown["clientId"], shown["clientSecret"], shown["region"], shown.get("integrationId"))

    @post("/whatsapp", status_code=200, summary="Store the WhatsApp configuration")
    async def put_whatsapp(
        self,
        tenant_id: FromPath[str],
        data: JSONBody[WhatsAppConfigBody],
        vault: NamedDependency[CredentialVault],
        principal: NamedDependency[Principal],
    ) -> WhatsAppStored:
        await vault.store(principal, tenant_id, CredentialType.WHATSAPP, data.credentials())
        logger.info("Credentials stored", tenant_id=tenant_id, type="whatsapp", actor=principal.subject)
        return WhatsAppStored(config=WhatsAppView.of(await vault.view(principal, tenant_id, CredentialType.WHATSAPP)))

    @get("/whatsapp", summary="The WhatsApp configuration, masked; configured=false when none")
    async def get_whatsapp(
        self, tenant_id: FromPath[str], vault: NamedDependency[CredentialVault], principal: NamedDependency[Principal]
    ) -> Response[WhatsAppView]:
        return Response(WhatsAppView.of(await vault.view(principal, tenant_id, CredentialType.WHATSAPP)))
