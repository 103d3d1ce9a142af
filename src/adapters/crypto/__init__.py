"""Encryption adapters."""

from tenant_adapters.crypto.aesgcm import AesGcmCipher, parse_keys

__all__ = ["AesGcmCipher", "parse_keys"]
