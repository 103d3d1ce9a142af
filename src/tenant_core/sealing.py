"""The one way to seal and open a stored secret: :class:`SealedValues`.

Every sealed value belongs to a kind of :data:`~tenant_core.sealed_kinds.SEALED_KINDS` and is bound to its
record (the kind's associated data). A value that cannot be opened is reported (kind, record, key id and
reason; never the value) through ``on_unreadable``, which the service logs at ERROR, and raised as
:class:`~tenant_core.errors.CredentialsUnreadableError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import msgspec

from tenant_core.errors import CredentialsUnreadableError
from tenant_core.ports import SecretCipher
from tenant_core.sealed_kinds import SEALED_KINDS, SealedKind, SealedValue

T = TypeVar("T")


class UnreadableValue(msgspec.Struct, frozen=True):
    """A sealed value no configured key opens: which one, under which key, and why."""

    kind: str
    record: dict[str, str]
    key_id: str
    reason: str


class SealedValues:
    """Seals under the cipher's current key and opens under any configured one, for every sealed kind."""

    def __init__(self, cipher: SecretCipher, on_unreadable: Callable[[UnreadableValue], None] | None = None) -> None:
        self._cipher = cipher
        self._on_unreadable = on_unreadable

    @property
    def current_key_id(self) -> str:
        """The key new values are sealed with."""
        return self._cipher.current_key_id

    def configured(self, key_id: str) -> bool:
        return key_id in self._cipher.key_ids

    def seal(self, kind: SealedKind, ref: tuple[str, ...], plaintext: bytes) -> tuple[str, bytes]:
        """``(key_id, ciphertext)`` of ``plaintext`` for the record ``ref`` of ``kind``.

        A kind missing from ``SEALED_KINDS`` is refused: rotation would never re-seal its values."""
        return self._seal(kind, ref, plaintext)

    def reseal(self, kind: SealedKind, value: SealedValue) -> tuple[str, bytes]:
        """``value`` sealed again under the current key (for rotation); unreadable ones are reported and raised."""
        return self._seal(kind, value.ref, self.open(kind, value.ref, value.key_id, value.ciphertext))

    def open(self, kind: SealedKind, ref: tuple[str, ...], key_id: str, ciphertext: bytes) -> bytes:
        """The plaintext; an unreadable value is reported and raised as CredentialsUnreadableError."""
        try:
            return self._cipher.open(key_id, ciphertext, kind.associated_data(ref))
        except CredentialsUnreadableError as exc:
            raise self._unreadable(kind, ref, key_id, exc.message) from None

    def decode(self, kind: SealedKind, ref: tuple[str, ...], key_id: str, ciphertext: bytes, type_: type[T]) -> T:
        """The opened JSON document as ``type_``; one that is not in that shape is unreadable too."""
        plaintext = self.open(kind, ref, key_id, ciphertext)
        try:
            return msgspec.json.decode(plaintext, type=type_)
        except msgspec.DecodeError:  # ValidationError included
            raise self._unreadable(kind, ref, key_id, "opened, but not in the expected format") from None

    def opens(self, kind: SealedKind, value: SealedValue) -> bool:
        """Whether a configured key opens ``value``, without reporting it (a probe, not a use)."""
        try:
            self._cipher.open(value.key_id, value.ciphertext, kind.associated_data(value.ref))
        except CredentialsUnreadableError:
            return False
        return True

    def _seal(self, kind: SealedKind, ref: tuple[str, ...], plaintext: bytes) -> tuple[str, bytes]:
        if kind not in SEALED_KINDS:
            raise LookupError(f"sealed kind {kind.name!r} is not registered in SEALED_KINDS")
        return self._cipher.seal(plaintext, kind.associated_data(ref))

    def _unreadable(
        self, kind: SealedKind, ref: tuple[str, ...], key_id: str, reason: str
    ) -> CredentialsUnreadableError:
        record = kind.describe(ref)
        if self._on_unreadable is not None:
            self._on_unreadable(UnreadableValue(kind.name, record, key_id, reason))
        where = ", ".join(f"{name} {value}" for name, value in record.items())
        return CredentialsUnreadableError(f"Stored {kind.label} ({where}) cannot be opened: {reason}")
