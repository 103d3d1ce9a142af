"""The ceiling: a bare Litestar app that returns a msgspec Struct from a Python dict, nothing else.

Run by bench/run.py under granian with the same worker count and load as the real service.
"""

from __future__ import annotations

import msgspec
from litestar import Litestar, get
from litestar.params import FromPath


class Resolved(msgspec.Struct, rename="camel"):
    id: str
    tenant_id: str
    name: str
    email: str
    status: str
    phone_number_id: str
    genesys_integration_id: str
    genesys_org_id: str
    rate_limit: int
    version: int


TENANTS = {
    f"1555{i:07d}": Resolved(
        f"t_{i:016x}",
        f"t_{i:016x}",
        f"Tenant {i}",
        f"admin{i}@example.com",
        "active",
        f"1555{i:07d}",
        f"intg-{i}",
        f"org-{i}",
        100,
        1,
    )
    for i in range(10_000)
}


@get("/tenants/by-phone/{phone_number_id:str}")
async def by_phone(phone_number_id: FromPath[str]) -> Resolved:
    return TENANTS[phone_number_id]


app = Litestar(route_handlers=[by_phone], logging_config=None)
