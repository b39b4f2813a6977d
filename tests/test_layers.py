"""The package's layers: every import inside deidengine goes forward along one order.

The order, lowest first (a module may import its own layer and any layer below it):

0. ``standard``, ``core``, ``errors`` (the root of the engine's exceptions), ``schemas._base``
   (the documents' shared pydantic base) and the root package's own names (``ENGINE_NAME``,
   ``__version__``): the standard's tables and the lean element reader/writer; they know
   nothing of policies.
1. ``policy`` and ``schemas.policy`` (the documents the policy commands write): the language.
2. ``dicom``: applying a compiled plan to one dataset.
3. ``text``: the free-text stage, which works on dicom's values.
4. ``pixels``: per-image gating, detection and redaction.
5. ``provenance``: what the engine stamps into its outputs and how it reads the stamps back.
6. ``verify`` and ``schemas.verify``: per-file checks of an output.
7. ``run`` and ``schemas.audit``/``detect``/``quarantine``: whole trees, the pipeline, audit.
8. ``api``, ``serve`` and ``schemas.serve``: the two front ends that drive a run.
9. ``schemas`` (the package, ``generate``, ``__main__``): every document's JSON Schema.
10. ``cli``: the ``deid`` program.

Each ``schemas`` module sits beside the layer whose documents it describes, since it imports that
layer's values. The root package is a facade: its own imports (the lazy re-export of ``api``) are
not checked, and importing it from below is allowed only for its two constants, so the test checks
the names imported.

Every import counts, including those inside functions and under ``TYPE_CHECKING``: a lazy import
is still a dependency, only a later one.

``BACKWARD`` lists the imports that still go the wrong way (issue #16's "Layout that shows the
flow"); it is empty. The tree-level commands moved up beside ``run`` (``verify.tree`` became
``run.verify_tree``, ``pixels.survey`` became ``run.detect_tree``), and the header stage no longer
imports the free-text stage: it receives it as a value (``dicom.free_text.TextCleaner`` in its
``EngineContext``; ``text.header.clean_header_text`` is the stage's own, passed in by ``run``).
The test fails both on a new backward import and on a listed one that has gone, so the list only
shrinks.

Inside a layer, imports may go either way but never round in a loop: the graph of module
imports (``from package import module`` counts as an import of that module, and a package's
``__init__`` only when a name defined there is imported) has no cycle except those listed in
``LOOPS`` (empty now: policy diagnostics and verify findings no longer build their own
pydantic documents; ``schemas.policy`` and ``schemas.verify`` build them from the values), which
likewise only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

import deidengine

PACKAGE: Final = Path(deidengine.__file__).parent

LAYERS: Final[tuple[tuple[str, ...], ...]] = (
    ("standard", "core", "errors", "schemas._base"),
    ("policy", "schemas.policy"),
    ("dicom",),
    ("text",),
    ("pixels",),
    ("provenance",),
    ("verify", "schemas.verify"),
    ("run", "schemas.audit", "schemas.detect", "schemas.quarantine"),
    ("api", "serve", "schemas.serve"),
    ("schemas",),
    ("cli",),
)

ROOT_NAMES: Final = frozenset({"ENGINE_NAME", "__version__"})
"""What a module below the top may import from the root package itself."""

BACKWARD: Final[frozenset[tuple[str, str]]] = frozenset()
"""Imports that go down the order today, as (importer, imported) module names."""


LOOPS: Final[frozenset[frozenset[str]]] = frozenset()
"""Import loops that exist today, each as the set of modules in one strongly connected part."""


def layer_of(module: str) -> int:
    """The rank of ``module`` (a dotted name under ``deidengine``): its longest listed prefix."""
    inner = module.removeprefix("deidengine.")
    best, rank = -1, -1
    for index, names in enumerate(LAYERS):
        for name in names:
            if (inner == name or inner.startswith(name + ".")) and len(name) > best:
                best, rank = len(name), index
    assert rank >= 0, f"{module} is in no layer; add it to LAYERS"
    return rank


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every (module, names) that module ``name`` at ``path`` imports from deidengine, at any
    depth in the file; relative imports are resolved against ``name``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.append((target, tuple(alias.name for alias in node.names)))
    return [(target, names) for target, names in found if target.split(".")[0] == "deidengine"]


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def backward_imports() -> set[tuple[str, str]]:
    backward: set[tuple[str, str]] = set()
    for path in modules():
        importer = module_name(path)
        if importer == "deidengine":
            continue
        for target, names in imports(path, importer):
            if target == "deidengine":
                assert set(names) <= ROOT_NAMES, f"{importer} imports {names} from the facade"
                continue
            if layer_of(target) > layer_of(importer):
                backward.add((importer, target))
    return backward


def import_graph() -> dict[str, set[str]]:
    """Each module's imported modules inside deidengine (the facade left out)."""
    names = {module_name(path) for path in modules()}
    graph: dict[str, set[str]] = {}
    for path in modules():
        importer = module_name(path)
        if importer == "deidengine":
            continue
        targets = graph.setdefault(importer, set())
        for target, imported in imports(path, importer):
            if target == "deidengine":
                continue
            submodules = {f"{target}.{name}" for name in imported if f"{target}.{name}" in names}
            targets |= submodules
            if target in names and (not imported or len(submodules) < len(imported)):
                targets.add(target)
    return graph


def loops(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected parts of ``graph`` with more than one module (Tarjan's walk)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            part = {stack.pop()}
            while module not in part:
                part.add(stack.pop())
            if len(part) > 1:
                found.add(frozenset(part))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_every_module_has_a_layer() -> None:
    for path in modules():
        if (name := module_name(path)) != "deidengine":
            layer_of(name)


def test_imports_go_forward_except_the_listed_backward_ones() -> None:
    backward = backward_imports()
    assert backward - BACKWARD == set(), "new imports against the layer order"
    assert BACKWARD - backward == set(), "a listed backward import has gone: drop it from BACKWARD"


def test_the_check_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    source = "def f():\n    from deidengine.run import discover\n    from . import vr\n"
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    assert imports(path, "deidengine.dicom.probe") == [
        ("deidengine.run", ("discover",)),
        ("deidengine.dicom", ("vr",)),
    ]
    assert layer_of("deidengine.run") > layer_of("deidengine.dicom")
    assert layer_of("deidengine.schemas.policy") < layer_of("deidengine.dicom")
    assert layer_of("deidengine.schemas.generate") > layer_of("deidengine.serve")


def test_no_import_loops_except_the_listed_ones() -> None:
    found = loops(import_graph())
    assert found - LOOPS == set(), "a new import loop"
    assert LOOPS - found == set(), "a listed import loop has gone: drop it from LOOPS"


def test_the_loop_check_finds_a_loop_through_private_helpers() -> None:
    # The loop run.executor <-> run.dask_executor had before run.worker_protocol took the
    # shared names: a lazy import one way, a module-level one the other.
    graph = {
        "deidengine.run.executor": {"deidengine.run.dask_executor", "deidengine.run.outcome"},
        "deidengine.run.dask_executor": {"deidengine.run.executor"},
        "deidengine.run.outcome": set(),
    }
    assert loops(graph) == {frozenset({"deidengine.run.executor", "deidengine.run.dask_executor"})}
    graph["deidengine.run.dask_executor"] = {"deidengine.run.worker_protocol"}
    assert loops(graph) == set()


def test_the_graph_counts_a_package_only_for_its_own_names() -> None:
    names = {module_name(path) for path in modules()}
    graph = import_graph()
    assert "deidengine.run.worker_protocol" in graph["deidengine.run.dask_executor"]
    assert "deidengine.run.executor" not in graph["deidengine.run.dask_executor"]
    assert "deidengine.text" in names
    assert "deidengine.text" not in graph["deidengine.text.stage"]  # imports submodules only
