"""Every parser of client text is total: any input gives a value or the core's documented error, nothing else.

Property tests (hypothesis) over arbitrary Unicode (lone surrogates included), control characters, huge
integers, boundary dates and near-miss variants of valid values. The budget is fixed and the search
derandomized, so every run (and CI) tries the same inputs and the module takes a few seconds; raise
``max_examples`` locally (``HYPOTHESIS_PROFILE=deep``) to dig deeper.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenant_adapters.memory import InMemoryCache, InMemoryStorage, InMemoryWebhookSender
from tenant_core import (
    SYSTEM,
    CompleteSignup,
    CreateTenant,
    CredentialType,
    EventFeed,
    InvalidSignupStateError,
    ManualClock,
    NewWebhook,
    NotFoundError,
    ProvisionGenesys,
    SignupStateCodec,
    TenantCache,
    TenantDirectory,
    TenantResolver,
    UpdateTenant,
    ValidationFailedError,
    WebhookSubscriptions,
    parse_webhook_url,
)
from tenant_core.commands import EXTERNAL_ID, TENANT_ID
from tenant_core.credential_registry import credential_policy
from tenant_core.paging import MAX_PAGE_SIZE, audit_position, decode_cursor, feed_position, page_window, tenant_position
from tenant_core.regions import GENESYS_REGIONS, normalise_region
from tenant_core.validation import normalise_email, validated
from tenant_entrypoints.http.routes.tenants import expected_version

settings.register_profile(
    "parsers",
    max_examples=150,
    derandomize=True,  # the same inputs on every run: a failure here is a regression, not bad luck
    database=None,  # nothing written to .hypothesis/
    deadline=None,  # a loaded CI machine must not turn slowness into failures
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("deep", parent=settings.get_profile("parsers"), max_examples=5_000, derandomize=False)
_CLOCK = ManualClock(datetime(2026, 2, 12, 10, 0, tzinfo=UTC))
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "parsers"))

# --- Strategies: what a hostile client sends ---------------------------------------------------------------

#: Any code point, surrogates and control characters included.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=80)
control_text = st.text(st.characters(max_codepoint=0x9F, exclude_categories=()), max_size=20)
#: Integers around the edges of the columns and types they end up in (int32, bigint, uint64), and far past them.
_EDGES = [0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**19 - 1, 10**19, -(2**63), -(2**63) - 1]
huge_integers = st.one_of(
    st.sampled_from(_EDGES),
    st.integers(min_value=2**63 - 2, max_value=10**19 + 2),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70),
    st.integers(max_value=-(2**62)),
)
#: Datetimes from year 1 to 9999 in every offset up to ±23:59, as ISO text: the edges of the calendar.
zones = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
boundary_dates = st.builds(lambda d, z: d.replace(tzinfo=z).isoformat(), st.datetimes(), zones)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), huge_integers, st.floats(allow_nan=False), any_text, boundary_dates),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(any_text, children, max_size=3)),
    max_leaves=8,
)


def near_misses(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Valid values with something inserted, appended or prepended: whitespace, control characters, Unicode."""
    return st.builds(
        lambda value, junk, where: value[:where] + junk + value[where:] if where <= len(value) else value + junk,
        valid,
        st.one_of(control_text, any_text, st.sampled_from([" ", "\n", "\t", "\u00a0", "\u200b", "\uff10"])),
        st.integers(min_value=0, max_value=80),
    )


def hostile(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(any_text, control_text, huge_integers.map(str), boundary_dates, valid, near_misses(valid))


def cursor_of(values: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """A cursor as this service encodes them (base64url JSON), of whatever values."""
    return values.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).rstrip(b"=").decode())


cursors = st.one_of(
    hostile(st.just("WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwidF8xIl0")),
    cursor_of(json_values),
    cursor_of(st.lists(st.one_of(boundary_dates, huge_integers, any_text), min_size=1, max_size=3)),
    cursor_of(st.tuples(boundary_dates, any_text).map(list)),  # a tenant cursor's shape, at the calendar's edges
    cursor_of(st.tuples(huge_integers).map(list)),  # an audit cursor's shape
    st.builds(lambda n: "[" * n, st.integers(min_value=1, max_value=5000)).map(
        lambda text: base64.urlsafe_b64encode(text.encode()).decode()
    ),
)
ids = hostile(st.from_regex(EXTERNAL_ID.pattern, fullmatch=False))
emails = hostile(st.emails().map(str))
domains = hostile(st.from_regex(r"\A[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,3}\.[a-z]{2,6}\Z"))
regions = hostile(
    st.sampled_from(sorted(GENESYS_REGIONS) + ["us_east_1", "us-east-1", "aps1", "https://api.mypurecloud.de"])
)
urls = hostile(
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
        st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
        st.one_of(
            st.from_regex(r"\A[a-z0-9-]{1,70}(\.[a-z0-9-]{1,70}){0,3}\Z"),
            st.ip_addresses().map(lambda a: f"[{a}]" if a.version == 6 else str(a)),
            any_text,
        ),
        st.one_of(st.just(""), huge_integers.map(lambda n: f":{n}"), any_text.map(lambda t: f":{t}")),
        st.one_of(st.just(""), any_text.map(lambda t: "/" + t)),
    )
)


def run(coroutine: Any) -> Any:
    return asyncio.new_event_loop().run_until_complete(coroutine)


def _outcome(call: Any, *errors: type[Exception]) -> Any:
    """The call's value, or ``None`` when it raised one of ``errors``: anything else fails the property."""
    try:
        return call()
    except (ValidationFailedError, *errors):
        return None


# --- Cursors, positions, limits and offsets ----------------------------------------------------------------


@PROFILE
@given(cursors)
def test_tenant_cursors_give_a_utc_position_or_a_validation_error(cursor):
    position = _outcome(lambda: tenant_position(cursor))
    if position is not None:
        created_at, row_id = position
        assert created_at.tzinfo is UTC and isinstance(row_id, str) and "\x00" not in row_id


@PROFILE
@given(cursors)
def test_audit_cursors_give_a_bigint_or_a_validation_error(cursor):
    position = _outcome(lambda: audit_position(cursor))
    assert position is None or 0 <= position < 2**63
    _outcome(lambda: decode_cursor(cursor))


@PROFILE
@given(hostile(huge_integers.map(str)))
def test_feed_positions_give_a_bigint_or_a_validation_error(after):
    position = _outcome(lambda: feed_position(after))
    assert position is None or 0 <= position < 2**63


@PROFILE
@given(huge_integers, huge_integers, st.none() | any_text)
def test_limits_and_offsets_give_a_bounded_window_or_a_validation_error(limit, offset, after):
    window = _outcome(lambda: page_window(limit, offset, after))
    assert window is None or (1 <= window[0] <= MAX_PAGE_SIZE and 0 <= window[1] <= 1_000_000)


@PROFILE
@given(
    st.none() | hostile(huge_integers.map(str)), huge_integers, st.none() | st.lists(hostile(st.just("tenant.created")))
)
def test_the_feed_reads_or_refuses_any_cursor_limit_and_event_types(after, limit, types):
    """Through the use case: a page, a validation error, or CURSOR_EXPIRED for a position before retention."""
    from tenant_core import CursorExpiredError

    feed = EventFeed(InMemoryStorage())
    _outcome(lambda: run(feed.read(SYSTEM, after, limit, types)), CursorExpiredError)


# --- Ids and routing keys ----------------------------------------------------------------------------------


@PROFILE
@given(ids)
def test_routing_keys_are_matched_whole(value):
    """Whatever the id patterns accept has no surrounding whitespace and no line break anywhere."""
    for pattern in (EXTERNAL_ID, TENANT_ID):
        if pattern.match(value):
            assert value == value.strip() and "\n" not in value and value.isascii()


@PROFILE
@given(st.sampled_from(["phone", "integration", "genesys-org"]), ids)
def test_resolution_finds_a_tenant_refuses_the_key_or_finds_none(lookup, value):
    resolver = TenantResolver(InMemoryStorage().tenants, TenantCache(InMemoryCache()))
    _outcome(lambda: run(resolver.resolve(SYSTEM, lookup, value)), NotFoundError)


@PROFILE
@given(ids, hostile(st.just("Acme")), regions)
def test_provisioning_commands_validate_to_a_value_or_a_validation_error(org_id, org_name, region):
    command = ProvisionGenesys(genesys_org_id=org_id, genesys_org_name=org_name, genesys_region=region)
    checked = _outcome(lambda: validated(command))
    if checked is not None:
        assert EXTERNAL_ID.match(checked.genesys_org_id) and checked.genesys_region in GENESYS_REGIONS


@PROFILE
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "name": hostile(st.just("Acme")),
            "email": emails,
            "domain": domains,
            "subdomain": hostile(st.just("acme")),
            "phone_number_id": ids,
            "genesys_integration_id": ids,
            "genesys_org_id": ids,
            "genesys_region": regions,
            "rate_limit": huge_integers,
            "metadata": st.dictionaries(any_text, json_values, max_size=3),
        },
    )
)
def test_tenant_commands_validate_to_a_value_or_a_validation_error(fields):
    _outcome(lambda: validated(UpdateTenant(**fields)))
    _outcome(lambda: validated(CreateTenant(name=fields.get("name", "Acme"), email=fields.get("email", "a@b.co"))))


# --- E-mails, domains, regions -----------------------------------------------------------------------------


@PROFILE
@given(emails)
def test_emails_normalise_to_one_ascii_form_or_a_validation_error(email):
    stored = _outcome(lambda: normalise_email(email))
    if stored is not None:
        assert stored.isascii() and stored.count("@") == 1 and normalise_email(stored) == stored


@PROFILE
@given(regions)
def test_regions_normalise_to_a_known_host_or_a_validation_error(region):
    host = _outcome(lambda: normalise_region(region))
    assert host is None or host in GENESYS_REGIONS


@PROFILE
@given(
    st.sampled_from(list(CredentialType)),
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"clientId": hostile(st.just("c")), "clientSecret": any_text, "region": regions},
            optional={"integrationId": ids, "openMsgSecret": any_text},
        ),
        st.fixed_dictionaries(
            {"accessToken": any_text, "wabaId": ids}, optional={"phoneNumberId": ids, "phone_number_id": ids}
        ),
    ),
)
def test_credentials_parse_to_a_value_or_a_validation_error(kind, data):
    _outcome(lambda: credential_policy(kind).parse(data))


# --- Webhook URLs and event types --------------------------------------------------------------------------


@PROFILE
@given(urls)
def test_webhook_urls_parse_to_a_target_or_a_validation_error(url):
    target = _outcome(lambda: parse_webhook_url(url))
    if target is not None:
        assert target.scheme in ("http", "https") and 1 <= target.port <= 65535
        assert target.netloc.isascii() and target.target.startswith("/") and target.target.isascii()


@PROFILE
@given(urls, st.lists(hostile(st.just("tenant.created")), max_size=3), st.none() | ids, st.none() | any_text)
def test_webhook_subscriptions_are_created_or_refused_with_a_validation_error(url, types, tenant_id, description):
    from tenant_adapters.crypto import AesGcmCipher

    storage = InMemoryStorage()
    directory = TenantDirectory(storage.tenants, TenantCache(InMemoryCache()))
    cipher = AesGcmCipher({"a": b"k" * 32})
    subscriptions = WebhookSubscriptions(storage, cipher, InMemoryWebhookSender(), directory, _CLOCK)
    _outcome(lambda: run(subscriptions.create(SYSTEM, NewWebhook(url, types, tenant_id, description))))


# --- If-Match and signup state -----------------------------------------------------------------------------


@PROFILE
@given(st.none() | hostile(huge_integers.map(lambda n: f'"{n}"')))
def test_if_match_gives_a_version_or_a_validation_error(header):
    version = _outcome(lambda: expected_version(header))
    assert version is None or 0 <= version < 2**63


@PROFILE
@given(hostile(st.just("ss1.eyJ0IjoidF8xIn0.c2ln")), hostile(st.just("code")))
def test_signup_states_verify_or_are_invalid(state, code):
    codec = SignupStateCodec(b"secret", _CLOCK)
    _outcome(lambda: codec.verify(state), InvalidSignupStateError)
    _outcome(lambda: validated(CompleteSignup(code=code, state=state)))


@PROFILE
@given(json_values)
def test_signed_states_with_any_claims_verify_or_are_invalid(claims):
    """A correctly signed state whose claims are anything at all (huge expiry, wrong types)."""
    codec = SignupStateCodec(b"secret", _CLOCK)
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    state = f"ss1.{payload}.{codec._sign(payload)}"
    _outcome(lambda: codec.verify(state), InvalidSignupStateError)


def test_the_property_budget_is_fixed_and_deterministic():
    """CI runs the same examples every time: a red run is a regression, never a lucky draw."""
    profile = settings.get_profile("parsers")
    assert profile.derandomize and profile.database is None and profile.max_examples <= 200
