"""A preflight of the test hypermodels (tests/hypermodels) in this process, as the plugin's pytester runs have it.

The engine behind ``--hypermodel``, with what ``hypermodel_dir`` (tests/conftest.py) gives the plugin's runs, and
isolation off: no pytest process to start and no probe process, so no backend import (a pytester run costs one or
two). The plugin's own tests keep what only a pytest run shows.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.probe import parent
from pytest_hypermodel.space.target import Target

HYPERMODELS = Path(__file__).parent / "hypermodels"

#: What tests/conftest.py's hypermodel_dir sets for the plugin's runs, and isolation off.
OPTIONS = {
    "hypermodel_isolation": "off",
    "hypermodel_boundaries": "off",
    "hypermodel_strategy": "extremes,corners",
    "hypermodel_memory_growth": "0",
    "hypermodel_rehearsal": "off",
}


def target(spec: str) -> Target:
    """``outcomes.py:healthy``: that hypermodel of tests/hypermodels, under the SPEC a pytester run gives it."""
    file, _, name = spec.partition(":")
    module = importlib.import_module(f"tests.hypermodels.{file.removesuffix('.py')}")
    return Target(spec, HYPERMODELS / file, name, getattr(module, name))


def preflight_here(rootpath: Path, *specs: str, data: Any = None, **options: str) -> dict[str, Any]:
    """The JSON report's payload of a preflight of ``specs``; ``options`` by their ini names (``hypermodel_tuner``)
    over :data:`OPTIONS`. The payload's cases by their names (``healthy[size=2]``): :func:`by_name`."""
    chosen = settings.read(settings.MappingSource({**OPTIONS, **options}))
    with Engine(chosen, rootpath) as engine:
        return engine.run([target(spec) for spec in specs], data)


def by_name(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The cases of a payload by the name their pytest item has (``healthy[size=2]``)."""
    return {case["nodeid"].partition("::")[2]: case for case in payload["cases"]}


def probe_ready_in(rootpath: Path) -> tuple[float, str]:
    """Seconds until a new probe process has imported its backend, and its kind (``SpawnProcess``: spawned;
    ``WarmProcess``: forked from the warm process, ``probe.warm``)."""
    probe = parent.ProbeProcess(rootpath)
    try:
        started = time.perf_counter()
        probe.ready()
        return time.perf_counter() - started, type(probe._process).__name__
    finally:
        probe.close()
