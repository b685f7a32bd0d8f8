"""pytest-hypermodel: a robustness preflight for KerasTuner hypermodels.

Importing this package imports no deep-learning framework: the Python API imports Keras when it runs.

    report = pytest_hypermodel.preflight(build_model, x, y)
    report.guard(tuner).search(x, y, epochs=10)
"""

from importlib.metadata import PackageNotFoundError, version

from .api import PreflightError, PreflightFailed, Report, guard, preflight
from .expect import Expectation, expect
from .policy import Disposition, Policy
from .space import HypermodelWarning

try:
    __version__ = version("pytest-hypermodel")
except PackageNotFoundError:  # a checkout on sys.path, not installed
    __version__ = "0+unknown"


def __getattr__(name: str):
    """``HypermodelCase`` (what a ``search_space`` test receives) lives with the marker, which imports pytest."""
    if name == "HypermodelCase":
        from .marker import HypermodelCase

        return HypermodelCase
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Disposition", "Expectation", "HypermodelCase", "HypermodelWarning", "Policy", "PreflightError",
    "PreflightFailed", "Report", "__version__", "expect", "guard", "preflight",
]
