"""Every public name has an entry in the API reference (docs/api/*.rst).

Public means listed in ``__all__`` of ``sklearn_am`` or of a public module (the
list of ``tests/test_docstrings.py``). The reference's sources are parsed, not
built: an ``autosummary`` entry under a ``currentmodule`` documents
``module.name``, and a name re-exported by two public modules (the displays)
counts as documented when the same object has an entry under either.
"""

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from test_docstrings import OPTIONAL_MODULES, PUBLIC_MODULES

API_DIR = Path(__file__).resolve().parents[1] / "docs" / "api"
_DIRECTIVE = re.compile(r"^\.\. (?P<name>[\w:-]+)::\s*(?P<arg>\S*)")


def _entries():
    """(module, name) of every autosummary entry, and the modules given an automodule."""
    entries, modules = set(), set()
    for rst in sorted(API_DIR.glob("*.rst")):
        current, in_summary = None, False
        for line in rst.read_text(encoding="utf-8").splitlines():
            directive = _DIRECTIVE.match(line)
            if directive:
                name, arg = directive["name"], directive["arg"]
                in_summary = name == "autosummary"
                if name in ("currentmodule", "module"):
                    current = arg
                elif name == "automodule":
                    modules.add(arg)
                continue
            if not in_summary:
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith(":"):
                continue  # a blank line or an option of the directive
            if not line.startswith(" "):
                in_summary = False  # the directive's body ended
                continue
            entry = stripped.lstrip("~")
            module, _, name = entry.rpartition(".")
            entries.add((module or current, name) if "." in entry else (current, entry))
    return entries, modules


def _public_names():
    for module_name in PUBLIC_MODULES:
        needs = OPTIONAL_MODULES.get(module_name)
        if needs and importlib.util.find_spec(needs) is None:
            continue
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if not name.startswith("__"):
                yield module_name, name, getattr(module, name)


def test_reference_has_entries():
    entries, _ = _entries()
    assert len(entries) > 20, sorted(entries)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_module_is_described(module_name):
    _, modules = _entries()
    assert module_name in modules, f"no '.. automodule:: {module_name}' in {API_DIR}"


def test_every_public_name_has_an_entry():
    entries, _ = _entries()
    documented = set()
    for module_name, name in entries:
        module = importlib.import_module(module_name)
        assert hasattr(module, name), f"the API reference lists {module_name}.{name}, which is gone"
        documented.add(id(getattr(module, name)))
    missing = [f"{module_name}.{name}" for module_name, name, obj in _public_names()
               if (module_name, name) not in entries and id(obj) not in documented]
    assert not missing, f"public names with no entry in docs/api/*.rst: {missing}"
