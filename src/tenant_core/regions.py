"""Genesys Cloud regions: the one table of region hosts, and every spelling of them the platform already uses.

Callers build URLs as ``https://api.${region}`` and ``https://login.${region}``, so a region is stored as its
host (``mypurecloud.com``, ``aps1.pure.cloud``). Older tools and people wrote region keys (``ap_south_1``),
AWS-style names (``ap-south-1``), short codes (``aps1``), full API URLs and even hosts that never existed
(``aps1.mypurecloud.com``); :func:`normalise_region` turns each of those into the canonical host.
"""

from __future__ import annotations

import re

from tenant_core.errors import ValidationFailedError

#: Region key → (host, short code), as published by Genesys' platform SDKs.
_REGIONS: dict[str, tuple[str, str]] = {
    "us_east_1": ("mypurecloud.com", "use1"),
    "us_east_2": ("use2.us-gov-pure.cloud", "use2"),
    "us_west_2": ("usw2.pure.cloud", "usw2"),
    "ca_central_1": ("cac1.pure.cloud", "cac1"),
    "sa_east_1": ("sae1.pure.cloud", "sae1"),
    "eu_west_1": ("mypurecloud.ie", "euw1"),
    "eu_west_2": ("euw2.pure.cloud", "euw2"),
    "eu_central_1": ("mypurecloud.de", "euc1"),
    "eu_central_2": ("euc2.pure.cloud", "euc2"),
    "me_central_1": ("mec1.pure.cloud", "mec1"),
    "ap_south_1": ("aps1.pure.cloud", "aps1"),
    "ap_northeast_1": ("mypurecloud.jp", "apne1"),
    "ap_northeast_2": ("apne2.pure.cloud", "apne2"),
    "ap_northeast_3": ("apne3.pure.cloud", "apne3"),
    "ap_southeast_2": ("mypurecloud.com.au", "apse2"),
}

#: Every canonical region host.
GENESYS_REGIONS: frozenset[str] = frozenset(host for host, _ in _REGIONS.values())

_BY_SPELLING: dict[str, str] = {}
for _key, (_host, _code) in _REGIONS.items():
    _BY_SPELLING[_host] = _host
    _BY_SPELLING[_key] = _host
    _BY_SPELLING[_key.replace("_", "-")] = _host
    _BY_SPELLING[_code] = _host
    # Mistaken hosts seen in the platform's data: a short code under the wrong domain.
    _BY_SPELLING[f"{_code}.mypurecloud.com"] = _host
    _BY_SPELLING[f"{_code}.pure.cloud"] = _host


def _any_case(text: str) -> str:
    """``text`` as a pattern matching it in any letter case (JSON Schema's regexes have no ``(?i)`` flag)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


#: Every accepted spelling as a pattern, so that schemas show what is accepted: each known spelling,
#: optionally as an ``api.``/``login.`` host or an https URL of one, in any case and with surrounding
#: whitespace (:func:`normalise_region` folds both).
SPELLING_PATTERN = (
    rf"^\s*(?:{_any_case('https://')}|{_any_case('http://')})?(?:(?:{_any_case('api')}|{_any_case('login')}|"
    rf"{_any_case('apps')})\.)?(?:"
    + "|".join(_any_case(s) for s in sorted(_BY_SPELLING, key=len, reverse=True))
    + r")/?\s*$"
)

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_SERVICE_PREFIXES = ("api.", "login.", "apps.")

#: What an operator may send, for error messages.
ACCEPTED_FORMS = "a region host (mypurecloud.com), key (us_east_1), AWS name (us-east-1), code (use1) or API URL"


def normalise_region(value: str, field: str = "region") -> str:
    """The canonical host of any known spelling of a region; :class:`ValidationFailedError` otherwise.

    The error's ``details`` list every valid host, so the caller can correct the value.
    """
    text = value.strip().lower()
    text = _SCHEME.sub("", text).split("/", 1)[0].rstrip(".")
    if text in _BY_SPELLING:
        return _BY_SPELLING[text]
    for prefix in _SERVICE_PREFIXES:
        if text.startswith(prefix) and text[len(prefix) :] in _BY_SPELLING:
            return _BY_SPELLING[text[len(prefix) :]]
    if (key := text.replace("-", "_")) in _BY_SPELLING:
        return _BY_SPELLING[key]
    raise ValidationFailedError.for_field(
        field,
        f"is not a Genesys Cloud region; send {ACCEPTED_FORMS}. Valid hosts: {', '.join(sorted(GENESYS_REGIONS))}",
    )
