"""Architecture tests of the sealed-value inventory: nothing is sealed outside :data:`SEALED_KINDS`, and every
storage adapter keeps every kind. (The schema side, "no sealed column outside the inventory", needs the real
database: ``tests/contract/test_sealed_values_contract.py``.) Also the start-up key check
itself, on the in-memory adapter."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import tenant_core
from tenant_adapters.crypto import AesGcmCipher
from tenant_adapters.memory.sealed import SEALED_SLOTS
from tenant_adapters.postgres.sealed import SEALED_COLUMNS
from tenant_core import SYSTEM, CredentialType, SealedValues, sealed_kinds
from tenant_core.sealed_kinds import SEALED_KINDS, SealedKind, sealed_kind
from tenant_core.use_cases.key_rotation import SealedKeyCheck, refusal
from tenant_core.use_cases.vault import CredentialVault
from tests.support.builders import create_command

SRC = Path(tenant_core.__file__).resolve().parents[1]  # src/: tenant_core, adapters, entrypoints
#: The one place that calls the cipher's own ``seal`` (every other ``seal`` call goes through it).
HELPER = SRC / "tenant_core" / "sealing.py"


def registered_names() -> set[str]:
    """Names in ``sealed_kinds`` bound to a kind that is registered in ``SEALED_KINDS``."""
    return {
        name for name, value in vars(sealed_kinds).items() if isinstance(value, SealedKind) and value in SEALED_KINDS
    }


def unregistered_seal_calls(source: str, registered: set[str]) -> list[int]:
    """Lines of ``….seal(…)`` calls whose first argument is not a registered kind: a raw cipher call, or a kind
    rotation and the start-up check would never see."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "seal"
        and not (node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in registered)
    ]


def test_every_seal_call_names_a_registered_kind():
    """Allow-list: outside the helper, every ``seal`` call in src/ seals a kind of SEALED_KINDS."""
    registered = registered_names()
    files = [p for p in SRC.rglob("*.py") if p != HELPER]
    assert len(files) > 50  # the walk found the source tree
    found = {str(p.relative_to(SRC)): unregistered_seal_calls(p.read_text(), registered) for p in files}
    assert {path: lines for path, lines in found.items() if lines} == {}
    assert len(unregistered_seal_calls(HELPER.read_text(), registered)) == 1  # the cipher's, once


def test_the_check_catches_a_raw_cipher_call_and_an_unregistered_kind():
    """The check can fail: planted violations are found (a raw ``cipher.seal`` and a kind not in SEALED_KINDS)."""
    registered = registered_names()
    planted = (
        "key_id, sealed = self._cipher.seal(secret.encode(), aad)\n"
        "key_id, sealed = self._sealed.seal(NEW_KIND, (webhook_id,), secret.encode())\n"
        "key_id, sealed = self._sealed.seal(WEBHOOK_SECRETS, (webhook_id,), secret.encode())\n"
    )
    assert unregistered_seal_calls(planted, registered) == [1, 2]


def test_sealed_values_refuse_an_unregistered_kind(sealed):
    """At run time too: sealing a kind nobody registered fails loudly instead of hiding from rotation."""
    stray = SealedKind("stray", "stray values", ("id",), "stray:{id}")
    with pytest.raises(LookupError, match="not registered"):
        sealed.seal(stray, ("x",), b"secret")
    with pytest.raises(LookupError):
        sealed_kind("stray")


@pytest.mark.parametrize("where", [SEALED_COLUMNS, SEALED_SLOTS], ids=["postgres", "memory"])
def test_every_storage_adapter_keeps_every_kind(where):
    assert set(where) == {kind.name for kind in SEALED_KINDS}


def test_postgres_refs_match_the_kinds_fields():
    for kind in SEALED_KINDS:
        assert len(SEALED_COLUMNS[kind.name].ref) == len(kind.ref_fields), kind.name


def test_associated_data_is_unchanged_for_values_already_stored():
    """Changing a kind's associated data would make every stored value of it unreadable."""
    assert [k.associated_data(tuple(f"<{f}>" for f in k.ref_fields)) for k in SEALED_KINDS] == [
        b"tenant-service/credentials/v1:<tenant_id>:<type>",
        b"webhook:<webhook_id>",
        b"tenant-service/idempotency/v1:<scope>:<key>:<tenant_id>",
    ]


async def test_the_key_check_names_missing_keys_and_keys_that_do_not_open(
    storage, tenants, clock, tenant_cache, directory
):
    """A key id not configured, and a configured id holding another key (a regenerated ``local``), are both
    found from one value per kind and key id; the refusal is one line naming kinds and key ids."""
    stored = {"clientId": "c", "clientSecret": "s3cr3t-value", "region": "mypurecloud.com"}
    for key_id in ("old", "local"):
        cipher = AesGcmCipher({key_id: os.urandom(32)})
        vault = CredentialVault(storage, SealedValues(cipher), tenant_cache, directory, clock)
        tenant_id = (await tenants.create(SYSTEM, create_command())).tenant.id
        await vault.store(SYSTEM, tenant_id, CredentialType.GENESYS, stored)
    configured = SealedValues(AesGcmCipher({"new": os.urandom(32), "local": os.urandom(32)}))
    problems = await SealedKeyCheck(storage.sealed, configured).problems()
    assert {(p.label, p.key_id, p.configured) for p in problems} == {
        ("credentials", "old", False),
        ("credentials", "local", True),
    }
    line = refusal(problems)
    assert "\n" not in line and "credentials under key 'old', which is not configured" in line
    assert "credentials under key 'local', which is configured but does not open them" in line
    assert await SealedKeyCheck(storage.sealed, SealedValues(AesGcmCipher({"old": b"o" * 32}))).problems() != []


def test_a_malformed_credentials_key_is_refused_without_echoing_it():
    """A key pasted without its id (``CREDENTIALS_KEYS=<base64>``) is refused by position, never quoted."""
    from tenant_entrypoints.config import Config, ConfigError

    pasted = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="  # 32 bytes: "ABC…def"
    with pytest.raises(ConfigError, match="entry 1") as refused:
        Config.from_env({"CREDENTIALS_KEYS": pasted})
    assert "QUJD" not in str(refused.value)
