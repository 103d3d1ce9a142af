"""One tenant's Genesys and WhatsApp credentials, and the Genesys org they belong to, for the connection tests."""

from __future__ import annotations

from tenant_core import GenesysOrganization

REGION = "mypurecloud.ie"
ORG = GenesysOrganization("org-1111", "Acme EU")
TOKEN = "EAAG-stored-token"
GENESYS = {"clientId": "client-1", "clientSecret": "secret-1", "region": REGION, "integrationId": "int-1"}
WHATSAPP = {"accessToken": TOKEN, "phoneNumberId": "1001", "wabaId": "100"}
