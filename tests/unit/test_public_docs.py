"""The core documents itself for embedders: ``help(tenant_core)`` opens on a guide that names every export,
and every exported class and function has a short docstring of its own."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import pydoc
import re
from pathlib import Path
from types import ModuleType

import tenant_adapters
import tenant_core

#: A public docstring says what the thing is in a few lines; the details live with its methods and in docs/.
MAX_DOC_LINES = 8


def undocumented(package: ModuleType) -> list[str]:
    """Exported classes and functions without a docstring of their own (a class does not inherit one here: a
    subclass's reader needs to know what it adds), or with one longer than :data:`MAX_DOC_LINES`."""
    found = []
    for name in package.__all__:
        value = getattr(package, name)
        if inspect.isclass(value):
            doc = value.__dict__.get("__doc__")
        elif inspect.isroutine(value):
            doc = value.__doc__
        else:
            continue  # constants are documented where they are defined (``#:`` comments)
        if not (doc or "").strip():
            found.append(f"{name}: no docstring")
        elif len(inspect.cleandoc(doc).splitlines()) > MAX_DOC_LINES:
            found.append(f"{name}: more than {MAX_DOC_LINES} lines")
    return found


def test_every_export_has_a_short_docstring_of_its_own():
    assert undocumented(tenant_core) == []


def test_every_adapter_export_has_a_short_docstring_of_its_own():
    """The adapters embedders wire in (memory, crypto, postgres, redis, …) are documented the same way."""
    packages = [
        importlib.import_module(m.name) for m in pkgutil.iter_modules(tenant_adapters.__path__, "tenant_adapters.")
    ]
    exporting = [package for package in packages if hasattr(package, "__all__")]
    assert len(exporting) >= 8
    assert [problem for package in exporting for problem in undocumented(package)] == []


def test_the_docstring_rule_catches_planted_omissions(tmp_path: Path, monkeypatch):
    """A class without a docstring, a subclass relying on its parent's, a bare function and an essay."""
    essay = "A line. " * 12 + "\n"
    (tmp_path / "planted_docs.py").write_text(
        '"""A package."""\n'
        'class Told:\n    """What it is."""\n'
        "class Silent: ...\n"
        "class Child(Told): ...\n"
        "def bare(): ...\n"
        f'class Essay:\n    """{essay * (MAX_DOC_LINES + 1)}"""\n'
        'SOME_CONSTANT = 1\n__all__ = ["Told", "Silent", "Child", "bare", "Essay", "SOME_CONSTANT"]\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import planted_docs

    assert undocumented(planted_docs) == [
        "Silent: no docstring",
        "Child: no docstring",
        "bare: no docstring",
        f"Essay: more than {MAX_DOC_LINES} lines",
    ]


def test_the_guide_names_every_export():
    """The package docstring is the map: each exported name appears in it, under what it is for."""
    named = set(re.findall(r"\b\w+\b", tenant_core.__doc__ or ""))
    assert [name for name in tenant_core.__all__ if name not in named] == []


def test_help_opens_on_the_guide():
    """``help(tenant_core)`` shows the guide first, before pydoc's reference of every class."""
    text = pydoc.render_doc(tenant_core, renderer=pydoc.plaintext)
    description = text.index("DESCRIPTION")
    assert text.index("in_memory_container()") > description
    assert text.index("\nCLASSES") > text.index("Building blocks") > description
    assert text[:description].count("\n") < 10
    assert len((tenant_core.__doc__ or "").splitlines()) <= 60  # the map stays about one screen
