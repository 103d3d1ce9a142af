"""The :class:`~tenant_core.ports.SecretCipher` port with AES-256-GCM (the ``cryptography`` package).

Ciphertext layout: 12-byte random nonce, then GCM ciphertext and tag. The key id is stored beside it, so
several keys can be configured at once: the first seals, all open (that is how keys rotate).
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tenant_adapters.named_secrets import named_entries
from tenant_core.errors import CredentialsUnreadableError

_NONCE_BYTES = 12


def parse_keys(text: str) -> dict[str, bytes]:
    """``id=base64key,id2=base64key`` → ``{id: key}`` in order (the first seals); each key must decode to 32
    bytes. The list's format: :mod:`tenant_adapters.named_secrets`."""
    keys: dict[str, bytes] = {}
    for n, key_id, encoded in named_entries(text, "id=base64key", "keys"):
        try:
            key = _b64decode(encoded)
        except (binascii.Error, ValueError):
            raise ValueError(f"the key of entry {n} is not valid base64") from None
        if len(key) != 32:
            raise ValueError(f"the key of entry {n} must be 32 bytes (AES-256), not {len(key)}")
        keys[key_id] = key
    return keys


def _b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional, strictly validated."""
    url_safe = "-" in text or "_" in text
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if url_safe else None, validate=True)


class AesGcmCipher:
    """The :class:`~tenant_core.ports.SecretCipher` port with AES-256-GCM, for production and in memory alike:
    keys by id (``{key_id: 32 bytes}``), the first seals and all open; ``parse_keys`` reads ``CREDENTIALS_KEYS``."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._aeads = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = next(iter(keys))

    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._aeads)

    def seal(self, plaintext: bytes, associated_data: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(_NONCE_BYTES)
        return self._current, nonce + self._aeads[self._current].encrypt(nonce, plaintext, associated_data)

    def open(self, key_id: str, ciphertext: bytes, associated_data: bytes) -> bytes:
        aead = self._aeads.get(key_id)
        if aead is None:
            raise CredentialsUnreadableError(f"sealed with key {key_id!r}, which is not configured")
        try:
            return aead.decrypt(ciphertext[:_NONCE_BYTES], ciphertext[_NONCE_BYTES:], associated_data)
        except (InvalidTag, ValueError):
            raise CredentialsUnreadableError(
                f"key {key_id!r} does not open it (tampered with, moved from another record, or another key "
                "configured under the same id)"
            ) from None
