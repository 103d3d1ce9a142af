"""One request and response example per operation: published in the OpenAPI document and sent by a test.

The examples run in order as one story (a tenant is created, configured, used and deleted), so each can
use what an earlier one created. Ids in them are placeholders (``TENANT_ID``, ``KEY_ID``, …): an example's
``captures`` says where its response holds the real value, which replaces the placeholder in the examples
that follow. ``tests/api/test_openapi_examples_api.py`` sends every example to the real app and checks the
response has the documented shape; :func:`add_examples` publishes them in ``/schema/openapi.json`` (for
every route prefix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from litestar.openapi.spec import Example as OpenAPIExample
from litestar.openapi.spec import OpenAPIResponse, Operation, Parameter, RequestBody

TENANT_ID = "t_3f9a0c2b7d1e4a56"
OTHER_TENANT_ID = "t_8c1e2d3f4a5b6c7d"
KEY_ID = "k_5e6f7a8b9c0d1e2f"
WEBHOOK_ID = "wh_1a2b3c4d5e6f7a8b"
DELIVERY_ID = "dlv_0f1e2d3c4b5a6978"
SIGNUP_STATE = "ss1.eyJ0IjoidF8zZjlhMGMyYjdkMWU0YTU2In0.c2lnbmF0dXJl"
TIME = "2026-02-12T10:00:00Z"
LATER = "2026-02-12T10:05:00Z"
API_KEY = "sk_" + "4f" * 32
#: Where the example subscription delivers (a test points it at a receiver of its own).
WEBHOOK_URL = "https://crm.example.com/hooks/tenants"
WEBHOOK_SECRET = "whsec_" + "QUJD" * 10 + "QUI="


@dataclass(frozen=True)
class Example:
    """One operation's example: the request as sent and the response as documented."""

    operation: str  # "METHOD /path/{param}", the path as under the /tenants prefix (or the route's own)
    summary: str
    status: int
    response: Any  # the JSON body (or text, for text/plain)
    params: dict[str, str] = field(default_factory=dict)  # path parameters
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    captures: dict[str, str] = field(default_factory=dict)  # placeholder → JSON pointer into the response
    eventually: bool = False  # its response depends on background work: a test may repeat it a while
    media_type: str = "application/json"

    @property
    def method(self) -> str:
        return self.operation.split(" ", 1)[0]

    @property
    def template(self) -> str:
        return self.operation.split(" ", 1)[1]

    def path(self) -> str:
        return self.template.format(**self.params)


_T = {"tenant_id": TENANT_ID}

TENANT: dict[str, Any] = {
    "id": TENANT_ID,
    "name": "Acme Corp",
    "email": "admin@acme.com",
    "domain": "acme.com",
    "subdomain": "acme",
    "status": "active",
    "plan": "standard",
    "rateLimit": 100,
    "phoneNumberId": "15550001234",
    "genesysIntegrationId": "intg-001",
    "genesysOrgId": "org-001",
    "genesysOrgName": "Acme",
    "genesysRegion": "mypurecloud.com",
    "settings": {"timezone": "UTC", "language": "en"},
    "metadata": {},
    "whatsappConfigured": False,
    "onboardingCompleted": False,
    "version": 1,
    "createdAt": TIME,
    "updatedAt": TIME,
}
CREATE_BODY = {
    key: TENANT[key]
    for key in (
        "name",
        "email",
        "domain",
        "subdomain",
        "plan",
        "rateLimit",
        "phoneNumberId",
        "genesysIntegrationId",
        "genesysOrgId",
        "genesysOrgName",
        "genesysRegion",
        "settings",
    )
}
UPDATED = {**TENANT, "name": "Acme Corporation", "version": 2, "updatedAt": LATER}
GENESYS = {
    "clientId": "gc-client-0001",
    "clientSecret": "gc-client-secret-0001",
    "region": "mypurecloud.com",
    "integrationId": "intg-001",
    "webhookSecret": "open-messaging-secret-0001",
}
WHATSAPP = {
    "accessToken": "EAAG-system-user-token-0001",
    "phoneNumberId": "15550001234",
    "wabaId": "102290129340398",
    "businessAccountId": "99887766",
    "displayPhoneNumber": "+1 555-000-1234",
    "qualityRating": "GREEN",
}
CHECKS = {
    "ok": True,
    "checks": [{"name": "token", "ok": True, "detail": "Client credentials accepted"}],
    "checkedAt": LATER,
}
WEBHOOK = {
    "id": WEBHOOK_ID,
    "url": WEBHOOK_URL,
    "eventTypes": ["tenant.updated"],
    "tenantId": None,
    "description": "CRM sync",
    "status": "active",
    "createdAt": TIME,
    "updatedAt": TIME,
}

#: In the order a test sends them.
EXAMPLES: list[Example] = [
    Example(
        "POST /tenants",
        "Create a tenant",
        201,
        {"tenant": TENANT, "apiKey": API_KEY, "message": "Tenant created successfully"},
        body=CREATE_BODY,
        captures={TENANT_ID: "/tenant/id"},
    ),
    Example(
        "POST /webhooks",
        "Subscribe a CRM to tenant changes",
        201,
        {**WEBHOOK, "secret": WEBHOOK_SECRET},
        body={"url": WEBHOOK["url"], "eventTypes": WEBHOOK["eventTypes"], "description": WEBHOOK["description"]},
        captures={WEBHOOK_ID: "/id", WEBHOOK_SECRET: "/secret"},
    ),
    Example(
        "GET /tenants",
        "The first page",
        200,
        {"tenants": [TENANT], "total": 1, "limit": 20, "offset": 0, "next": None},
    ),
    Example("GET /tenants/{tenant_id}", "Read a tenant", 200, TENANT, params=_T),
    Example(
        "PATCH /tenants/{tenant_id}",
        "Rename a tenant, if nobody changed it meanwhile",
        200,
        {"tenant": UPDATED, "message": "Tenant updated successfully"},
        params=_T,
        headers={"If-Match": '"1"'},
        body={"name": "Acme Corporation"},
    ),
    Example(
        "GET /tenants/by-phone/{phone_number_id}",
        "The tenant an inbound WhatsApp message is for",
        200,
        {**UPDATED, "tenantId": TENANT_ID},
        params={"phone_number_id": TENANT["phoneNumberId"]},
    ),
    Example(
        "GET /tenants/by-integration/{integration_id}",
        "The tenant of a Genesys Open Messaging integration",
        200,
        {**UPDATED, "tenantId": TENANT_ID},
        params={"integration_id": TENANT["genesysIntegrationId"]},
    ),
    Example(
        "GET /tenants/by-genesys-org/{genesys_org_id}",
        "The tenant of a Genesys Cloud organisation",
        200,
        {**UPDATED, "tenantId": TENANT_ID},
        params={"genesys_org_id": TENANT["genesysOrgId"]},
    ),
    Example(
        "POST /tenants/provision/genesys",
        "First sight of a Genesys organisation",
        201,
        {
            "message": "Tenant provisioned successfully",
            "tenantId": OTHER_TENANT_ID,
            "tenantName": "Globex",
            "isNew": True,
            "onboardingCompleted": False,
        },
        body={"genesysOrgId": "org-002", "genesysOrgName": "Globex", "genesysRegion": "mypurecloud.ie"},
    ),
    Example(
        "PUT /tenants/{tenant_id}/genesys/credentials",
        "Store the Genesys OAuth client and integration",
        200,
        {
            "message": "Genesys credentials updated successfully",
            "tenant": {
                "id": TENANT_ID,
                "name": UPDATED["name"],
                "genesysRegion": "mypurecloud.com",
                "genesysIntegrationId": "intg-001",
            },
        },
        params=_T,
        body=GENESYS,
    ),
    Example(
        "GET /tenants/{tenant_id}/genesys/credentials",
        "The Genesys credentials, masked",
        200,
        {
            "configured": True,
            "clientId": GENESYS["clientId"],
            "clientSecret": "****0001",
            "region": "mypurecloud.com",
            "integrationId": "intg-001",
        },
        params=_T,
    ),
    Example(
        "POST /tenants/{tenant_id}/genesys/credentials/verify",
        "Check the Genesys credentials with Genesys Cloud",
        200,
        CHECKS,
        params=_T,
    ),
    Example(
        "POST /tenants/{tenant_id}/whatsapp",
        "Store the WhatsApp configuration",
        200,
        {
            "config": {
                "configured": True,
                "wabaId": WHATSAPP["wabaId"],
                "phoneNumberId": WHATSAPP["phoneNumberId"],
                "businessAccountId": WHATSAPP["businessAccountId"],
                "displayPhoneNumber": WHATSAPP["displayPhoneNumber"],
                "qualityRating": "GREEN",
                "accessToken": "****0001",
                "verifyToken": None,
                "appSecret": None,
                "pin": None,
                "updatedAt": LATER,
                "health": "unknown",
                "tokenExpiresAt": None,
            },
            "success": True,
        },
        params=_T,
        body=WHATSAPP,
    ),
    Example(
        "GET /tenants/{tenant_id}/whatsapp",
        "The WhatsApp configuration, masked",
        200,
        {
            "configured": True,
            "wabaId": WHATSAPP["wabaId"],
            "phoneNumberId": WHATSAPP["phoneNumberId"],
            "businessAccountId": WHATSAPP["businessAccountId"],
            "displayPhoneNumber": WHATSAPP["displayPhoneNumber"],
            "qualityRating": "GREEN",
            "accessToken": "****0001",
            "verifyToken": None,
            "appSecret": None,
            "pin": None,
            "updatedAt": LATER,
            "health": "unknown",
            "tokenExpiresAt": None,
        },
        params=_T,
    ),
    Example(
        "POST /tenants/{tenant_id}/whatsapp/verify",
        "Check the WhatsApp token and number with Meta",
        200,
        {
            "ok": False,
            "checks": [{"name": "token", "ok": False, "detail": "Meta refused the token: Invalid OAuth access token."}],
            "checkedAt": LATER,
        },
        params=_T,
    ),
    Example(
        "POST /tenants/{tenant_id}/credentials",
        "Store a credential, here with the legacy names older tools send",
        200,
        {"type": "genesys", "message": "genesys credentials stored successfully", "success": True},
        params=_T,
        body={
            "type": "genesys",
            "credentials": {
                "clientId": GENESYS["clientId"],
                "clientSecret": GENESYS["clientSecret"],
                "region": "aps1",
                "openMsgIntegrationId": "intg-001",
                "openMsgSecret": GENESYS["webhookSecret"],
            },
        },
    ),
    Example(
        "GET /tenants/{tenant_id}/credentials/{kind}",
        "Read a credential in clear (an admin asking to reveal; audited)",
        200,
        {
            "type": "genesys",
            "credentials": {**GENESYS, "region": "aps1.pure.cloud"},
            "updatedAt": LATER,
            **GENESYS,
            "region": "aps1.pure.cloud",
        },
        params={**_T, "kind": "genesys"},
        query={"reveal": "true"},
    ),
    Example(
        "GET /tenants/{tenant_id}/credentials/meta",
        "What the WhatsApp services need, in clear",
        200,
        {
            "accessToken": WHATSAPP["accessToken"],
            "phoneNumberId": WHATSAPP["phoneNumberId"],
            "wabaId": WHATSAPP["wabaId"],
            "appSecret": "platform-meta-app-secret",
        },
        params=_T,
    ),
    Example(
        "POST /tenants/{tenant_id}/api-keys",
        "Issue an API key (its secret is shown only here)",
        201,
        {"id": KEY_ID, "apiKey": API_KEY, "prefix": API_KEY[:11], "name": "crm-sync", "createdAt": LATER},
        params=_T,
        body={"name": "crm-sync"},
        captures={KEY_ID: "/id"},
    ),
    Example(
        "GET /tenants/{tenant_id}/api-keys",
        "A tenant's API keys, without secrets",
        200,
        {
            "apiKeys": [
                {"id": KEY_ID, "prefix": API_KEY[:11], "name": "crm-sync", "createdAt": LATER, "lastUsedAt": None}
            ]
        },
        params=_T,
    ),
    Example(
        "DELETE /tenants/{tenant_id}/api-keys/{key_id}",
        "Revoke an API key",
        200,
        {"message": "API key revoked successfully"},
        params={**_T, "key_id": KEY_ID},
    ),
    Example(
        "POST /tenants/{tenant_id}/whatsapp/signup-state",
        "Start WhatsApp Embedded Signup",
        200,
        {"state": SIGNUP_STATE, "expiresAt": "2026-02-12T10:20:00Z"},
        params=_T,
        captures={SIGNUP_STATE: "/state"},
    ),
    Example(
        "POST /whatsapp/signup",
        "Finish Embedded Signup with the code FB.login gave the browser",
        200,
        {
            "tenantId": TENANT_ID,
            "config": {
                "wabaId": "1000100",
                "phoneNumberId": "1550001",
                "displayPhoneNumber": "+1 555-0001",
                "qualityRating": "GREEN",
                "configured": True,
            },
            "message": "WhatsApp signup completed successfully",
        },
        body={"code": "AQB-signup-code", "state": SIGNUP_STATE},
    ),
    Example(
        "POST /tenants/{tenant_id}/complete-onboarding",
        "Mark onboarding as completed",
        200,
        {
            "tenant": {**UPDATED, "whatsappConfigured": True, "onboardingCompleted": True},
            "message": "Onboarding completed successfully",
        },
        params=_T,
        body={"whatsappConfigured": True},
    ),
    Example(
        "GET /tenants/{tenant_id}/audit-log",
        "The latest entry of a tenant's audit log",
        200,
        {
            "events": [
                {
                    "id": 42,
                    "at": LATER,
                    "actor": "admin",
                    "action": "tenant.onboarding_completed",
                    "tenantId": TENANT_ID,
                    "changes": ["onboardingCompleted"],
                    "requestId": "7f3c2a1b9e8d4c6f8a7b6c5d4e3f2a1b",
                }
            ],
            "total": 14,
            "limit": 1,
            "offset": 0,
            "next": "WzQyXQ",
        },
        params=_T,
        query={"limit": "1"},
    ),
    Example(
        "DELETE /tenants/{tenant_id}/credentials/{kind}",
        "Delete the Genesys credential",
        200,
        {"message": "genesys credentials deleted successfully"},
        params={**_T, "kind": "genesys"},
    ),
    Example("GET /webhooks", "Every subscription", 200, {"webhooks": [WEBHOOK]}),
    Example("GET /webhooks/{webhook_id}", "One subscription", 200, WEBHOOK, params={"webhook_id": WEBHOOK_ID}),
    Example(
        "GET /webhooks/{webhook_id}/deliveries",
        "The latest delivery and its attempts",
        200,
        {
            "deliveries": [
                {
                    "id": DELIVERY_ID,
                    "eventId": "0b6c9a2e-4c1f-4f7e-9d1a-5e3b2c1d0f9a",
                    "eventType": "tenant.updated",
                    "sequence": "7",
                    "tenantId": TENANT_ID,
                    "state": "delivered",
                    "attempts": [{"at": LATER, "statusCode": 200, "latencyMs": 84.2, "error": None}],
                    "nextAttemptAt": None,
                    "createdAt": LATER,
                }
            ],
            "next": DELIVERY_ID,
        },
        params={"webhook_id": WEBHOOK_ID},
        query={"limit": "1"},
        captures={DELIVERY_ID: "/deliveries/0/id"},
        eventually=True,
    ),
    Example(
        "POST /webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
        "Deliver again now",
        202,
        {
            "id": DELIVERY_ID,
            "eventId": "0b6c9a2e-4c1f-4f7e-9d1a-5e3b2c1d0f9a",
            "eventType": "tenant.updated",
            "sequence": "7",
            "tenantId": TENANT_ID,
            "state": "pending",
            "attempts": [{"at": LATER, "statusCode": 200, "latencyMs": 84.2, "error": None}],
            "nextAttemptAt": LATER,
            "createdAt": LATER,
        },
        params={"webhook_id": WEBHOOK_ID, "delivery_id": DELIVERY_ID},
    ),
    Example(
        "PATCH /webhooks/{webhook_id}",
        "Pause a subscription",
        200,
        {**WEBHOOK, "status": "disabled", "updatedAt": LATER},
        params={"webhook_id": WEBHOOK_ID},
        body={"status": "disabled"},
    ),
    Example("DELETE /webhooks/{webhook_id}", "Unsubscribe", 204, None, params={"webhook_id": WEBHOOK_ID}),
    Example(
        "GET /events",
        "The feed's first tenant.updated event",
        200,
        {
            "events": [
                {
                    "specversion": "1.0",
                    "id": "0b6c9a2e-4c1f-4f7e-9d1a-5e3b2c1d0f9a",
                    "source": "/tenant-service",
                    "type": "tenant.updated",
                    "subject": TENANT_ID,
                    "time": LATER,
                    "datacontenttype": "application/json",
                    "data": {"tenant": UPDATED, "changedFields": ["name"]},
                    "sequence": "7",
                }
            ],
            "next": "7",
        },
        query={"type": "tenant.updated", "limit": "1"},
    ),
    Example(
        "DELETE /tenants/{tenant_id}",
        "Delete a tenant and everything it owns",
        200,
        {"message": "Tenant deleted successfully"},
        params=_T,
    ),
    Example(
        "GET /health",
        "Healthy",
        200,
        {"status": "healthy", "database": "connected", "redis": "connected", "timestamp": LATER},
    ),
    Example("GET /health/live", "The process runs", 200, {"status": "alive"}),
    Example("GET /health/ready", "Ready for traffic", 200, {"status": "ready"}),
    Example(
        "GET /metrics",
        "Prometheus text",
        200,
        "# HELP tenant_service_http_requests_total HTTP requests by route template and status\n"
        "# TYPE tenant_service_http_requests_total counter\n"
        'tenant_service_http_requests_total{method="GET",route="/tenants/{tenant_id:str}",status="200"} 3.0\n',
        media_type="text/plain",
    ),
]

EXAMPLES_BY_OPERATION: dict[str, Example] = {example.operation: example for example in EXAMPLES}


def operation_key(method: str, path: str) -> str:
    """``GET /api/tenants/{tenant_id}`` → ``GET /tenants/{tenant_id}``: one example serves both prefixes."""
    return f"{method.upper()} {path.removeprefix('/api')}"


def add_examples(app: Litestar) -> None:
    """Publish each operation's example: its request body, parameters and success response."""
    for path, item in (app.openapi_schema.paths or {}).items():
        for method in ("get", "put", "post", "patch", "delete"):
            operation = getattr(item, method)
            example = EXAMPLES_BY_OPERATION.get(operation_key(method, path)) if operation is not None else None
            if example is not None:
                _publish(operation, example)


def _publish(operation: Operation, example: Example) -> None:
    values = {**example.params, **example.query}
    for parameter in operation.parameters or []:
        if isinstance(parameter, Parameter) and parameter.name in values:
            parameter.examples = {"example": OpenAPIExample(summary=example.summary, value=values[parameter.name])}
    if isinstance(operation.request_body, RequestBody) and example.body is not None:
        for media in operation.request_body.content.values():
            media.examples = {"example": OpenAPIExample(summary=example.summary, value=example.body)}
    response = (operation.responses or {}).get(str(example.status))
    if isinstance(response, OpenAPIResponse) and response.content:
        for media in response.content.values():
            media.examples = {"example": OpenAPIExample(summary=example.summary, value=example.response)}
