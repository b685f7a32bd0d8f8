"""The package's structure: the layers of docs/contributing.md (import-linter's contracts, in pyproject.toml), every
module in one of them, no import cycle, a top-level import that loads no module, and a public API that a strictly
typed user file can use."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest's own dependency before 3.11
    import tomli as tomllib

ROOT = Path(__file__).parents[2]
PACKAGE = "pytest_hypermodel"


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
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "6 kept, 0 broken" in done.stdout


def test_a_strictly_typed_user_file_accepts_the_api():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--no-incremental",
            "--ignore-missing-imports",  # Keras and KerasTuner ship no type information
            str(ROOT / "tests" / "typing" / "notebook.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]


def test_the_public_names_are_exported():
    import pytest_hypermodel

    for name in (
        "preflight",
        "Report",
        "guard",
        "PreflightFailed",
        "PreflightError",
        "Policy",
        "HypermodelCase",
        "HypermodelWarning",
        "expect",
        "__version__",
    ):
        assert hasattr(pytest_hypermodel, name), name
    assert pytest_hypermodel.HypermodelCase.__name__ == "HypermodelCase"


def _modules(directory: Path, prefix: str) -> Iterator[str]:
    """Every module and package under ``directory``, found on disk: nothing is imported."""
    for found in pkgutil.iter_modules([str(directory)]):
        name = f"{prefix}.{found.name}"
        yield name
        if found.ispkg:
            yield from _modules(directory / found.name, name)


def _layers() -> list[str]:
    """The packages and modules that the top "layers" contract (the one over the whole package) names."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (whole,) = [c for c in contracts if c["type"] == "layers" and not c.get("containers")]
    return [part.strip() for layer in whole["layers"] for siblings in layer.split("|") for part in siblings.split(":")]


def test_every_module_of_the_package_sits_in_a_layer():
    """A module outside every layer is one that import-linter checks no arrow of: each must be under a layer."""
    layers = _layers()
    assert layers and all(layer.startswith(PACKAGE + ".") for layer in layers), layers
    modules = sorted(_modules(ROOT / PACKAGE, PACKAGE))
    assert f"{PACKAGE}.plugin" in modules  # the walk found the package, not an empty folder
    outside = [m for m in modules if not any(m == layer or m.startswith(layer + ".") for layer in layers)]
    assert outside == [], f"modules in no layer of pyproject.toml's layers contract: {outside}"


def test_importing_the_package_imports_none_of_its_modules():
    """``import pytest_hypermodel`` loads its public names on first use: a run that loads the plugin without using
    it, or a script that only reads ``__version__``, pays for none of the layers."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pytest_hypermodel, sys; print([m for m in sys.modules if m.startswith('pytest_hypermodel.')])",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"
