"""Rotating the credentials key, and the start-up check that every stored value can still be opened.

Both walk :data:`~tenant_core.sealed_kinds.SEALED_KINDS`, so every sealed kind is re-sealed and checked.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from tenant_core.errors import CredentialsUnreadableError
from tenant_core.ports import SealedValueStore, Storage
from tenant_core.sealed_kinds import SEALED_KINDS, SealedKind
from tenant_core.sealing import SealedValues


class KindRotation(msgspec.Struct, frozen=True):
    """What a rotation did to one kind: values re-sealed, values no configured key opens (by record, each
    also reported as unreadable), and values still not under the current key afterwards."""

    kind: str
    label: str
    resealed: int
    unreadable: list[dict[str, str]]
    remaining: int


class RotationReport(msgspec.Struct, frozen=True):
    """What a key rotation re-sealed under ``key_id``, per kind, and what it could not open."""

    key_id: str
    kinds: list[KindRotation]

    @property
    def unreadable(self) -> int:
        return sum(len(k.unreadable) for k in self.kinds)

    @property
    def remaining(self) -> int:
        return sum(k.remaining for k in self.kinds)


class CredentialKeyRotation:
    """Re-seal every sealed value of every kind under the current key, in batches.

    Safe to interrupt and rerun: each value is re-sealed on its own, and only if its record still holds the
    ciphertext that was read (a concurrent write, sealed under the current key already, wins).
    """

    def __init__(self, storage: Storage, sealed: SealedValues) -> None:
        self._storage = storage
        self._sealed = sealed

    async def pending(self) -> int:
        """How many values of all kinds are not sealed with the current key."""
        current = self._sealed.current_key_id
        return sum([await self._storage.sealed.count_sealed_with_other_keys(k, current) for k in SEALED_KINDS])

    async def rotate(self, batch_size: int = 100, on_progress: Callable[[int], None] | None = None) -> RotationReport:
        """``on_progress`` gets the number of values handled so far (of :meth:`pending`)."""
        done = 0

        def progress(count: int) -> None:
            nonlocal done
            done += count
            if on_progress is not None:
                on_progress(done)

        kinds = [await self._rotate(kind, batch_size, progress) for kind in SEALED_KINDS]
        return RotationReport(key_id=self._sealed.current_key_id, kinds=kinds)

    async def _rotate(self, kind: SealedKind, batch_size: int, progress: Callable[[int], None]) -> KindRotation:
        store, current = self._storage.sealed, self._sealed.current_key_id
        resealed, unreadable, after = 0, [], None
        while batch := await store.sealed_with_other_keys(kind, current, after, batch_size):
            for value in batch:
                try:
                    key_id, ciphertext = self._sealed.reseal(kind, value)
                except CredentialsUnreadableError:
                    unreadable.append(kind.describe(value.ref))
                    continue
                if await store.reseal(value, key_id, ciphertext):
                    resealed += 1
            after = batch[-1].ref
            progress(len(batch))
        remaining = await store.count_sealed_with_other_keys(kind, current)
        return KindRotation(kind.name, kind.label, resealed, unreadable, remaining)


class KeyProblem(msgspec.Struct, frozen=True):
    """Values of a kind sealed under ``key_id``, which is not configured (or, when ``configured``, is
    configured but does not open them: another key under the same id)."""

    label: str
    key_id: str
    configured: bool


class SealedKeyCheck:
    """Whether every stored value can be opened with the configured keys, judged per kind and key id from
    one value each (an index walk: cheap at start-up whatever the tables hold)."""

    def __init__(self, store: SealedValueStore, sealed: SealedValues) -> None:
        self._store = store
        self._sealed = sealed

    async def problems(self) -> list[KeyProblem]:
        found = []
        for kind in SEALED_KINDS:
            for value in await self._store.one_per_key(kind):
                if not self._sealed.configured(value.key_id):
                    found.append(KeyProblem(kind.label, value.key_id, configured=False))
                elif not self._sealed.opens(kind, value):
                    found.append(KeyProblem(kind.label, value.key_id, configured=True))
        return found


def refusal(problems: list[KeyProblem]) -> str:
    """One line for the operator: which kinds are under which keys, and what to do."""
    missing: dict[str, list[str]] = {}
    wrong: dict[str, list[str]] = {}
    for problem in problems:
        (wrong if problem.configured else missing).setdefault(problem.key_id, []).append(problem.label)
    parts = [f"{', '.join(labels)} under key {key_id!r}, which is not configured" for key_id, labels in missing.items()]
    parts += [
        f"{', '.join(labels)} under key {key_id!r}, which is configured but does not open them (another key "
        "under the same id?)"
        for key_id, labels in wrong.items()
    ]
    return (
        f"stored values cannot be opened: {'; '.join(parts)}. Put those keys back in CREDENTIALS_KEYS (after the "
        "first) and run rotate-credentials-key before removing them"
    )
