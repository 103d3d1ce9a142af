"""Every sealed value in memory, by kind: where each kind of :data:`~tenant_core.sealed_kinds.SEALED_KINDS`
is kept in the state, read and re-sealed the way the Postgres adapter does it (same order, same
compare-and-set)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from tenant_adapters.memory.state import State
from tenant_core.sealed_kinds import SealedKind, SealedValue

if TYPE_CHECKING:
    from tenant_adapters.memory.storage import InMemoryStorage


@dataclass(frozen=True)
class SealedSlots:
    """Where one kind is kept: the state's dict of records, and each record's ref, key id and ciphertext."""

    records: Callable[[State], dict[Any, Any]]
    ref: Callable[[Any], tuple[str, ...]]
    key_id: str
    ciphertext: str


#: One entry per sealed kind (by name), like the Postgres adapter's ``SEALED_COLUMNS``.
SEALED_SLOTS: dict[str, SealedSlots] = {
    "credentials": SealedSlots(lambda s: s.credentials, lambda r: (r.tenant_id, str(r.type)), "key_id", "ciphertext"),
    "webhook_secrets": SealedSlots(lambda s: s.webhooks, lambda r: (r.id,), "key_id", "sealed_secret"),
    "idempotency_api_keys": SealedSlots(
        lambda s: s.idempotency, lambda r: (r.scope, r.key, r.tenant_id), "key_id", "sealed_api_key"
    ),
}


class InMemorySealedValues:
    """Reads the committed state; a re-seal takes the storage's transaction lock, as a unit of work does."""

    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage  # its committed state, and its lock

    def _values(self, kind: SealedKind) -> Iterator[SealedValue]:
        at = SEALED_SLOTS[kind.name]  # a KeyError here is a kind this adapter does not know: loud on purpose
        for record in at.records(self._storage._state).values():
            key_id, ciphertext = getattr(record, at.key_id), getattr(record, at.ciphertext)
            if ciphertext is not None:
                yield SealedValue(kind.name, at.ref(record), key_id, ciphertext)

    async def sealed_with_other_keys(
        self, kind: SealedKind, key_id: str, after: tuple[str, ...] | None, limit: int
    ) -> list[SealedValue]:
        found = [v for v in self._values(kind) if v.key_id != key_id and (after is None or v.ref > after)]
        return sorted(found, key=lambda v: v.ref)[:limit]

    async def count_sealed_with_other_keys(self, kind: SealedKind, key_id: str) -> int:
        return sum(1 for v in self._values(kind) if v.key_id != key_id)

    async def reseal(self, old: SealedValue, key_id: str, ciphertext: bytes) -> bool:
        at = SEALED_SLOTS[old.kind]
        async with self._storage._lock:
            records = at.records(self._storage._state)
            for slot, record in records.items():
                if at.ref(record) == old.ref and getattr(record, at.ciphertext) == old.ciphertext:
                    records[slot] = msgspec.structs.replace(record, **{at.key_id: key_id, at.ciphertext: ciphertext})
                    return True
        return False

    async def one_per_key(self, kind: SealedKind) -> list[SealedValue]:
        first: dict[str, SealedValue] = {}
        for value in self._values(kind):
            first.setdefault(value.key_id, value)
        return [first[k] for k in sorted(first)]
