"""Input checks shared by every use case, and the translation of msgspec's messages into field problems."""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from typing import Any, TypeVar

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
    "type": "must be known event types, comma-separated",
    "If-Match": 'must be a version as sent in ETag, such as "3"',
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
    """``command`` exactly as the HTTP layer would have decoded it from JSON, checked by the semantic rules.

    A Struct built in Python skips msgspec's checks (they run on decoding, not construction), so
    ``UpdateTenant(status="suspended")`` holds a plain string where the rules expect
    :class:`~tenant_core.entities.TenantStatus`. Use cases call this on every input: the command is encoded
    to JSON and decoded back by :func:`checked_json`, the very step that HTTP bodies go through, so an
    in-process caller gets the same values, or the same 400-class errors, as an HTTP caller sending the
    same payload (``"100"`` is not a number; ``"suspended"`` becomes the enum; NUL is refused).
    """
    try:
        body = msgspec.json.encode(command)
    except UnicodeEncodeError:  # lone surrogates: no JSON text carries them
        refuse_unstorable_text(msgspec.to_builtins(command))  # names the field
        raise
    except TypeError as exc:  # a value JSON has no form for (an arbitrary object)
        raise ValidationFailedError.for_field("body", f"holds a value that is not JSON: {exc}") from None
    return normalised(_checked_settings(checked_json(msgspec.json.decode(body), type(command))))


def checked_json(value: Any, kind: Any) -> Any:
    """A decoded JSON body as ``kind``: no NUL in any text, then msgspec's strict rules (no text for numbers
    or booleans) with ``kind``'s constraints. HTTP bodies and :func:`validated` commands both pass here."""
    refuse_unstorable_text(value)
    try:
        return msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as exc:
        problem = problem_from_msgspec(str(exc))
        raise ValidationFailedError(f"Invalid {problem.field}: {problem.message}", [problem]) from None


def refuse_unstorable_text(value: Any, where: str = "") -> None:
    """Refuse NUL (``\\u0000``, which no text column can store) and lone surrogates (which no UTF-8 text can
    carry: JSON decoding refuses them, so only in-process callers can send them) in any string or key."""
    if (found := _bad_text(value, where.rstrip("."))) is not None:
        field, message = found
        raise ValidationFailedError.for_field(field, message)


def _bad_text(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        return (path or "body", _text_problem(value)) if _text_problem(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _text_problem(key):
                return path or "body", _text_problem(key)
            if (found := _bad_text(item, f"{path}.{key}" if path else str(key))) is not None:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if (found := _bad_text(item, f"{path}[{index}]")) is not None:
                return found
    return None


def _text_problem(text: str) -> str:
    if "\x00" in text:
        return "must not contain NUL (\\u0000) characters"
    if not text.isascii() and any("\ud800" <= c <= "\udfff" for c in text):
        return "must be valid Unicode text (no lone surrogates)"
    return ""


def _checked_settings(command: T) -> T:
    settings = getattr(command, "settings", None)
    if isinstance(settings, Settings):
        check_settings(settings)
    return command


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
