"""Contract section "WhatsApp": the Embedded Signup state and callback."""

from __future__ import annotations

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from loguru import logger

from tenant_core import Principal
from tenant_core.commands import CompleteSignup
from tenant_core.signup_state import SignupState
from tenant_core.use_cases.signup import WhatsAppSignup


class SignupConfig(msgspec.Struct, rename="camel"):
    """``phoneNumberId`` is ``null`` and ``configured`` false when the signup finished with a WABA only."""

    waba_id: str
    phone_number_id: str | None
    display_phone_number: str | None
    quality_rating: str | None
    configured: bool = True


class SignupCompleted(msgspec.Struct, rename="camel"):
    tenant_id: str
    config: SignupConfig
    message: str = "WhatsApp signup completed successfully"


class SignupStateController(Controller):
    path = "/{tenant_id:str}/whatsapp/signup-state"
    tags = ["WhatsApp"]

    @post("/", status_code=200, summary="Issue a signed, single-use signup state (valid 15 minutes)")
    async def issue(
        self, tenant_id: FromPath[str], signup: NamedDependency[WhatsAppSignup], principal: NamedDependency[Principal]
    ) -> SignupState:
        return await signup.start(principal, tenant_id)


class SignupCallbackController(Controller):
    tags = ["WhatsApp"]

    @post(
        "/signup",
        status_code=200,
        summary="Complete WhatsApp Embedded Signup with Meta's code and a signup state",
        opt={"auth": "optional"},
        security=[{}],
    )
    async def complete(
        self,
        data: JSONBody[CompleteSignup],
        signup: NamedDependency[WhatsAppSignup],
        optional_principal: NamedDependency[Principal | None],
    ) -> SignupCompleted:
        result = await signup.complete(optional_principal, data)
        logger.info("WhatsApp signup completed", tenant_id=result.tenant_id, waba_id=result.credentials.waba_id)
        creds = result.credentials
        config = SignupConfig(
            creds.waba_id,
            creds.phone_number_id,
            creds.display_phone_number,
            creds.quality_rating,
            configured=creds.phone_number_id is not None,
        )
        return SignupCompleted(tenant_id=result.tenant_id, config=config)
