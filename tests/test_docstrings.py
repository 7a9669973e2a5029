"""Every public class, method and function documents exactly its parameters.

In the spirit of imbalanced-learn's ``test_docstring_parameters.py``: the names in
each numpydoc "Parameters" section must equal the signature's, in order. Public
means re-exported by ``sklearn_am`` or listed in ``__all__`` of a public module.
"""

import importlib
import importlib.util
import inspect

import pytest

numpydoc_docscrape = pytest.importorskip("numpydoc.docscrape")

#: The public modules; everything else under sklearn_am is private (leading underscore).
PUBLIC_MODULES = [
    "sklearn_am",
    "sklearn_am.anndata",
    "sklearn_am.datasets",
    "sklearn_am.metrics",
    "sklearn_am.model_selection",
    "sklearn_am.networks",
    "sklearn_am.plotting",
    "sklearn_am.skorch",
]
#: Public modules of optional extras → the package they need (skipped without it).
OPTIONAL_MODULES = {"sklearn_am.skorch": "skorch"}


def _public_objects():
    seen = set()
    for module_name in PUBLIC_MODULES:
        needs = OPTIONAL_MODULES.get(module_name)
        if needs and importlib.util.find_spec(needs) is None:
            continue  # an optional extra that is not installed
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if name.startswith("__") or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{module_name}.{name}", obj


def _own_methods(cls):
    """Public methods written in sklearn_am (inherited ones from sklearn/torch excluded)."""
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or not callable(member):
            continue
        func = inspect.unwrap(getattr(member, "__func__", member))
        module = getattr(func, "__module__", "") or ""
        if module.startswith("sklearn_am") and inspect.isfunction(func):
            yield name, func


def _cases():
    for qualname, obj in _public_objects():
        if inspect.isclass(obj):
            yield pytest.param(obj, "class", id=qualname)
            for name, func in _own_methods(obj):
                yield pytest.param(func, "method", id=f"{qualname}.{name}")
        elif inspect.isfunction(obj):
            yield pytest.param(obj, "function", id=qualname)


def _signature_names(obj, kind):
    target = obj.__init__ if kind == "class" else inspect.unwrap(obj)
    names = []
    for p in inspect.signature(target).parameters.values():
        if p.name in ("self", "cls") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        names.append(p.name)
    return names


def _documented_names(obj, kind):
    doc = (numpydoc_docscrape.ClassDoc(obj) if kind == "class"
           else numpydoc_docscrape.FunctionDoc(obj))
    names = []
    for param in doc["Parameters"]:
        names.extend(n.strip() for n in param.name.split(","))
    return [n for n in names if n and not n.startswith("*")]


@pytest.mark.parametrize("obj, kind", list(_cases()))
def test_documents_exactly_its_parameters(obj, kind):
    assert inspect.getdoc(obj), f"{obj!r} has no docstring"
    signature = _signature_names(obj, kind)
    documented = _documented_names(obj, kind)
    assert documented == signature, (
        f"documented {documented} but the signature has {signature}"
    )


def test_private_modules_are_private():
    """Only the public modules are importable without a leading underscore."""
    import pkgutil

    import sklearn_am

    names = {m.name for m in pkgutil.iter_modules(sklearn_am.__path__)}
    public = {name.split(".")[1] for name in PUBLIC_MODULES if "." in name}
    assert {n for n in names if not n.startswith("_")} == public | {"demo", "utils"}
