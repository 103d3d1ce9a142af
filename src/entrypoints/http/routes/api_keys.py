"""Contract sections "API keys" and "Audit log"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from tenant_core import ApiKeyService, AuditTrail, Principal
from tenant_core.api_key_secrets import ApiKeyName
from tenant_core.entities import ApiKey, AuditPage
from tenant_core.paging import MAX_OFFSET
from tenant_entrypoints.http.schemas import Message


class NewApiKey(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: ApiKeyName = "default"


class IssuedKey(msgspec.Struct, rename="camel"):
    """The only response that carries a key's secret."""

    id: str
    api_key: str
    prefix: str
    name: str
    created_at: datetime


class ApiKeyView(msgspec.Struct, rename="camel"):
    id: str
    prefix: str
    name: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyView:
        return cls(key.id, key.prefix, key.name, key.created_at, key.last_used_at)


class ApiKeyList(msgspec.Struct, rename="camel"):
    api_keys: list[ApiKeyView]


class ApiKeyController(Controller):
    path = "/{tenant_id:str}/api-keys"
    tags = ["API keys"]

    @post("/", status_code=201, summary="Issue an API key (its secret is shown only here)")
    async def issue(
        self,
        tenant_id: FromPath[str],
        api_keys: NamedDependency[ApiKeyService],
        principal: NamedDependency[Principal],
        data: JSONBody[NewApiKey | None] = None,
    ) -> IssuedKey:
        issued = await api_keys.issue(principal, tenant_id, (data or NewApiKey()).name)
        key = issued.key
        return IssuedKey(key.id, issued.secret, key.prefix, key.name, key.created_at)

    @get("/", summary="List a tenant's API keys, without secrets")
    async def list_keys(
        self, tenant_id: FromPath[str], api_keys: NamedDependency[ApiKeyService], principal: NamedDependency[Principal]
    ) -> ApiKeyList:
        return ApiKeyList([ApiKeyView.of(k) for k in await api_keys.list(principal, tenant_id)])

    @delete("/{key_id:str}", status_code=200, summary="Revoke an API key; it stops working at once")
    async def revoke(
        self,
        tenant_id: FromPath[str],
        key_id: FromPath[str],
        api_keys: NamedDependency[ApiKeyService],
        principal: NamedDependency[Principal],
    ) -> Message:
        await api_keys.revoke(principal, tenant_id, key_id)
        return Message("API key revoked successfully")


class AuditController(Controller):
    path = "/{tenant_id:str}/audit-log"
    tags = ["Audit log"]

    @get("/", summary="A tenant's audit log, newest first")
    async def audit_log(
        self,
        tenant_id: FromPath[str],
        audit_trail: NamedDependency[AuditTrail],
        principal: NamedDependency[Principal],
        limit: Annotated[int, QueryParameter(ge=1, description="Page size; values over 100 are clamped")] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Events to skip")] = 0,
        after: Annotated[
            str | None,
            QueryParameter(max_length=200, description="Cursor: the `next` of the previous page (instead of offset)"),
        ] = None,
    ) -> AuditPage:
        return await audit_trail.list(principal, tenant_id, limit, offset, after)
