"""Secrets generated once into the data directory, so a fresh machine runs with no configuration.

Several processes may start at once (``serve`` and ``token``, or many workers): the file is created
exclusively with mode 0600 and whoever loses the race reads the winner's value.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from pathlib import Path


def read_or_create(path: Path, nbytes: int = 32) -> str:
    """The URL-safe base64 secret stored at ``path``, generating it on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w") as file:
        file.write(base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode())
    return _read(path)


def _read(path: Path) -> str:
    for _ in range(50):  # the creator may not have written it yet
        if text := path.read_text().strip():
            return text
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty; delete it to generate a new secret")
