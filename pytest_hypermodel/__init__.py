"""pytest-hypermodel: a robustness preflight for KerasTuner hypermodels.

Importing this package imports nothing but itself: the public names load on first use, so a pytest run that
loads the plugin without using it pays for neither the engine nor a deep-learning framework.

    report = pytest_hypermodel.preflight(build_model, x, y)
    report.guard(tuner).search(x, y, epochs=10)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what a type checker and an IDE see; at run time each name loads on first use
    from pytest_hypermodel.api import PreflightError, PreflightFailed, Report, guard, preflight
    from pytest_hypermodel.plugin.marker import HypermodelCase
    from pytest_hypermodel.rules.expect import Expectation, expect
    from pytest_hypermodel.rules.policy import Disposition, Policy
    from pytest_hypermodel.space.hyperparameters import HypermodelWarning

# Each public name and the module that defines it.
_PUBLIC = {
    "PreflightError": "pytest_hypermodel.api",
    "PreflightFailed": "pytest_hypermodel.api",
    "Report": "pytest_hypermodel.api",
    "guard": "pytest_hypermodel.api",
    "preflight": "pytest_hypermodel.api",
    "HypermodelCase": "pytest_hypermodel.plugin.marker",
    "Expectation": "pytest_hypermodel.rules.expect",
    "expect": "pytest_hypermodel.rules.expect",
    "Disposition": "pytest_hypermodel.rules.policy",
    "Policy": "pytest_hypermodel.rules.policy",
    "HypermodelWarning": "pytest_hypermodel.space.hyperparameters",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("pytest-hypermodel")
        except PackageNotFoundError:  # a checkout on sys.path, not installed
            found = "0+unknown"
        globals()["__version__"] = found
        return found
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC, "__version__"])


__all__ = [
    "Disposition",
    "Expectation",
    "HypermodelCase",
    "HypermodelWarning",
    "Policy",
    "PreflightError",
    "PreflightFailed",
    "Report",
    "__version__",
    "expect",
    "guard",
    "preflight",
]
