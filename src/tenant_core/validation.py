"""Input checks shared by every use case, and the translation of msgspec's messages into field problems."""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from typing import TypeVar

import msgspec

from tenant_core.entities import Settings
from tenant_core.errors import FieldProblem, ValidationFailedError
from tenant_core.regions import ACCEPTED_FORMS, GENESYS_REGIONS, normalise_region

T = TypeVar("T", bound=msgspec.Struct)

_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{4})?(-([A-Z]{2}|[0-9]{3}))?$")
_AT_PATH = re.compile(r" - at `\$((?:\.[^`]*|\[\d+\])*)`$")
_NAMED_FIELD = re.compile(r"field `([^`]+)`")
_PATTERN_FAILURE = re.compile(r"^Expected `str` matching regex .*$")
_REGION_HINT = (
    f"is not a Genesys Cloud region; send {ACCEPTED_FORMS}. Valid hosts: {', '.join(sorted(GENESYS_REGIONS))}"
)
_FORMAT_HINTS = {
    "email": "must be a valid e-mail address, with ASCII characters before the @",
    "domain": "must be a domain name such as acme.com",
    "subdomain": "must be a lowercase slug of a-z, 0-9 and '-'",
    "name": "must not be blank",
    "genesysOrgName": "must not be blank",
    "genesysRegion": _REGION_HINT,
    "region": _REGION_HINT,
    "language": "must be a language tag such as en or pt-BR",
}


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def problem_from_msgspec(message: str) -> FieldProblem:
    """Turn msgspec's ``Expected `int`, got `str` - at `$.rateLimit``` into ``FieldProblem("rateLimit", ...)``."""
    path = ""
    if match := _AT_PATH.search(message):
        path = match.group(1).lstrip(".")
        message = message[: match.start()]
    if named := _NAMED_FIELD.search(message):  # missing or unknown field: name it, under its parent path
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    if _PATTERN_FAILURE.match(message):  # a regex means nothing to a caller; say what is expected
        message = _FORMAT_HINTS.get(path.rsplit(".", 1)[-1], "has an invalid format (letters, digits and . _ : - only)")
    return FieldProblem(field=path or "body", message=message)


def validated(command: T) -> T:
    """Check ``command`` against its type's constraints and the semantic rules; return it unchanged.

    Use cases call this on every input, so in-process callers that build Structs by hand get the same
    400-class errors as HTTP callers.
    """
    try:
        msgspec.convert(msgspec.to_builtins(command), type(command))
    except msgspec.ValidationError as exc:
        problem = problem_from_msgspec(str(exc))
        raise ValidationFailedError(f"Invalid {problem.field}: {problem.message}", [problem]) from None
    settings = getattr(command, "settings", None)
    if isinstance(settings, Settings):
        check_settings(settings)
    return normalised(command)


def normalised(command: T) -> T:
    """The command with values that have several spellings in their one stored form (regions, e-mails)."""
    changes = {}
    if isinstance(region := getattr(command, "genesys_region", None), str):
        changes["genesys_region"] = normalise_region(region, "genesysRegion")
    if isinstance(email := getattr(command, "email", None), str):
        changes["email"] = normalise_email(email)
    return msgspec.structs.replace(command, **changes) if changes else command


def check_settings(settings: Settings) -> None:
    problems = []
    if settings.timezone is not None and settings.timezone not in _zones():
        problems.append(FieldProblem("settings.timezone", "must be an IANA time zone name such as Europe/Lisbon"))
    if settings.language is not None and not _LANGUAGE_TAG.match(settings.language):
        problems.append(FieldProblem("settings.language", "must be a language tag such as en or pt-BR"))
    if problems:
        raise ValidationFailedError("Invalid settings", problems)


# Characters that render as nothing or as part of their neighbour: a look-alike address could hide them.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Mn", "Me", "Zs", "Zl", "Zp"})


def normalise_email(email: str) -> str:
    """One stored form per mailbox, so look-alikes cannot make separate tenants.

    NFKC folds compatibility forms (full-width ``ａ`` → ``a``); invisible, format and combining characters are
    refused; the local part must then be ASCII, and the domain is compared in its IDNA (punycode) form.
    """
    text = unicodedata.normalize("NFKC", email.strip())
    if any(unicodedata.category(c) in _INVISIBLE_CATEGORIES for c in text):
        raise ValidationFailedError.for_field("email", "must not contain invisible, format or combining characters")
    local, _, domain = text.rpartition("@")
    if not local or "@" in local or not local.isascii():
        raise ValidationFailedError.for_field("email", "must use ASCII characters before the @")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValidationFailedError.for_field("email", "must have a valid domain name after the @") from None
    return f"{local}@{ascii_domain}"
