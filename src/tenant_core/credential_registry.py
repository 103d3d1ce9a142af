"""Which credential types exist: the registry that maps a type's name to its policy.

Code that must treat every type (the vault, the connection checks, the legacy import, the HTTP layer) asks
:data:`CREDENTIAL_POLICIES`, and an unknown name fails loudly. Adding a type: a module with its
:class:`~tenant_core.credential_types.CredentialPolicy` (as :mod:`tenant_core.credential_kinds.whatsapp`),
and its line in :data:`CREDENTIAL_POLICIES` below (an embedder calls ``CREDENTIAL_POLICIES.register``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tenant_core.credential_kinds.genesys import GENESYS
from tenant_core.credential_kinds.whatsapp import WHATSAPP
from tenant_core.credential_types import CredentialPolicy
from tenant_core.errors import ValidationFailedError

#: What a type's name may be: a URL segment, a stored column value (the same CHECK in migration 0016) and part
#: of what binds a sealed credential to its record.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


class CredentialRegistry:
    """Type name → :class:`~tenant_core.credential_types.CredentialPolicy`, in registration order."""

    def __init__(self, *policies: CredentialPolicy) -> None:
        self._policies: dict[str, CredentialPolicy] = {}
        for policy in policies:
            self.register(policy)

    def register(self, policy: CredentialPolicy) -> CredentialPolicy:
        """Add a type. A name already taken, or one that is not lowercase letters, digits and ``_``, is refused."""
        if not _NAME.fullmatch(policy.name):
            raise ValueError(f"credential type name {policy.name!r} must match {_NAME.pattern}")
        if policy.name in self._policies:
            raise ValueError(f"credential type {policy.name!r} is already registered")
        self._policies[str(policy.name)] = policy
        return policy

    def unregister(self, name: str) -> None:
        """Remove a type (credentials of it stay stored, and unreadable through the vault until it is back)."""
        del self._policies[name]

    def __getitem__(self, name: str) -> CredentialPolicy:
        """The policy of ``name``; an unknown type is a :class:`~tenant_core.errors.ValidationFailedError`."""
        policy = self._policies.get(name)
        if policy is None:
            known = ", ".join(self._policies)
            raise ValidationFailedError.for_field("type", f"unknown credential type {name!r}; one of {known}")
        return policy

    def of(self, credentials: Any) -> CredentialPolicy:
        """The policy whose fields ``credentials`` is an instance of (a LookupError for any other value)."""
        for policy in self._policies.values():
            if type(credentials) is policy.fields:
                return policy
        raise LookupError(f"{type(credentials).__name__} is not the fields of a registered credential type")

    def __contains__(self, name: object) -> bool:
        return name in self._policies

    def __iter__(self) -> Iterator[CredentialPolicy]:
        return iter(list(self._policies.values()))

    def names(self) -> tuple[str, ...]:
        """Every registered type's name, in registration order."""
        return tuple(self._policies)


#: The registered credential types: one line per type.
CREDENTIAL_POLICIES = CredentialRegistry(
    GENESYS,
    WHATSAPP,
)


def credential_policy(name: str) -> CredentialPolicy:
    """The policy of the type ``name`` (see :meth:`CredentialRegistry.__getitem__`)."""
    return CREDENTIAL_POLICIES[name]
