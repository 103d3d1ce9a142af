"""Contract section "Tenants"."""

from __future__ import annotations

import re
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from loguru import logger

from tenant_core import (
    CompleteOnboarding,
    CreateTenant,
    GenesysProvisioning,
    Principal,
    ProvisionGenesys,
    Tenant,
    TenantPage,
    TenantQuery,
    TenantService,
    TenantStatus,
    UpdateTenant,
)
from tenant_core.errors import ValidationFailedError
from tenant_core.paging import MAX_OFFSET
from tenant_entrypoints.http.schemas import Message, ProvisionResult, TenantChanged, TenantCreated

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        max_length=255,
        description="Repeat a create safely: the same key and body within 24 h return the first response",
    ),
]
#: What If-Match may hold: a version as ETag sends it (``"3"``; ``W/"3"`` and a bare ``3`` too), or ``*``.
IF_MATCH_PATTERN = r'^ *(?:\*|(?:W/)?"?[0-9]{1,18}"?) *$'
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        pattern=IF_MATCH_PATTERN,
        description='Expected version, as sent in ETag: "3" (W/"3" and 3 too); * or none: no condition',
    ),
]


def etag(tenant: Tenant) -> dict[str, str]:
    return {"ETag": f'"{tenant.version}"'}


_VERSION_TAG = re.compile(r'^(?:W/)?"?([0-9]{1,18})"?$')


def expected_version(if_match: str | None) -> int | None:
    """``"3"``, ``W/"3"`` or ``3`` → 3; ``*`` or absent → no condition; anything else is a bad request."""
    if if_match is None or if_match.strip() == "*":
        return None
    if (match := _VERSION_TAG.match(if_match.strip())) is None:
        raise ValidationFailedError.for_field("If-Match", 'must be a version as sent in ETag, such as "3"')
    return int(match.group(1))


class TenantController(Controller):
    tags = ["Tenants"]

    @post("/", status_code=201, summary="Create a tenant")
    async def create(
        self,
        data: JSONBody[CreateTenant],
        tenants: NamedDependency[TenantService],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[TenantCreated]:
        created = await tenants.create(principal, data, idempotency_key)
        tenant = created.tenant
        logger.info("Tenant created", tenant_id=tenant.id, actor=principal.subject)
        return Response(
            TenantCreated(tenant=tenant, api_key=created.api_key),
            status_code=201,
            headers={"Location": f"/tenants/{tenant.id}"},
        )

    @get("/", summary="List tenants, newest first")
    async def list_tenants(
        self,
        tenants: NamedDependency[TenantService],
        principal: NamedDependency[Principal],
        limit: Annotated[int, QueryParameter(ge=1, description="Page size; values over 100 are clamped")] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
        status: Annotated[TenantStatus | None, QueryParameter(description="Only this status")] = None,
        q: Annotated[
            str | None,
            QueryParameter(max_length=255, description="Case-insensitive substring of name, email or domain"),
        ] = None,
        after: Annotated[
            str | None,
            QueryParameter(max_length=200, description="Cursor: the `next` of the previous page (instead of offset)"),
        ] = None,
    ) -> TenantPage:
        return await tenants.list(principal, TenantQuery(limit=limit, offset=offset, status=status, q=q), after)

    @get("/{tenant_id:str}", summary="Read a tenant", response_headers=None)
    async def read(
        self, tenant_id: FromPath[str], tenants: NamedDependency[TenantService], principal: NamedDependency[Principal]
    ) -> Response[Tenant]:
        tenant = await tenants.get(principal, tenant_id)
        return Response(tenant, headers=etag(tenant))

    @patch("/{tenant_id:str}", summary="Change some fields of a tenant")
    async def update(
        self,
        tenant_id: FromPath[str],
        data: JSONBody[UpdateTenant],
        tenants: NamedDependency[TenantService],
        principal: NamedDependency[Principal],
        if_match: IfMatch = None,
    ) -> Response[TenantChanged]:
        tenant = await tenants.update(principal, tenant_id, data, expected_version(if_match))
        return Response(TenantChanged(tenant=tenant, message="Tenant updated successfully"), headers=etag(tenant))

    @delete("/{tenant_id:str}", status_code=200, summary="Delete a tenant and everything it owns")
    async def remove(
        self, tenant_id: FromPath[str], tenants: NamedDependency[TenantService], principal: NamedDependency[Principal]
    ) -> Message:
        await tenants.delete(principal, tenant_id)
        return Message("Tenant deleted successfully")

    @post("/{tenant_id:str}/complete-onboarding", status_code=200, summary="Mark onboarding as completed")
    async def complete_onboarding(
        self,
        tenant_id: FromPath[str],
        tenants: NamedDependency[TenantService],
        principal: NamedDependency[Principal],
        data: JSONBody[CompleteOnboarding | None] = None,
    ) -> TenantChanged:
        tenant = await tenants.complete_onboarding(principal, tenant_id, data or CompleteOnboarding())
        return TenantChanged(tenant=tenant, message="Onboarding completed successfully")

    @post(
        "/provision/genesys",
        status_code=201,
        summary="Get or create the tenant of a Genesys organisation",
        responses={200: ResponseSpec(ProvisionResult, description="The organisation's tenant already existed")},
    )
    async def provision_genesys(
        self,
        data: JSONBody[ProvisionGenesys],
        provisioning: NamedDependency[GenesysProvisioning],
        principal: NamedDependency[Principal],
    ) -> Response[ProvisionResult]:
        result = await provisioning.provision(principal, data)
        if result.is_new:
            logger.info("Tenant provisioned", tenant_id=result.tenant.id, actor=principal.subject)
        body = ProvisionResult(
            message="Tenant provisioned successfully" if result.is_new else "Tenant already exists",
            tenant_id=result.tenant.id,
            tenant_name=result.tenant.name,
            is_new=result.is_new,
            onboarding_completed=result.tenant.onboarding_completed,
        )
        return Response(body, status_code=201 if result.is_new else 200)
