"""pytest hooks of pytest-hypermodel. Hooks only: the work lives in the other modules.

Nothing here imports Keras, TensorFlow or KerasTuner at module level: a pytest
run that does not pass ``--hypermodel`` never pays for them.

Option precedence: ini (``hypermodel_*`` in pytest.ini / pyproject.toml) <
command line.
"""

from __future__ import annotations

import os
import re
import signal
import warnings
from pathlib import Path
from typing import Any

import pytest

from pytest_hypermodel.probe import devices as devices_mod
from pytest_hypermodel.rules import policy as policy_mod
from pytest_hypermodel.plugin.options import (  # noqa: F401  (the names, which tests and other plugins import from here)
    NO_HYPERMODEL_OPTION, HYPERMODEL_OPTION, STRATEGY_OPTION, STRENGTH_OPTION, LEVELS_OPTION, MAX_CASES_OPTION, PLAN_OPTION,
    TUNER_OPTION, MAX_TRIALS_OPTION, MAX_ABORT_RISK_OPTION, DEVICES_OPTION, TIMEOUT_OPTION, ISOLATE_OPTION,
    ISOLATION_OPTION, EPOCHS_OPTION, SAMPLES_OPTION, INPUT_SHAPE_OPTION, REPORT_OPTION, HTML_OPTION,
    MEMORY_BUDGET_OPTION, MEMORY_GROWTH_OPTION, MAX_MODEL_SIZE_OPTION, MAX_RETRIES_OPTION, MAX_CONSECUTIVE_OPTION, BOUNDARIES_OPTION,
    BOUNDARIES_SECONDS_OPTION, FIX_OPTION, OBJECTIVE_OPTION, PROJECT_OPTION, SEARCH_DATA_OPTION, CASE_FIXTURE, MARKER, MARKER_SIGNATURE,
)
from pytest_hypermodel.plugin.options import (  # noqa: F401  (probe_settings: public here since the marker first read it)
    ConfigSource, policy_from_config, preflight_settings, probe_settings, search_data, setting, check_search_data,
)
from pytest_hypermodel.engine import settings as settings_mod
from pytest_hypermodel.engine.settings import DEFAULTS, ISOLATION_MODES
from pytest_hypermodel.space.hyperparameters import HypermodelWarning  # noqa: F401  (public here since the first release)

PREFLIGHTS_KEY = pytest.StashKey[list]()
HANDOFF_KEY = pytest.StashKey[Path]()
#: The gateway id of the worker that plans, once xdist has configured it.
PLANNER_KEY = pytest.StashKey[str]()
DEVICES_KEY = pytest.StashKey[list]()
WORKER_DEVICE = "hypermodel_device"
WORKER_THREADS = "hypermodel_threads"
#: The file where the controller puts the plans once made; a worker on this machine waits for it (see ``handoff``).
WORKER_PLANS_FILE = "hypermodel_plans_file"
#: Set for the one worker that plans (the first on the controller's machine): the others, and the controller, wait.
WORKER_PLANNER = "hypermodel_planner"
#: pytest's cache key of the last results of every case, for the forecast of a run that reruns some (--lf, -k).
CACHE_ENTRIES = "hypermodel/entries"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hypermodel", "robustness preflight of KerasTuner hypermodels")
    group.addoption(
        NO_HYPERMODEL_OPTION, action="store_true", dest="no_hypermodel", default=False,
        help="run no preflight, whatever the ini file's hypermodel lists (the tests run as without the plugin)",
    )
    group.addoption(
        HYPERMODEL_OPTION, action="append", dest="hypermodel", default=[], metavar="SPEC",
        help="probe the search space of SPEC (path/to/file.py:name, package.module:name, or a name in "
        "conftest.py); repeatable. Without test paths on the command line only the preflight runs.",
    )
    group.addoption(STRATEGY_OPTION, dest="hypermodel_strategy", metavar="NAMES",
                    help="cases to plan: default, extremes, corners, grid, or a comma list "
                    "(default: extremes,corners,interior)")
    group.addoption(STRENGTH_OPTION, dest="hypermodel_strength", type=int, metavar="T",
                    help="corners cover every combination of levels of any T hyperparameters (default: 2)")
    group.addoption(LEVELS_OPTION, dest="hypermodel_levels", type=int, metavar="2|3",
                    help="levels of a numeric hyperparameter: 2 extremes, or 3 with the default (default: 2)")
    group.addoption(MAX_CASES_OPTION, dest="hypermodel_max_cases", type=int, metavar="N",
                    help="cap on the cases of one hypermodel; the cap and what it drops are reported (default: 256)")
    group.addoption(PLAN_OPTION, dest="hypermodel_plan", action="store_true", default=None,
                    help="print the plan of each hypermodel and list its cases, as --collect-only does, without fitting "
                    "anything")
    group.addoption(EPOCHS_OPTION, dest="hypermodel_epochs", type=int, metavar="N",
                    help="epochs of the short fit of each case (default: 3)")
    group.addoption(SAMPLES_OPTION, dest="hypermodel_samples", type=int, metavar="N",
                    help="examples of synthesized data per case (default: 32)")
    group.addoption(INPUT_SHAPE_OPTION, action="append", dest="hypermodel_input_shape", metavar="SHAPE",
                    help="for a model that declares no keras.Input: the shape of one example, without the batch "
                    "dimension (28,28); repeat it for several inputs, or name=28,28 for named ones. The model's own "
                    "input, and the hypermodel_data fixture, win")
    group.addoption(TUNER_OPTION, dest="hypermodel_tuner", metavar="NAME",
                    help="the tuner the search will use, for the forecast: GridSearch (its own trials are probed "
                    "too), RandomSearch, BayesianOptimization or Hyperband (default: RandomSearch)")
    group.addoption(MAX_TRIALS_OPTION, dest="hypermodel_max_trials", type=int, metavar="N",
                    help="the search's max_trials, for the forecast (default: the whole grid; 10 otherwise)")
    group.addoption(MAX_ABORT_RISK_OPTION, dest="hypermodel_max_abort_risk", type=float, metavar="P",
                    help="a random-order search estimated to abort with a probability above P fails the run "
                    "(default: 0.5)")
    group.addoption(DEVICES_OPTION, dest="hypermodel_devices", metavar="auto|cpu|0,1",
                    help="GPUs for the cases: each xdist worker is pinned to one, round-robin, before Keras is "
                    "imported (default: auto, every visible GPU, else the CPU)")
    group.addoption(TIMEOUT_OPTION, dest="hypermodel_timeout", type=float, metavar="SECONDS",
                    help="a case running longer is reported as timeout and the run goes on (default: none)")
    group.addoption(ISOLATION_OPTION, dest="hypermodel_isolation", choices=ISOLATION_MODES,
                    help="where the hypermodel's code runs: process (one probe process per pytest process or xdist "
                    "worker, restarted after a crash: an abort, a segfault or a hang is that case's result), case (a "
                    "fresh process per case: nothing a case leaves behind reaches the next), off (in pytest itself: "
                    "fastest, but a crash ends the run) (default: process)")
    group.addoption(ISOLATE_OPTION, dest="hypermodel_isolate", action="store_true", default=None,
                    help=f"short for {ISOLATION_OPTION}=case")
    group.addoption(BOUNDARIES_OPTION, dest="hypermodel_boundaries", choices=("on", "off"),
                    help="after the cases, bisect each failing numeric hyperparameter to its last passing and first "
                    "failing value, propose a repair of the space and run the preflight of the repaired space "
                    "(default: on)")
    group.addoption(BOUNDARIES_SECONDS_OPTION, dest="hypermodel_boundaries_seconds", metavar="SECONDS",
                    help="a safety cap on the wall clock of one hypermodel's boundaries, which stop after 64 "
                    "probes, the same on a loaded machine (default: 10 times as long as its cases took, at least "
                    "600 s); reported when hit")
    group.addoption(FIX_OPTION, dest="hypermodel_fix", action="store_true", default=None,
                    help="write a repair that was verified green into the build file (default: only show its diff)")
    group.addoption(REPORT_OPTION, dest="hypermodel_report", metavar="PATH",
                    help="write the preflight's JSON report to PATH (rewritten after every case)")
    group.addoption(HTML_OPTION, dest="hypermodel_html", metavar="PATH",
                    help="write a self-contained HTML report to PATH: per hypermodel the forecast, heatmaps of the "
                    "outcomes over pairs of hyperparameters, the boundaries, the repair and every case")
    group.addoption(MEMORY_BUDGET_OPTION, dest="hypermodel_memory_budget", metavar="SIZE",
                    help="predict OOM for cases estimated over SIZE to train, e.g. 2GiB (default: none)")
    group.addoption(MEMORY_GROWTH_OPTION, dest="hypermodel_memory_growth", metavar="SIZE",
                    help="fail the default case when each further trial of it keeps more than SIZE of resident "
                    "memory (default 4MiB; 0 turns the check off, and its 2 or 3 more trials)")
    group.addoption(MAX_MODEL_SIZE_OPTION, dest="hypermodel_max_model_size", type=int, metavar="PARAMS",
                    help="KerasTuner's max_model_size: more parameters fail the trial (default: none)")
    group.addoption(MAX_RETRIES_OPTION, dest="hypermodel_max_retries_per_trial", type=int, metavar="N",
                    help="KerasTuner's max_retries_per_trial (default: 0)")
    group.addoption(MAX_CONSECUTIVE_OPTION, dest="hypermodel_max_consecutive_failed_trials", type=int,
                    metavar="N", help="KerasTuner's max_consecutive_failed_trials (default: 3)")
    group.addoption(PROJECT_OPTION, dest="hypermodel_project", metavar="DIR/NAME",
                    help="the search's KerasTuner directory/project_name: when it holds an oracle.json with another "
                    "search space (which KerasTuner would reload unless overwrite=True), the run stops with a usage "
                    "error; only read, never written (default: none)")
    group.addoption(OBJECTIVE_OPTION, dest="hypermodel_objective", metavar="NAME",
                    help="the search's objective (val_accuracy, val_auc:max, or a comma list): each case's fit must "
                    "log it, as KerasTuner's trial requires; synthesized data then includes validation data for a "
                    "val_ objective (default: none, not checked)")
    group.addoption(SEARCH_DATA_OPTION, dest="hypermodel_search_data", metavar="MODULE:CALLABLE",
                    help="a callable returning what you pass to tuner.search: (x, y), or a dict of its keyword "
                    "arguments (x, y, validation_data, batch_size, callbacks, epochs...); each case fits on it, cut "
                    "to a few batches and the probe's epochs (the search command's --data takes the same) "
                    "(default: data synthesized from the model)")
    parser.addini("hypermodel", "SPECs probed on every run, one per line", type="linelist", default=[])
    for name, default in DEFAULTS.items():  # every option's ini twin, with the one default the Python API uses too
        kind = "bool" if isinstance(default, bool) else "linelist" if isinstance(default, list) else None
        parser.addini(name, _INI_HELP.get(name, f"default for --{name.replace('_', '-')}"), type=kind, default=default)


_INI_HELP = {
    "hypermodel_input_shape": "default for --hypermodel-input-shape, one SHAPE per line",
    "hypermodel_on": "policy mapping, one NAME=fail_trial|retry|fatal per line (NAME: an exception class or an "
    "outcome: nan, diverged, oom, timeout, crash)",
}


def _pin_device(config: pytest.Config) -> None:
    """Pin this process to its device (and a worker to its share of the cores) before anything imports Keras."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and WORKER_DEVICE in workerinput:
        devices_mod.pin(workerinput[WORKER_DEVICE], workerinput.get(WORKER_THREADS))
        return
    try:
        devices = devices_mod.parse(setting(config, "hypermodel_devices"))
    except devices_mod.DeviceError as exc:
        raise pytest.UsageError(str(exc)) from None
    devices = devices_mod.detect() if devices is None else devices
    if workerinput is not None:  # a worker on another machine (--tx ssh=...): its own GPUs, its own cores
        devices_mod.pin(devices_mod.assign(devices_mod.worker_index(workerinput.get("workerid")), devices))
        return
    config.stash[DEVICES_KEY] = devices
    distributed = getattr(config.option, "dist", "no") != "no"
    # Under xdist the controller only discovers spaces: it stays on the CPU, the GPUs go to the workers.
    devices_mod.pin("" if distributed else devices_mod.assign(0, devices))
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(config), "hypermodel-xdist")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER_SIGNATURE}: run the test once per planned case of the search space of `build` (a build "
        "function or a keras_tuner.HyperModel); the hypermodel_case fixture gives the case's values, hp, built "
        "model and probe result. A case KerasTuner would not complete fails (a declared failure xfails) before "
        "the test body runs. expect=[pytest_hypermodel.expect(when=lambda v: ..., raises=FailedTrialError)] "
        "declares the cases that must fail; policy=pytest_hypermodel.Policy(...) overrides hypermodel_policy.",
    )
    preflight_settings(config)  # cheap: a typo in the ini is reported whether or not a hypermodel is in use
    specs = list(config.getoption("hypermodel") or [])
    # SPECs from the ini file are relative to its directory, as pytest's own ini paths are.
    base = None
    if not specs and not config.getoption("no_hypermodel"):
        specs = list(config.getini("hypermodel"))
        base = config.inipath.parent if config.inipath else None
        if specs and config.args_source == pytest.Config.ArgsSource.ARGS and config.args:
            # Paths or node ids on the command line narrow the run, as in pytest: the ini's SPECs they name.
            specs = [spec for spec in specs if _named(spec, config, base)]
    if not specs:
        return
    specs = list(dict.fromkeys(spec.strip() for spec in specs))  # a SPEC given twice runs once
    _pin_device(config)
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # `pytest --hypermodel SPEC` alone runs the preflight, not the whole test suite.
        config.args = []
    config.option.keyword = keyword_values(getattr(config.option, "keyword", "") or "")
    if setting(config, "hypermodel_plan"):
        # The plan is a collection: print it and list the cases as --collect-only does, fit nothing.
        config.option.collectonly = True
    config.pluginmanager.register(PreflightPlugin(specs, base), "hypermodel-preflight")
    if not hasattr(config, "workerinput"):
        try:
            settings_mod.check_outputs(ConfigSource(config))
        except settings_mod.SettingError as exc:
            raise pytest.UsageError(str(exc)) from None
        _interrupt_on_sigterm()
        config.pluginmanager.register(PreflightReporter(config), "hypermodel-reporter")


#: ``units=8`` in a -k expression: pytest's grammar has no ``=``, so it reads ``units:8``, a keyword of each case.
_VALUE = re.compile(r"(?<=[\w\]])=(?=[\w.+-])")


def keyword_values(expression: str) -> str:
    """``-k "cnn and conv_blocks=5"`` as pytest can parse it: each ``name=value`` as the keyword ``name:value``."""
    return _VALUE.sub(":", expression)


def _named(spec: str, config: pytest.Config, base: Path | None) -> bool:
    """Whether the command line's paths name the file of ``spec`` (it, or a directory above it)."""
    from pytest_hypermodel.space import target as spec_mod

    try:
        found = spec_mod.locate(spec, config.rootpath, (config.rootpath / "conftest.py").is_file(), base)
    except spec_mod.SpecError:
        return True  # told at start-up, as a SPEC on the command line is
    return found.path is not None and _given(config, found.path)


def _given(config: pytest.Config, path: Path) -> bool:
    """Whether a path on the command line (or a node id in it) is ``path`` or a directory above it."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False
    start = config.invocation_params.dir
    for arg in config.args:
        given = Path(arg.split("::")[0])
        given = (given if given.is_absolute() else start / given).resolve()
        if given == path or given in path.parents:
            return True
    return False


def _interrupt_on_sigterm() -> None:
    """A CI runner cancels with SIGTERM: end the session as Ctrl-C does, so JUnit, JSON and forecast are written."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return  # someone else's handler: leave it

    def interrupt(signum, frame):
        from pytest_hypermodel.rules import outcomes

        outcomes.INTERRUPT_RECEIVED.set()  # a real signal: the case it lands in is not to blame
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
        raise KeyboardInterrupt("SIGTERM")

    try:
        signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        pass


@pytest.fixture
def hypermodel_data(pytestconfig: pytest.Config) -> Any:
    """Data for each case's short fit; ``None`` synthesizes it from the model's specs.

    What ``--hypermodel-search-data`` returns, when given. Override in conftest.py to return ``(x, y)``, a dict
    of ``tuner.search`` keyword arguments with ``x`` and ``y``, or a callable ``(model, values)`` returning
    either.
    """
    return search_data(pytestconfig)


@pytest.fixture
def hypermodel_policy(pytestconfig: pytest.Config) -> policy_mod.Policy:
    """The policy every case is judged by; override in conftest.py to set it from Python."""
    return policy_from_config(pytestconfig)


@pytest.fixture
def hypermodel_case(request: pytest.FixtureRequest, hypermodel_data: Any, hypermodel_policy: policy_mod.Policy):
    """One probed case of a ``@pytest.mark.search_space`` test: values, hp, model, result."""
    if not hasattr(request, "param"):
        pytest.fail(f"the hypermodel_case fixture needs @pytest.mark.{MARKER_SIGNATURE} on the test", pytrace=False)
    from pytest_hypermodel.plugin import marker

    return marker.probe_case(request, hypermodel_data, hypermodel_policy)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if CASE_FIXTURE in metafunc.fixturenames:
        devices_mod.load_backend()
        from pytest_hypermodel.plugin import marker

        marker.parametrize(metafunc)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """A test module that cannot be imported because of ``@pytest.mark.search_space(build_model)`` says so."""
    rep = yield
    if rep.failed and isinstance(collector, pytest.Module):
        from pytest_hypermodel.plugin import marker

        hint = marker.misuse(collector.path)
        if hint:
            rep.longrepr = hint
    return rep


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    case = getattr(item, "funcargs", {}).get(CASE_FIXTURE)
    if case is not None:
        from pytest_hypermodel.plugin import marker

        marker.enforce(item, case)


def _engine(config: pytest.Config):
    """This pytest process's engine (made in pytest_sessionstart)."""
    from pytest_hypermodel.plugin import collect

    return config.stash[collect.ENGINE_KEY]


class PreflightPlugin:
    """Resolves the SPECs, discovers their spaces and adds their cases to the collection (through the engine)."""

    def __init__(self, specs: list[str], base: Path | None) -> None:
        self.specs = specs
        self.base = base
        #: Set on an xdist controller: it plans in pytest_collection, while its workers start.
        self.deferred = False
        #: The spaces' warnings, each with the build function's (file, line): issued in pytest_collection.
        self.warnings: list[tuple[Warning, tuple[str, int] | None]] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionstart(self, session: pytest.Session):
        """Before the other plugins start: the engine, and a mistyped SPEC refused before anything is imported.
        After them (pytest's header printed): a serial run's plans, so that discovery's progress lines follow the
        header; bad input stops the run there, once, with exit code 4 (and no JUnit file: no case ran)."""
        plan_here = self._start(session)
        result = yield
        # After pytest's own sessionstart: a conftest.py's hypermodel_data fixture can be set up for discovery.
        if plan_here is not None:
            plan_here()
        return result

    def _start(self, session: pytest.Session) -> Any:
        """The engine, and what each kind of process plans: a callable that plans once the other plugins have
        started (a serial run's, after pytest has printed its header; an xdist worker's that plans), or None. An xdist controller plans later, in pytest_collection, so that its workers
        start (and import the backend) meanwhile."""
        from pytest_hypermodel.plugin import collect
        from pytest_hypermodel.plugin import handoff
        from pytest_hypermodel.engine.engine import Engine, SetupError

        config = session.config
        conftest_path = config.rootpath / "conftest.py"
        engine = Engine(preflight_settings(config), config.rootpath, conftest_path if conftest_path.is_file() else None,
                        self.base, conftest_module=lambda: _conftest_module(config))
        engine.host = "the pytest process"
        progress = _progress(config)
        if progress is not None and not hasattr(config, "workerinput"):  # a worker's output is not seen
            engine.progress = progress
        config.stash[collect.ENGINE_KEY] = engine
        config.add_cleanup(engine.close)
        workerinput = getattr(config, "workerinput", None)
        if workerinput is None:
            # A mistyped SPEC is told before any backend starts (the rest of resolving it imports the user's code).
            try:
                engine.check_specs(self.specs)
            except SetupError as exc:
                raise pytest.UsageError(str(exc)) from None
            check_search_data(config)
        if engine.runner is None:
            devices_mod.load_backend()
        if workerinput is not None and workerinput.get(WORKER_PLANNER):
            # The planning worker: its probe process discovers (no other process imports the backend for it).
            path = Path(workerinput[WORKER_PLANS_FILE])
            handoff.announce_planner(path)

            def plan_for_the_workers() -> None:
                try:
                    preflights = config.stash[PREFLIGHTS_KEY] = self.prepare(session)
                except pytest.UsageError as exc:
                    handoff.write_handoff(path, error=str(exc))
                    self._leave(config)
                handoff.write_handoff(path, preflights)

            return plan_for_the_workers
        elif workerinput is not None and WORKER_PLANS_FILE in workerinput:
            # Another worker on this machine: import the backend while the planning worker plans.
            if engine.runner is not None:
                engine.runner.start()
            try:
                config.stash[PREFLIGHTS_KEY] = handoff.await_handoff(Path(workerinput[WORKER_PLANS_FILE]))
            except handoff.HandoffStopped:
                self._leave(config)
        elif workerinput is not None:  # a worker on another machine: it plans the same cases (plans are deterministic)

            def plan_alike() -> None:
                config.stash[PREFLIGHTS_KEY] = self.prepare(session)

            return plan_alike
        elif getattr(config.option, "dist", "no") != "no" and not config.option.collectonly:
            import shutil
            import tempfile

            directory = Path(tempfile.mkdtemp(prefix="hypermodel-plans-"))
            config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))
            config.stash[HANDOFF_KEY] = directory / "plans.pickle"
            self.deferred = True
        else:
            return lambda: self.plan(session)
        return None

    @staticmethod
    def _leave(config: pytest.Config) -> None:
        """A worker whose run is stopped by bad input: the controller says why, once; this worker leaves quietly."""
        _engine(config).close()
        os._exit(int(pytest.ExitCode.USAGE_ERROR))

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        """The spaces' warnings, at their build functions' lines; first, on an xdist controller (which collects
        nothing itself), the plans, from the planning worker (or made here when every worker is on another
        machine), and the setup checks."""
        if self.deferred:
            self._plan_deferred(session)
        # Here pytest records warnings as collection's, at the location given: the user's build function.
        pending, self.warnings = self.warnings, []
        for warning, definition in pending:
            if definition is None:
                warnings.warn(warning, stacklevel=2)
            else:
                warnings.warn_explicit(warning, type(warning), definition[0], definition[1])

    def _plan_deferred(self, session: pytest.Session) -> None:
        from pytest_hypermodel.plugin import handoff

        config = session.config
        self.deferred = False
        if PLANNER_KEY not in config.stash:
            self.plan(session)
            return
        import time

        from pytest_hypermodel.engine.engine import discovered_line, planned_line
        from pytest_hypermodel.engine.progress import plural

        say, worker, started = _engine(config).progress, config.stash[PLANNER_KEY], time.perf_counter()
        say.start(f"discovering {plural(len(self.specs), 'hypermodel')} on worker {worker}")
        try:
            preflights = config.stash[PREFLIGHTS_KEY] = handoff.await_handoff(config.stash[HANDOFF_KEY], planner=True)
        except handoff.HandoffStopped as exc:
            raise pytest.UsageError(str(exc)) from None
        for pre in preflights:
            say.step(planned_line(pre))
        say.total(discovered_line(preflights, time.perf_counter() - started))
        self.check(config)

    def prepare(self, session: pytest.Session) -> list:
        """Resolve, discover and plan every SPEC (in the probe process), on the search's data (a HyperModel's own
        fit() runs in discovery); a usage error for bad input."""
        from pytest_hypermodel.plugin import collect
        from pytest_hypermodel.engine.engine import SetupError

        config = session.config
        try:
            return _engine(config).prepare(
                self.specs, data_for=lambda spec: collect.discovery_data(session, spec, self.base))
        except SetupError as exc:
            raise pytest.UsageError(str(exc)) from None

    def plan(self, session: pytest.Session) -> None:
        """The controller's (or a serial run's) planning: once, with the setup checks and the space warnings."""
        config = session.config
        config.stash[PREFLIGHTS_KEY] = self.prepare(session)
        if getattr(config.option, "dist", "no") != "no" or config.option.collectonly:
            _engine(config).close()  # the xdist controller probes nothing: its workers have their own probe processes
        self.check(config)

    def check(self, config: pytest.Config) -> None:
        """What every case would share (no input shape, a download) is one usage error; the space's warnings."""
        from pytest_hypermodel.plugin import collect
        from pytest_hypermodel.engine.engine import SetupError

        engine, preflights = _engine(config), config.stash[PREFLIGHTS_KEY]
        try:
            engine.check_setup(preflights, collect.data_overridden(config))
        except SetupError as exc:
            raise pytest.UsageError(str(exc)) from None
        self.warnings = list(engine.space_warnings(preflights))

    def pytest_report_collectionfinish(self, config: pytest.Config) -> list[str]:
        """Under --hypermodel-plan, what each hypermodel's plan holds, above the listed cases."""
        if not setting(config, "hypermodel_plan"):
            return []
        from pytest_hypermodel.views import outputs as views

        return views.plan_lines(config.stash.get(PREFLIGHTS_KEY, []))

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector):
        """The cases of the hypermodels whose files the command line does not name go under the session (all of
        them for ``pytest --hypermodel SPEC`` alone)."""
        rep = yield
        if isinstance(collector, pytest.Session) and rep.passed:
            from pytest_hypermodel.plugin import collect

            preflights = [pre for pre in collector.config.stash[PREFLIGHTS_KEY]
                          if not _given(collector.config, pre.target.path)]
            rep.result.extend(collect.file_nodes(collector, preflights))
        return rep

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector):
        """A hypermodel's file that the command line names (``models.py``, ``models.py::build[units=8]``) is collected
        where pytest looks for it, so that its node ids select cases as any test's do."""
        if not _given(parent.config, file_path):
            return None
        from pytest_hypermodel.plugin import collect

        mine = [pre for pre in parent.config.stash.get(PREFLIGHTS_KEY, []) if pre.target.path == file_path]
        return collect.file_nodes(parent, mine)[0] if mine else None


def _progress(config: pytest.Config):
    """The progress lines' writer: pytest's terminal writer, whole lines (a terminal and a CI log read the same);
    ``-q`` only the ends of the steps, ``-qq`` none; None without a terminal reporter (``-p no:terminal``)."""
    from pytest_hypermodel.engine.progress import Progress

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:  # before get_verbosity: pytest 8.1 has no verbose option without the terminal plugin
        return None
    verbosity = config.get_verbosity()
    if verbosity < -1:
        return None

    def write(line: str) -> None:
        reporter.ensure_newline()  # ends a file's line of progress letters
        if getattr(reporter, "_width_of_current_line", 0):  # -q's letters, which ensure_newline does not end
            reporter.write("\n")
        reporter.write_line(line)

    return Progress(write, brief=verbosity < 0)


def _conftest_module(config: pytest.Config):
    """The rootdir's conftest.py as pytest imported it (a SPEC may name something in it)."""
    path = config.rootpath / "conftest.py"
    return config.pluginmanager.get_plugin(str(path)) if path.is_file() else None


class XdistHooks:
    """xdist-only hooks, registered only when xdist is installed (its hooks do not exist otherwise)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.crashed: dict[str, list] = {}

    def pytest_configure_node(self, node) -> None:
        """A worker on this machine: where the plans will be, its device and its cores (another machine plans, and
        detects its devices and cores, itself)."""
        if not node.gateway.spec.popen:
            return
        node.workerinput[WORKER_PLANS_FILE] = str(self.config.stash[HANDOFF_KEY])
        if PLANNER_KEY not in self.config.stash:
            self.config.stash[PLANNER_KEY] = node.gateway.id
            node.workerinput[WORKER_PLANNER] = True
        index = devices_mod.worker_index(node.gateway.id)
        node.workerinput[WORKER_DEVICE] = devices_mod.assign(index, self.config.stash.get(DEVICES_KEY, []))
        local = sum(1 for spec in node.nodemanager.specs if spec.popen)
        node.workerinput[WORKER_THREADS] = devices_mod.threads_per_worker(local)

    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched) -> None:
        """A case that killed its worker is a `crash`; xdist starts a new worker for the rest."""
        from pytest_hypermodel.plugin import collect
        from pytest_hypermodel.engine import engine

        found = collect.find_case(self.config.stash.get(PREFLIGHTS_KEY, []), self.config.rootpath, crashitem)
        if found is None:
            return
        run = engine.crash_run(*found, policy_from_config(self.config), report.longrepr)
        report.user_properties, report.longrepr = run.properties, run.message
        report.when = "call"  # a failure of the case, not an error of the harness
        self.crashed[crashitem] = report.user_properties

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """JUnit writes a case's properties at its teardown, which a crashed case never reaches: send one."""
        props = self.crashed.pop(report.nodeid, None)
        if props is not None and report.when == "call":
            teardown = pytest.TestReport(report.nodeid, report.location, {}, "passed", None, "teardown",
                                         user_properties=props)
            if hasattr(report, "node"):  # JUnit keys a testcase by node id and worker
                teardown.node = report.node
            self.config.hook.pytest_runtest_logreport(report=teardown)


def _junit_suite_properties(config: pytest.Config, props: list) -> None:
    """Testsuite-level JUnit properties, as the ``record_testsuite_property`` fixture adds them (the controller
    writes the file, and the boundaries are found after every case has been written)."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # a pytest that moved it: the JSON report still has them
        return
    xml = config.stash.get(xml_key, None)
    if xml is not None:
        from pytest_hypermodel.space.plan import printable

        for name, value in props:
            xml.add_global_property(printable(name), value)  # a hyperparameter's name may hold a BEL


class PreflightReporter:
    """Controller side: gathers every case's properties (from xdist workers too) into the summary,
    the forecast and the JSON report, computed once over all cases by the engine."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.entries: dict[str, dict] = {}
        self.forecasts: list[dict] = []
        self.refinements: list = []
        self.refine_note: str | None = None
        self.fixed: list[str] = []
        self.html: str | None = None
        self.annotations: list[str] = []
        path = setting(config, "hypermodel_report")
        self.path = Path(path) if path else None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = [(k, v) for k, v in report.user_properties if k == "outcome" or k.startswith(("hp.", "case."))]
        if not props or report.when not in ("call", "setup", "???"):  # "???": xdist's report of a crashed worker
            return
        from pytest_hypermodel.rules import verdict

        outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        self.entries[report.nodeid] = verdict.entry(report.nodeid, report.user_properties, outcome)
        self.write_json(list(self.entries.values()))  # after every case: a killed run keeps what it had

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes its file: the boundaries add testsuite properties
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.entries:
            return
        from pytest_hypermodel.views import outputs as views

        config = self.config
        engine = _engine(config)
        preflights = config.stash.get(PREFLIGHTS_KEY, [])
        entries, earlier, missing = self.whole_plan(preflights, list(self.entries.values()))
        self.forecasts = engine.forecasts(preflights, entries)
        for pre, forecast in zip(preflights, self.forecasts):
            spec = pre.target.spec
            if earlier.get(spec):
                forecast["message"] += (f" ({earlier[spec]} of its cases as the last run left them: "
                                        "not rerun this time)")
            if missing.get(spec):
                forecast["message"] += (f" ({missing[spec]} planned cases have no result, neither from this run nor "
                                        "from the last: the forecast covers the others)")
        for pre, forecast in zip(preflights, self.forecasts):
            if forecast["fails_run"]:
                self.report_forecast(pre, forecast)
        if any(f["fails_run"] for f in self.forecasts) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.write_json(entries)  # what is known now, in case the boundaries are interrupted
        if engine.settings.boundaries and session.exitstatus != pytest.ExitCode.INTERRUPTED:
            self.refine(session, entries, preflights)
        data = self.payload(entries)
        if self.path and self.refinements:
            views.write_json(self.path, data)
        self.write_views(data)

    def whole_plan(self, preflights: list, entries: list[dict]) -> tuple[list[dict], dict, dict]:
        """Every planned case's record for the forecast and the JSON report: this run's, else the last run's from
        pytest's cache (a run under --lf or -k reruns a subset), when its space and policy are the same. Returns
        them with, per SPEC, how many came from the cache and how many are missing; this run's are cached."""
        from pytest_hypermodel.engine.engine import nodeid

        cache = getattr(self.config, "cache", None)
        earlier_runs: dict = cache.get(CACHE_ENTRIES, {}) if cache is not None else {}
        have = {e["nodeid"] for e in entries}
        prints = {e.get("case.spec"): e.get("case.fingerprint") for e in entries}
        added, earlier, missing = [], {}, {}
        for pre in preflights:
            spec = pre.target.spec
            for case in pre.plan:
                key = nodeid(pre, case, self.config.rootpath)
                if key in have:
                    continue
                old = earlier_runs.get(key)
                if old is not None and prints.get(spec) in (None, old.get("case.fingerprint")):
                    added.append(old)
                    earlier[spec] = earlier.get(spec, 0) + 1
                else:
                    missing[spec] = missing.get(spec, 0) + 1
        if cache is not None:
            cache.set(CACHE_ENTRIES, {**earlier_runs, **{e["nodeid"]: e for e in entries}})
        return entries + added, earlier, missing

    def report_forecast(self, pre, forecast: dict) -> None:
        """A forecast that fails the run is a failing test, ``models.py::build_model[forecast]``: in JUnit (every CI
        dashboard reads its failures), in the short summary and in pytest's last line, as the terminal says it."""
        path = pre.target.path
        try:
            path = path.relative_to(self.config.rootpath)
        except ValueError:
            pass
        name = f"{pre.target.name}[forecast]"
        nodeid, location = f"{path.as_posix()}::{name}", (path.as_posix(), None, name)
        props = [("forecast.tuner", forecast.get("tuner", "")), ("forecast.aborts", forecast.get("aborts")),
                 ("forecast.spec", forecast["spec"])]
        if forecast.get("abort_probability") is not None:
            props.append(("forecast.abort_probability", round(float(forecast["abort_probability"]), 4)))
        hook = self.config.hook
        for when, outcome, longrepr in (("setup", "passed", None), ("call", "failed", forecast["message"]),
                                        ("teardown", "passed", None)):
            report = pytest.TestReport(nodeid, location, {name: 1}, outcome, longrepr, when,
                                       user_properties=props if when == "teardown" else [])
            report.hypermodel_forecast = True  # type: ignore[attr-defined]
            hook.pytest_runtest_logreport(report=report)
            report.hypermodel_forecast = False  # type: ignore[attr-defined]  # the short summary says FAILED

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport):
        """A failing forecast counts in the summary, with no progress letter while it is reported (the progress
        line has ended); asked again by the short summary, it is an ordinary failure."""
        if getattr(report, "hypermodel_forecast", False):
            return ("failed" if report.when == "call" else ""), "", ""
        return None

    def refine(self, session: pytest.Session, entries: list[dict], preflights: list) -> None:
        """Boundaries and a verified repair for each hypermodel with failures (see ``refine``), with the user's
        ``hypermodel_data`` set up here as a test would get it."""
        from pytest_hypermodel.plugin import collect
        from pytest_hypermodel.engine import refine as refine_mod

        config = self.config
        self.refinements, self.refine_note = _engine(config).refine_all(
            preflights, entries, lambda pre: collect.user_data(session, pre))
        _junit_suite_properties(config, refine_mod.junit_properties(self.refinements))
        if config.getoption("hypermodel_fix"):
            self.fixed = refine_mod.apply(self.refinements)

    def payload(self, entries: list[dict]) -> dict:
        from pytest_hypermodel.engine.engine import Engine

        command = " ".join(["pytest", *self.config.invocation_params.args])
        return Engine.payload(self.config.stash.get(PREFLIGHTS_KEY, []), entries, self.forecasts, self.refinements,
                              command=command)

    def write_json(self, entries: list[dict]) -> None:
        if self.path:
            from pytest_hypermodel.views import outputs as views

            views.write_json(self.path, self.payload(entries))

    def write_views(self, data: dict) -> None:
        """Once, at the end (an interrupted run included): the HTML report, GitHub's job summary and annotations."""
        html = setting(self.config, "hypermodel_html")
        github = os.environ.get("GITHUB_ACTIONS") == "true"
        if html or github:
            from pytest_hypermodel.views import outputs as views

            self.annotations = views.write_views(data, Path(html) if html else None, github)
            self.html = html or None

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.entries:
            return
        from pytest_hypermodel.views import outputs as views

        terminalreporter.section("hypermodel preflight")
        for line in views.summary_lines(list(self.entries.values())):
            terminalreporter.line(line)
        for forecast in self.forecasts:
            terminalreporter.line(f"{forecast['spec']}: {forecast['message']}", red=forecast["fails_run"])
            if forecast.get("timing"):
                terminalreporter.line(forecast["timing"]["line"])
        for found in self.refinements:
            for line in found.lines():
                terminalreporter.line(line)
        if self.refine_note:
            terminalreporter.line(self.refine_note)
        for path in self.fixed:
            terminalreporter.line(f"{FIX_OPTION}: wrote the verified repair into {path}")
        if self.path:
            terminalreporter.line(f"JSON report: {self.path}")
        if self.html:
            terminalreporter.line(f"HTML report: {self.html}")
        for line in self.annotations:  # GitHub Actions reads workflow commands from the step's output
            terminalreporter.write_line(line)
