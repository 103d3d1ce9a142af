"""The inventory of everything stored sealed under a credentials key (``CREDENTIALS_KEYS``).

A sealed value is ciphertext bound to its record by associated data, stored beside the id of the key that
sealed it. Key rotation re-seals every kind in :data:`SEALED_KINDS`, and start-up refuses when any kind
holds values under a key that is not configured, so a kind missing here would be left on an old key and
become unreadable once that key is removed.

Adding a kind: one :class:`SealedKind` here, registered in :data:`SEALED_KINDS`, sealed through
:class:`~tenant_core.sealing.SealedValues`, and where each storage adapter keeps it (its row in the adapter's
table of sealed columns). The architecture tests fail on a ``seal`` call with an unregistered kind, on a
sealed column no kind claims, and on an adapter that does not store every kind.
"""

from __future__ import annotations

import msgspec


class SealedKind(msgspec.Struct, frozen=True):
    """One kind of sealed value.

    ``ref_fields`` name what identifies a record (and binds its ciphertext to it); ``associated_data_format``
    spells the associated data from them, so a ciphertext copied to another record no longer opens.
    """

    name: str
    label: str  # what an operator reads in reports and refusals
    ref_fields: tuple[str, ...]
    associated_data_format: str

    def associated_data(self, ref: tuple[str, ...]) -> bytes:
        return self.associated_data_format.format(**self.describe(ref)).encode()

    def describe(self, ref: tuple[str, ...]) -> dict[str, str]:
        """The record's identifying fields by name (for logs and reports: never a secret)."""
        return dict(zip(self.ref_fields, ref, strict=True))


class SealedValue(msgspec.Struct, frozen=True):
    """One stored sealed value of a kind (named by ``kind``), as the storage adapters list it."""

    kind: str
    ref: tuple[str, ...]
    key_id: str
    ciphertext: bytes


#: A tenant's credential document of one type: every secret field, the WhatsApp number's PIN included.
CREDENTIALS = SealedKind(
    "credentials", "credentials", ("tenant_id", "type"), "tenant-service/credentials/v1:{tenant_id}:{type}"
)
#: The secret that signs a subscription's webhook deliveries.
WEBHOOK_SECRETS = SealedKind("webhook_secrets", "webhook signing secrets", ("webhook_id",), "webhook:{webhook_id}")
#: The first API key of a tenant created with an ``Idempotency-Key``, kept to answer a repeat of the request.
IDEMPOTENCY_API_KEYS = SealedKind(
    "idempotency_api_keys",
    "idempotency records",
    ("scope", "key", "tenant_id"),
    "tenant-service/idempotency/v1:{scope}:{key}:{tenant_id}",
)

#: Every kind, in the order rotation walks them.
SEALED_KINDS: tuple[SealedKind, ...] = (CREDENTIALS, WEBHOOK_SECRETS, IDEMPOTENCY_API_KEYS)


def sealed_kind(name: str) -> SealedKind:
    """The registered kind of this name; an unknown name is a LookupError (a kind nobody registered)."""
    for kind in SEALED_KINDS:
        if kind.name == name:
            return kind
    raise LookupError(f"{name!r} is not a sealed kind of SEALED_KINDS")
