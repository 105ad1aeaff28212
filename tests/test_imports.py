"""The house plan's import rules, read from the source: no import circles among photosieve's
modules (an import under TYPE_CHECKING or inside a function counts), and the shared rooms never
import from daemon/, labeler/ or commands/."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import photosieve

PACKAGE = Path(photosieve.__file__).parent
SHARED = (
    "vision",
    "model",
    "files",
    "quarantine",
    "library",
    "state",
    "state_schema",
    "state_copies",
    "config",
    "dating",
    "naming",
)
ROOMS_ABOVE = ("daemon", "labeler", "commands")
# Modules that import TensorFlow: imported here only where it is installed.
NEEDS_TF = ("photosieve.trainer", "photosieve.model.tf")


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(module: str) -> Iterator[str]:
    """Every photosieve module that `module` imports, anywhere in its source."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1]])
                base = f"{base}.{node.module}" if node.module else base
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        yield from (n for n in names if n in MODULES and n != module)


GRAPH = {m: set(_imports(m)) for m in MODULES}


def _cycle_from(start: str) -> list[str] | None:
    """A path start -> ... -> start through the import graph, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in GRAPH[node]:
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def _is_package_init(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def test_no_import_circles() -> None:
    # `from photosieve.x import y` also names the package photosieve.x; a package's
    # __init__ that imports nothing cannot close a circle, so edges into it are harmless.
    cycles = {}
    for module in MODULES:
        if _is_package_init(module) and not GRAPH[module]:
            continue
        cycle = _cycle_from(module)
        if cycle is not None:
            cycles[module] = " -> ".join(cycle)
    assert cycles == {}


def _room(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_shared_rooms_never_import_the_rooms_above_them() -> None:
    offences = [
        f"{module} imports {other}"
        for module in MODULES
        if _room(module) in SHARED
        for other in GRAPH[module]
        if _room(other) in ROOMS_ABOVE
    ]
    assert offences == []


def test_the_graph_sees_imports() -> None:
    """The reader must find the edges it judges, or the tests above could not fail."""
    assert "photosieve.library" in GRAPH["photosieve.daemon.pipeline"]
    assert "photosieve.state" in GRAPH["photosieve.quarantine.restore"]
    assert _cycle_from("photosieve.state") is None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_imports(module: str) -> None:
    if module.startswith(NEEDS_TF):
        pytest.importorskip("tensorflow")
    imported = importlib.import_module(module)
    assert imported.__doc__, f"{module} opens with no docstring stating its role"
