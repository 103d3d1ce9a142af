"""The core's input rules, each where it lives: regions, e-mails, paging, signup states, who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenant_core import (
    SYSTEM,
    ForbiddenError,
    InvalidSignupStateError,
    ManualClock,
    Permission,
    Principal,
    Role,
    SignupStateCodec,
    TenantSuspendedError,
    ValidationFailedError,
)
from tenant_core.paging import MAX_OFFSET, MAX_PAGE_SIZE, audit_position, encode_cursor, page_window
from tenant_core.regions import GENESYS_REGIONS, normalise_region
from tenant_core.security import ROLE_PERMISSIONS, SUSPENDED_PERMISSIONS
from tenant_core.validation import normalise_email


@pytest.mark.parametrize("host", sorted(GENESYS_REGIONS))
def test_every_region_host_and_its_api_url_stand_for_themselves(host):
    assert normalise_region(host) == host
    assert normalise_region(f"https://api.{host}/") == host
    assert normalise_region(f"login.{host}".upper()) == host


@pytest.mark.parametrize(
    ("spelling", "host"),
    [("us_east_1", "mypurecloud.com"), ("us-east-1", "mypurecloud.com"), ("use1", "mypurecloud.com"),
     ("eu-central-1", "mypurecloud.de"), ("apse2", "mypurecloud.com.au"), ("aps1.mypurecloud.com", "aps1.pure.cloud"),
     (" APS1 ", "aps1.pure.cloud")],
)  # fmt: skip
def test_region_keys_aws_names_codes_and_known_mistakes_map_to_hosts(spelling, host):
    assert normalise_region(spelling) == host


@pytest.mark.parametrize("nonsense", ["mars-1", "purecloud.example", "api.example.com", "", "mypurecloud.com.evil"])
def test_an_unknown_region_lists_the_valid_hosts(nonsense):
    with pytest.raises(ValidationFailedError) as refused:
        normalise_region(nonsense)
    assert refused.value.details[0].field == "region" and "mypurecloud.ie" in refused.value.details[0].message


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("Admin@Acme.COM", "Admin@acme.com"),
        ("admin@ａcme.com", "admin@acme.com"),
        ("ops@bücher.de", "ops@xn--bcher-kva.de"),
    ],
)
def test_emails_have_one_stored_form(sent, stored):
    assert normalise_email(sent) == stored


@pytest.mark.parametrize(
    "hidden", ["ad\u200bmin@acme.com", "a\u0307dmin@acme.com", "admin\u00ad@acme.com", "a＠b@c.com"]
)
def test_emails_with_hidden_or_look_alike_characters_are_refused(hidden):
    with pytest.raises(ValidationFailedError):
        normalise_email(hidden)


def test_page_window_clamps_the_size_and_bounds_the_offset():
    assert page_window(1000, 0) == (MAX_PAGE_SIZE, 0)
    assert page_window(5, MAX_OFFSET) == (5, MAX_OFFSET)
    for limit, offset in ((0, 0), (1, -1), (1, MAX_OFFSET + 1)):
        with pytest.raises(ValidationFailedError):
            page_window(limit, offset)


def test_audit_cursors_carry_one_event_id():
    assert audit_position(encode_cursor(42)) == 42
    for foreign in (encode_cursor("42"), encode_cursor(1, 2), encode_cursor(True), "%%%"):
        with pytest.raises(ValidationFailedError):
            audit_position(foreign)


def test_signup_states_are_signed_bound_and_expire():
    clock = ManualClock(datetime(2026, 5, 1, tzinfo=UTC))
    codec = SignupStateCodec(b"secret", clock)
    state = codec.issue("t_1234567890abcdef").state
    assert codec.verify(state).tenant_id == "t_1234567890abcdef"
    prefix, payload, signature = state.split(".")
    for forged in (
        f"{prefix}.{payload}.{signature[:-2]}AA",  # another signature
        f"{prefix}.{payload}.{'é' * len(signature)}",  # a non-ASCII one
        SignupStateCodec(b"other secret", clock).issue("t_1234567890abcdef").state,  # another service's
        "ss1.onlytwo",
    ):
        with pytest.raises(InvalidSignupStateError):
            codec.verify(forged)
    clock.advance(timedelta(minutes=15))
    with pytest.raises(InvalidSignupStateError):
        codec.verify(state)


def test_tenant_principals_act_on_themselves_only_and_suspended_ones_only_read():
    own = Principal(subject="k", role=Role.TENANT, tenant_id="t_a")
    own.require(Permission.TENANTS_UPDATE, "t_a")
    with pytest.raises(ForbiddenError):
        own.require(Permission.TENANTS_UPDATE, "t_b")
    with pytest.raises(ForbiddenError):
        own.require(Permission.TENANTS_LIST)  # tenant-less operations are never a tenant's
    suspended = Principal(subject="k", role=Role.TENANT, tenant_id="t_a", suspended=True)
    suspended.require(Permission.TENANTS_READ, "t_a")
    for permission in ROLE_PERMISSIONS[Role.TENANT] - SUSPENDED_PERMISSIONS:
        with pytest.raises(TenantSuspendedError):
            suspended.require(permission, "t_a")


def test_services_read_and_resolve_but_never_write():
    service = Principal(subject="router", role=Role.SERVICE)
    for permission in (Permission.TENANTS_RESOLVE, Permission.CREDENTIALS_REVEAL, Permission.TENANTS_PROVISION):
        service.require(permission, "t_a")
    for permission in (Permission.TENANTS_UPDATE, Permission.CREDENTIALS_WRITE, Permission.API_KEYS_MANAGE):
        with pytest.raises(ForbiddenError):
            service.require(permission, "t_a")
    assert ROLE_PERMISSIONS[SYSTEM.role] == frozenset(Permission)
