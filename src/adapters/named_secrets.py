"""The one format of a list of named secrets in a setting: ``name=value,name2=value2``, the first one current.

``CREDENTIALS_KEYS`` (``id=base64key``) and ``JWT_SECRETS`` (``kid=secret``) are written this way: names are
letters, digits, ``.``, ``_`` or ``-`` (at most 64) and unique; spaces around parts are ignored; values may hold
``=`` but not ``,``. Errors name entries by their position, never by their text: a mistyped entry may be a secret.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def named_entries(text: str, entry: str, plural: str) -> list[tuple[int, str, str]]:
    """``(position, name, value)`` of each entry of ``text``, in order, names checked. ``entry`` shows the form
    in errors (``kid=secret``) and ``plural`` what a list holds (``secrets``); values are the caller's to check."""
    name_word = entry.partition("=")[0]
    entries: list[tuple[int, str, str]] = []
    for n, item in enumerate(filter(None, (part.strip() for part in text.split(","))), start=1):
        name, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not _NAME.fullmatch(name):
            raise ValueError(f"entry {n} must be {entry}, the {name_word} of letters, digits, '.', '_' or '-'")
        if any(name == earlier for _, earlier, _ in entries):
            raise ValueError(f"entry {n} repeats the {name_word} of an earlier entry")
        entries.append((n, name, value))
    if not entries:
        raise ValueError(f"no {plural} given")
    return entries
