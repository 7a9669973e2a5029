"""The package's architecture: its layers, an import graph without cycles, one door to
scikit-learn's private names, and pickled class paths that stay where they are."""

import ast
import pathlib

import pytest

import sklearn_am

PACKAGE = pathlib.Path(sklearn_am.__file__).parent

#: The layers, lowest first: a module imports (at module level) only from its own
#: layer or a lower one. Lazy imports inside functions (optional extras) are free.
LAYERS = [
    ("utilities", ["sklearn_am._version", "sklearn_am.utils"]),
    ("numerics", ["sklearn_am._numerics"]),
    ("networks", ["sklearn_am.networks"]),
    ("sampling", ["sklearn_am._sampling"]),
    ("dynamics", ["sklearn_am._dynamics"]),
    ("estimator face", ["sklearn_am._estimator"]),
    ("estimator shells", ["sklearn_am._am", "sklearn_am._eam", "sklearn_am._uam",
                          "sklearn_am._density", "sklearn_am._impute"]),
    ("public modules", ["sklearn_am.metrics", "sklearn_am.datasets", "sklearn_am.plotting",
                        "sklearn_am.model_selection",
                        "sklearn_am.skorch", "sklearn_am.anndata", "sklearn_am.demo",
                        "sklearn_am"]),
]
#: Class paths baked into pickles and skops trust lists: they must not move.
PICKLED = {
    "sklearn_am._am": "ActionMatchingRegressor",
    "sklearn_am._eam": "EntropicActionMatching",
    "sklearn_am._uam": "UnbalancedActionMatching",
    "sklearn_am._density": "ActionMatchingDensity",
    "sklearn_am._impute": "ActionMatchingImputer",
    "sklearn_am._dynamics": "Transport",
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        yield ".".join(parts), is_package, path


MODULES = {name: (is_package, path) for name, is_package, path in _modules()}


def _layer(module):
    best, depth = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and \
                    len(prefix) > depth:
                best, depth = index, len(prefix)
    return best


def _module_level_imports(name):
    """The sklearn_am modules ``name`` imports outside any function or class body."""
    is_package, path = MODULES[name]
    package = name if is_package else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        nodes = [node]
        if isinstance(node, (ast.If, ast.Try)):  # guarded imports count
            nodes = list(ast.walk(node))
        for item in nodes:
            if isinstance(item, ast.ImportFrom):
                if item.level:
                    base = package.split(".")
                    base = base[: len(base) - (item.level - 1)]
                    target = ".".join(base + ([item.module] if item.module else []))
                else:
                    target = item.module or ""
                if not target.startswith("sklearn_am"):
                    continue
                for alias in item.names:  # ``from . import _mirror`` names a module
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in MODULES else target)
            elif isinstance(item, ast.Import):
                found.update(a.name for a in item.names if a.name.startswith("sklearn_am"))
    found.discard(name)
    return {m for m in found if m in MODULES}


GRAPH = {name: _module_level_imports(name) for name in MODULES}


def test_every_module_has_a_layer():
    assert [m for m in MODULES if _layer(m) is None] == []


def test_no_module_imports_from_a_higher_layer():
    upward = [f"{m} ({LAYERS[_layer(m)][0]}) imports {t} ({LAYERS[_layer(t)][0]})"
              for m, targets in GRAPH.items() for t in targets
              if _layer(t) > _layer(m) and not m.startswith(t + ".")]
    assert upward == []


def test_the_import_graph_has_no_cycle():
    # A package's __init__ importing its own submodules is not a cycle of the graph.
    graph = {m: {t for t in ts if not t.startswith(m + ".") and not m.startswith(t + ".")}
             for m, ts in GRAPH.items()}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


@pytest.mark.parametrize("module, name", sorted(PICKLED.items()))
def test_pickled_class_paths_stay_put(module, name):
    import importlib

    assert getattr(importlib.import_module(module), name).__module__ == module


def test_private_scikit_learn_names_come_through_the_one_door():
    """Only ``utils/_sklearn.py`` imports scikit-learn's private names."""
    offenders = []
    for name, (_, path) in MODULES.items():
        if name == "sklearn_am.utils._sklearn":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                    node.module.split(".")[0] == "sklearn":
                offenders += [f"{name}: {node.module}.{alias.name}" for alias in node.names
                              if any(part.startswith("_")
                                     for part in [*node.module.split("."), alias.name])]
            elif isinstance(node, ast.Import):
                offenders += [f"{name}: {alias.name}" for alias in node.names
                              if alias.name.startswith("sklearn.") and "._" in alias.name]
    assert offenders == []
