"""The package's structure: the layers of DESIGN.md (import-linter's contracts, in pyproject.toml), no import cycle,
and a public API that a strictly typed user file can use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).parents[2]


def _cycles(graph: grimp.ImportGraph, package: str) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if other not in modules:
                continue
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = set()
            while True:
                other = stack.pop()
                component.add(other)
                if other == module:
                    break
            if len(component) > 1:
                found.append(component)

    for module in modules:
        if module not in index:
            visit(module)
    return found


def test_the_package_has_no_import_cycle():
    graph = grimp.build_graph("pytest_hypermodel", exclude_type_checking_imports=True)
    assert _cycles(graph, "pytest_hypermodel") == []


def test_the_layer_contracts_hold():
    done = subprocess.run([str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "5 kept, 0 broken" in done.stdout


def test_a_strictly_typed_user_file_accepts_the_api():
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
         "--ignore-missing-imports",  # Keras and KerasTuner ship no type information
         str(ROOT / "tests" / "typing" / "notebook.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]


def test_the_public_names_are_exported():
    import pytest_hypermodel

    for name in ("preflight", "Report", "guard", "PreflightFailed", "PreflightError", "Policy", "HypermodelCase",
                 "HypermodelWarning", "expect", "__version__"):
        assert hasattr(pytest_hypermodel, name), name
    assert pytest_hypermodel.HypermodelCase.__name__ == "HypermodelCase"
