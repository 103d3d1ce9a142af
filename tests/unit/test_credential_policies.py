"""One policy object per credential type, a registry of them, and no code that branches on a type itself.

(The whole life of a third type registered by a test is in tests/contract/test_credential_type_registry.py.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import msgspec
import pytest

import tenant_core
from tenant_core import SYSTEM, CredentialType, ValidationFailedError
from tenant_core.credential_kinds.genesys import GENESYS, GenesysCredentials
from tenant_core.credential_kinds.whatsapp import WHATSAPP, WhatsAppCredentials
from tenant_core.credential_registry import CREDENTIAL_POLICIES, CredentialRegistry, credential_policy
from tenant_core.use_cases.credential_reads import CredentialReads
from tenant_core.use_cases.credential_writes import CredentialWrites
from tests.support.builders import create_command

CORE = Path(tenant_core.__file__).parent
SRC = CORE.parent

#: Where branching on one type is allowed: its own module. (Flows that exist for one type only, such as
#: WhatsApp signup or GET /whatsapp, name their type; they never compare one type with another.)
TYPE_SPECIFIC = {"tenant_core/credential_kinds/genesys.py", "tenant_core/credential_kinds/whatsapp.py"}
_TYPE_NAMES = {"GENESYS", "WHATSAPP", "GenesysCredentials", "WhatsAppCredentials", "GenesysPolicy", "WhatsAppPolicy"}


def type_branches(root: Path, allowed: set[str] = TYPE_SPECIFIC) -> list[str]:
    """``file:line`` of every branch on a credential type outside ``allowed``: an ``isinstance`` against one
    type's fields, or a comparison (``is``, ``==``, ``in``) with one type's name or policy."""

    def names_a_type(node: ast.AST) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in _TYPE_NAMES:
                return True
            if isinstance(sub, ast.Attribute) and sub.attr in _TYPE_NAMES:
                return True
        return False

    found = []
    for path in sorted(root.rglob("*.py")):
        where = str(path.relative_to(root))
        if where in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(), where)):
            if isinstance(node, ast.Compare) and names_a_type(node):
                found.append(f"{where}:{node.lineno}")
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                if len(node.args) == 2 and names_a_type(node.args[1]):
                    found.append(f"{where}:{node.lineno}")
    return found


def test_no_module_branches_on_a_credential_type():
    """Outside the types' own modules, nothing tells Genesys from WhatsApp with isinstance, is, == or in: the
    code asks the policy, so a new type cannot fall through an else."""
    assert type_branches(SRC) == []


def test_the_branch_rule_catches_a_planted_else(tmp_path: Path):
    """The rule reports the shapes the vault, the checks and the import used to have."""
    (tmp_path / "planted.py").write_text(
        "def fields(c, kind, plan):\n"
        "    if isinstance(c, WhatsAppCredentials):\n"
        "        return 1\n"
        "    if kind is CredentialType.GENESYS:\n"
        "        return 2\n"
        "    return CredentialType.WHATSAPP not in plan\n"
    )
    assert type_branches(tmp_path, set()) == ["planted.py:2", "planted.py:4", "planted.py:6"]


def test_the_registry_maps_each_shipped_type_to_its_policy():
    """Every shipped type is registered, in one place, and each policy describes its own fields."""
    assert CREDENTIAL_POLICIES.names() == tuple(CredentialType)
    assert [credential_policy(name) for name in CredentialType] == [GENESYS, WHATSAPP]
    assert GENESYS.fields is GenesysCredentials and WHATSAPP.fields is WhatsAppCredentials
    for policy in CREDENTIAL_POLICIES:
        names = {f.name for f in msgspec.structs.fields(policy.fields)}
        assert policy.secret_fields <= names and set(policy.routing_keys.values()) <= names
        wire = {f.encode_name for f in msgspec.structs.fields(policy.fields)}
        assert set(policy.legacy_names.values()) <= wire


def test_an_unknown_type_name_fails_loudly():
    """A type nobody registered is a validation error naming the types that exist, never a silent default."""
    with pytest.raises(ValidationFailedError) as refused:
        credential_policy("slack")
    assert refused.value.details[0].field == "type"
    assert refused.value.message == "Invalid type: unknown credential type 'slack'; one of genesys, whatsapp"
    with pytest.raises(LookupError):
        CREDENTIAL_POLICIES.of(create_command())  # a Struct that is no type's fields


def test_registration_refuses_a_taken_or_malformed_name():
    """Names are URL segments and stored column values: lowercase, and unique."""
    registry = CredentialRegistry(GENESYS)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(GENESYS)

    class Shouting(type(GENESYS)):  # type: ignore[misc]
        name = "Genesys Cloud"

    with pytest.raises(ValueError, match="must match"):
        registry.register(Shouting())


def test_a_policy_without_a_check_cannot_be_made():
    """How a type is verified is part of its policy: one that does not say cannot be instantiated."""

    class Unchecked(tenant_core.CredentialPolicy):
        name, label, fields = "unchecked", "Unchecked", GenesysCredentials

    with pytest.raises(TypeError, match="check"):
        Unchecked()  # type: ignore[abstract]


def test_each_policy_says_what_storing_and_deleting_do_to_the_tenant():
    """Genesys sets its region always and its integration only when binding; WhatsApp binds its number and
    releases it on delete; a tenant principal's store binds no routing key of either."""
    genesys = GENESYS.parse({"clientId": "c", "clientSecret": "s" * 8, "region": "euw2", "integrationId": "i-1"})
    assert GENESYS.on_store(genesys, binds_routing=True) == {
        "genesys_region": "euw2.pure.cloud",
        "genesys_integration_id": "i-1",
    }
    assert GENESYS.on_store(genesys, binds_routing=False) == {"genesys_region": "euw2.pure.cloud"}
    assert GENESYS.on_delete() == {}
    whatsapp = WHATSAPP.parse({"accessToken": "t" * 8, "phoneNumberId": "1555", "wabaId": "9"})
    assert WHATSAPP.on_store(whatsapp, binds_routing=True) == {"phone_number_id": "1555", "whatsapp_configured": True}
    assert WHATSAPP.on_store(whatsapp, binds_routing=False) == {}
    assert WHATSAPP.on_delete() == {"phone_number_id": None, "whatsapp_configured": False}
    for policy in CREDENTIAL_POLICIES:
        assert set(policy.on_delete()) <= set(policy.tenant_fields)
        assert {key.field for key in policy.routing_keys} <= set(policy.tenant_fields)


async def test_the_vaults_two_jobs_work_apart(storage, sealed, tenant_cache, directory, clock, tenants):
    """Storing and reading are separate use cases (the vault is both): a service that only reads credentials
    can be given CredentialReads alone."""
    writes = CredentialWrites(storage, sealed, tenant_cache, clock)
    reads = CredentialReads(storage, sealed, directory, clock)
    tenant = (await tenants.create(SYSTEM, create_command())).tenant
    await writes.store(SYSTEM, tenant.id, "genesys", {"clientId": "c", "clientSecret": "secret-4321", "region": "euw2"})
    assert (await reads.view(SYSTEM, tenant.id, "genesys")).credentials["clientSecret"] == "****4321"
    assert not hasattr(reads, "store") and not hasattr(writes, "view")
