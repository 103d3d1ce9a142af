"""Several JWT secrets at once (``JWT_SECRETS``): the first signs with its ``kid``, a ``kid`` picks its secret,
a token without one is verified by whichever configured secret signed it, and a removed secret's tokens stop."""

from __future__ import annotations

import base64
import time

import jwt
import pytest

from tenant_adapters.crypto import parse_keys
from tenant_adapters.jwt import JwtTokens, parse_jwt_secrets
from tenant_core import AuthenticationFailedError, Principal, Role
from tenant_entrypoints.config import Config, ConfigError

OLD, NEW = "old-secret-" + "o" * 32, "new-secret-" + "n" * 32
ADMIN = Principal("ops", Role.ADMIN)
KEY = bytes(range(32))  # fixed: parameters name it, and every xdist worker must collect the same ids


def _kidless(secret: str, **claims: object) -> str:
    """A token as the platform's services mint it: the shared secret, no kid."""
    now = int(time.time())
    return jwt.encode({"sub": "billing", "role": "service", "iat": now, "exp": now + 60, **claims}, secret, "HS256")


def test_the_first_secret_signs_and_names_itself():
    token = JwtTokens({"new": NEW, "old": OLD}).issue(ADMIN)
    assert jwt.get_unverified_header(token)["kid"] == "new"
    assert jwt.decode(token, NEW, algorithms=["HS256"])["sub"] == "ops"


def test_a_token_of_the_old_secret_works_while_both_are_configured_and_stops_when_it_is_removed():
    old_token = JwtTokens({"old": OLD}).issue(ADMIN)
    assert JwtTokens({"new": NEW, "old": OLD}).verify(old_token).subject == "ops"
    with pytest.raises(AuthenticationFailedError):
        JwtTokens({"new": NEW}).verify(old_token)


def test_a_kid_picks_its_secret_and_an_unknown_kid_is_refused():
    """A token is checked against the secret its kid names only: one signed by another configured secret, or
    naming a kid that is not configured, is refused."""
    both = JwtTokens({"new": NEW, "old": OLD})
    forged = jwt.encode({"sub": "x", "role": "admin", "exp": int(time.time()) + 60}, OLD, "HS256", {"kid": "new"})
    unknown = jwt.encode({"sub": "x", "role": "admin", "exp": int(time.time()) + 60}, OLD, "HS256", {"kid": "gone"})
    for token in (forged, unknown):
        with pytest.raises(AuthenticationFailedError):
            both.verify(token)


def test_tokens_without_a_kid_are_verified_by_any_configured_secret():
    """The platform's services keep minting with the shared secret and no kid during a rotation."""
    both = JwtTokens({"new": NEW, "old": OLD})
    assert both.verify(_kidless(OLD)).subject == "billing"
    assert both.verify(_kidless(NEW)).subject == "billing"
    with pytest.raises(AuthenticationFailedError):
        JwtTokens({"new": NEW}).verify(_kidless(OLD))
    with pytest.raises(AuthenticationFailedError):  # expired: refused, not retried with the next secret
        both.verify(_kidless(OLD, exp=int(time.time()) - 60))


def test_one_secret_behaves_as_before():
    """``JWT_SECRET`` alone: tokens carry no kid, and a kid sent is ignored."""
    tokens = JwtTokens(OLD)
    assert "kid" not in jwt.get_unverified_header(tokens.issue(ADMIN))
    with_kid = jwt.encode({"sub": "x", "role": "admin", "exp": int(time.time()) + 60}, OLD, "HS256", {"kid": "any"})
    assert tokens.verify(with_kid).subject == "x"


def test_jwt_secrets_are_parsed_in_order():
    assert list(parse_jwt_secrets(f" new = {NEW} , old={OLD}=tail ").items()) == [("new", NEW), ("old", OLD + "=tail")]


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"JWT_SECRETS": f"new={NEW}", "JWT_SECRET": OLD}, "not both"),
        ({"JWT_SECRETS": "new=short"}, "at least 32"),
        ({"JWT_SECRETS": f"new={NEW},new={OLD}"}, "entry 2 repeats the kid"),
        ({"JWT_SECRETS": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0=="}, "entry 1"),  # a secret without its kid
        ({"JWT_SECRETS": NEW}, "kid=secret"),
        ({"JWT_SECRETS": f"bad kid={NEW}"}, "kid=secret"),
    ],
)
def test_bad_jwt_secrets_are_refused_at_start_up(env, says):
    with pytest.raises(ConfigError, match="JWT_SECRET") as refused:
        Config.from_env(env)
    assert says in str(refused.value) and NEW not in str(refused.value) and "c2Vj" not in str(refused.value)


def test_the_configuration_gives_every_secret_and_signs_with_the_first(tmp_path):
    config = Config.from_env({"JWT_SECRETS": f"new={NEW},old={OLD}", "TENANT_SERVICE_DATA_DIR": str(tmp_path)})
    assert config.jwt_keys() == {"new": NEW, "old": OLD} and config.signing_secret() == NEW
    assert not (tmp_path / "jwt-secret").exists()  # nothing generated when secrets are configured
    single = Config.from_env({"JWT_SECRET": OLD})
    assert single.jwt_keys() == OLD == single.signing_secret()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no {plural} given"),
        (" , ,", "no {plural} given"),
        ("{value}", "entry 1 must be {entry}"),  # a value without its name
        ("a={value},bad name={value}", "entry 2 must be {entry}"),
        ("a={value}, a ={value}", "entry 2 repeats the {name}"),
    ],
)
@pytest.mark.parametrize(
    ("parse", "entry", "plural", "value"),
    [
        (parse_jwt_secrets, "kid=secret", "secrets", NEW),
        (parse_keys, "id=base64key", "keys", base64.b64encode(KEY).rstrip(b"=").decode()),
    ],
)
def test_both_lists_of_named_secrets_share_one_format(parse, entry, plural, value, text, says):
    """``JWT_SECRETS`` and ``CREDENTIALS_KEYS`` are read by one rule, and refusals never echo an entry."""
    with pytest.raises(ValueError) as refused:
        parse(text.format(value=value))
    assert str(refused.value).startswith(says.format(plural=plural, entry=entry, name=entry.split("=")[0]))
    assert value not in str(refused.value)
