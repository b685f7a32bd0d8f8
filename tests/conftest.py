"""Shared helpers: run the plugin for real in a pytester subprocess and read its JUnit report; mark the proofs."""

from __future__ import annotations

import fcntl
import gc
import json
import os
import re
import shutil
import signal
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_hypermodel.probe import devices

# In-process pytester runs restore sys.modules afterwards; TensorFlow cannot be
# imported twice in one process, so the outer run imports it first and keeps it
# (quietly: TensorFlow's start-up lines would bury the suite's output).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
devices.load_backend()
import keras_tuner  # noqa: F401


def _import_the_package() -> None:
    """Every module of the package, imported once here: a run in this process (``runpytest_inprocess``) drops the
    modules it imported when it ends, so the next run would import them again, and a record it pickles to the
    probe process (a ``PlanOptions``) would be of a class that is no longer the module's ("not the same
    object"). Imported before any run, they are kept."""
    import importlib
    import pkgutil

    import pytest_hypermodel

    for module in pkgutil.walk_packages(pytest_hypermodel.__path__, "pytest_hypermodel."):
        if module.name != "pytest_hypermodel.__main__":
            importlib.import_module(module.name)


_import_the_package()

pytest_plugins = "pytester"

HYPERMODELS = Path(__file__).parent / "hypermodels"
PROOFS = Path(__file__).parent / "proofs"


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m deselects: addopts' "not proof", .ci/run's "-m proof"
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/proofs is a proof (a real KerasTuner search, a fault matrix, every documented command):
    the default run leaves it out, ``-m proof`` runs exactly those (tests/README.md); one marked ``slow`` (minutes
    on a CPU) runs with ``-m slow`` only."""
    for item in items:
        if PROOFS in item.path.parents and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.proof)


#: A module's ``pytestmark = ... pytest.mark.xdist_group("name")``, as its source spells it.
_GROUP = re.compile(r"""^pytestmark\b.*\bxdist_group\(\s*(?:name=)?["']([^"']+)["']""", re.MULTILINE)


def module_groups(rootpath: Path) -> dict[str, str]:
    """Each test module's ``xdist_group`` by its path as node IDs spell it (relative to ``rootpath``)."""
    return {
        path.relative_to(rootpath).as_posix(): found.group(1)
        for path in Path(__file__).parent.rglob("test_*.py")
        if (found := _GROUP.search(path.read_text(encoding="utf-8")))
    }


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` (pyproject.toml) as xdist means it: a module whose tests share one real run
    (``once_per_run``) or module fixture stays on one worker, and the other worker does not sit waiting for it.

    xdist tells a test's group to its scheduler by appending ``@group`` to the node ID in each worker; since pytest
    9.2 that edit no longer takes (pytest-dev/pytest-xdist#1386: the groups were silently ignored, and a worker
    waited for the other's run up to 37 s at a time). Here the controller reads each module's ``xdist_group`` from
    its ``pytestmark`` line instead, and groups by it whichever pytest runs.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    groups = module_groups(config.rootpath)

    class ModuleGroups(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope: str = super()._split_scope(nodeid)
            if scope != nodeid:  # xdist told it (pytest before 9.2)
                return scope
            return groups.get(nodeid.partition("::")[0], nodeid)

    return ModuleGroups(config, log)


def pytest_configure(config: pytest.Config) -> None:
    """One warm process for the whole run (``probe.warm``): every probe process of the suite, in this process, its
    xdist workers and its pytester runs, is forked from it instead of importing TensorFlow anew (about 5 s of CPU
    each). Tests marked ``cold_start`` spawn theirs, as a user's run does by default."""
    from pytest_hypermodel.probe import warm

    if warm.VARIABLE not in os.environ and not hasattr(config, "workerinput"):
        server = warm.Server().__enter__()
        config.add_cleanup(server.__exit__)


@pytest.fixture(autouse=True)
def _cold_start_where_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test marked ``cold_start`` runs its probe processes as a user's run does by default: spawned."""
    if request.node.get_closest_marker("cold_start") is not None:
        from pytest_hypermodel.probe import warm

        monkeypatch.delenv(warm.VARIABLE, raising=False)


@pytest.fixture(scope="module")
def frozen_heap() -> Iterator[None]:
    """What exists before the module's first test out of the garbage collector's reach until its last, as the
    ``search`` command freezes before its trials (``search/run.py``): a real KerasTuner search collects twice a
    trial, and in an xdist worker that has run a few hundred tests a full collection walks about 800,000 objects
    (0.5 s). Once a module: the freeze's own collection is one of those."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.fixture(autouse=True)
def _frozen_heap_in_proofs(request: pytest.FixtureRequest) -> None:
    """Every proof runs real searches in this process: :func:`frozen_heap` for each."""
    if PROOFS in request.node.path.parents:
        request.getfixturevalue("frozen_heap")


@pytest.fixture
def no_memory_growth(monkeypatch: pytest.MonkeyPatch) -> None:
    """The measure of what a trial leaves behind (three more trials of the defaults case) off, for a module whose
    subject it is not (``pytestmark = pytest.mark.usefixtures("no_memory_growth")``): its own tests are
    ``plugin/test_memory.py``."""
    from pytest_hypermodel.engine import defaults

    monkeypatch.setitem(defaults.DEFAULTS, "hypermodel_memory_growth", "0")


@pytest.fixture(autouse=True)
def _rehearsal_only_where_it_is_the_subject(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rehearsal of the search (a KerasTuner search of its own after the cases) is off by default in the
    tests' preflights, as the boundaries are in ``hypermodel_dir``'s runs: a test whose subject it is is marked
    ``rehearsal`` (or passes it on)."""
    if request.node.get_closest_marker("rehearsal") is None:
        from pytest_hypermodel.engine import defaults

        monkeypatch.setitem(defaults.DEFAULTS, "hypermodel_rehearsal", "off")


@dataclass
class Testcase:
    name: str
    result: str  # passed | failed | skipped (pytest writes xfail as skipped)
    message: str
    properties: dict[str, str]


def read_junit(path: Path, forecasts: bool = False) -> dict[str, Testcase]:
    """The testcases of a JUnit file by name: the cases, and with ``forecasts`` the failing forecasts
    (``build[forecast]``) too."""
    cases = {}
    for node in ET.parse(path).getroot().iter("testcase"):
        if not forecasts and node.get("name", "").endswith("[forecast]"):
            continue
        props = {p.get("name"): p.get("value") for p in node.iter("property")}
        result, message = "passed", ""
        for child in node:
            if child.tag in ("failure", "error", "skipped"):
                result = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message = child.get("message", "")
        cases[node.get("name")] = Testcase(node.get("name"), result, message, props)
    return cases


@pytest.fixture
def hypermodel_dir(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester directory holding the test hypermodels as top-level modules.

    Its runs probe only their cases: a boundary search costs probes (and, for the fault hazards, probe-process
    restarts), a rehearsal of the search trials; the tests whose subject they are pass --hypermodel-boundaries=on
    or --hypermodel-rehearsal=on, which win over PYTEST_ADDOPTS. They
    plan the extremes and corners, whose cases most of them count (the guide's 4); the interior cases the default
    plan adds have tests of their own, which pass --hypermodel-strategy.
    """
    for source in HYPERMODELS.glob("*.py"):
        shutil.copy(source, pytester.path / source.name)
    # pytester cleared it
    # and no further trials of the defaults for the memory per trial (tests/test_memory.py's subject); nor
    # Hypothesis's pytest plugin, which the test extra installs and which would cost each pytest process of a run
    # (its xdist workers too) 0.8 s of CPU importing Hypothesis for tests that use none
    monkeypatch.setenv(
        "PYTEST_ADDOPTS",
        "--hypermodel-boundaries=off --hypermodel-strategy=extremes,corners --hypermodel-memory-growth=0 "
        "--hypermodel-rehearsal=off -p no:hypothesispytest",
    )
    return pytester


def _summary_shows_text() -> bool:
    """Whether pytest's short summary prints a failure's text when the item gave text, not a traceback (as the
    preflight's cases and forecast do): newer pytest does; pytest 8.1, the lowest supported, prints the id alone."""
    import inspect

    from _pytest import terminal

    return "isinstance(rep.longrepr, str)" in inspect.getsource(terminal._get_line_with_reprcrash_message)


SUMMARY_SHOWS_TEXT = _summary_shows_text()


def failed_line(nodeid: str, message: str) -> str:
    """The short summary's line for a preflight failure, as this pytest prints it (an fnmatch pattern)."""
    return f"FAILED {nodeid} - {message}" if SUMMARY_SHOWS_TEXT else f"FAILED {nodeid}"


def beside(pytester: pytest.Pytester, name: str) -> Path:
    """A file beside the pytester directory, not in it: a preflight puts back what the user's code writes in its
    project, so a hypermodel or conftest that logs for the test writes here."""
    return pytester.path.parent / f"{pytester.path.name}-{name}"


def run_here(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """A pytest run of the plugin in this process, the hypermodel's code in it too (isolation off): the outer run
    has the backend already, so no pytest process and no probe process start (each a backend import). For what
    the pytest face shows (items, the terminal, JUnit, exit codes) where the probe process is not the point."""
    sigterm = signal.getsignal(signal.SIGTERM)  # the plugin's handler is that run's, not this one's
    try:
        return pytester.runpytest_inprocess("--hypermodel-isolation=off", *args)
    finally:
        signal.signal(signal.SIGTERM, sigterm)


def run_preflight(
    pytester: pytest.Pytester, *args: str, timeout: float | None = None, here: bool = False
) -> tuple[pytest.RunResult, dict[str, Testcase]]:
    """``timeout``: seconds after which the run is killed and the test fails, where a regression would hang;
    ``here``: in this process (:func:`run_here`), else in a pytest subprocess."""
    xml = pytester.path / "preflight.xml"
    args = ("-p", "no:cacheprovider", f"--junitxml={xml}", *args)
    result = run_here(pytester, *args) if here else pytester.runpytest_subprocess(*args, timeout=timeout)
    return result, (read_junit(xml) if xml.exists() else {})


#: What ``once_per_run`` made in this process (no xdist), by name, as JSON: each test gets a fresh copy.
_MADE: dict[str, str] = {}


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], dict]) -> dict:
    """``make(folder)`` once per test run, whichever xdist worker asks first; the others wait and read its result.

    A module-scoped fixture runs once per module, and per worker that gets one of the module's tests: for a real
    preflight that is a backend import and every case again. Modules that share one ``name`` share the run too
    (give them one ``xdist_group``).
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:  # one process: its modules share it (as a module-scoped fixture would not)
        if name not in _MADE:
            _MADE[name] = json.dumps(make(tmp_path_factory.mktemp(name)))
        return json.loads(_MADE[name])
    shared = tmp_path_factory.getbasetemp().parent  # above each worker's own basetemp
    with open(shared / f"{name}-{run}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cached = shared / f"{name}-{run}.json"
        if not cached.exists():
            cached.write_text(json.dumps(make(tmp_path_factory.mktemp(name))))
        return json.loads(cached.read_text())


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its parent does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
