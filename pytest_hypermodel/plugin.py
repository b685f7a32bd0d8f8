"""pytest hooks of pytest-hypermodel. Hooks only: the work lives in the other modules.

Nothing here imports Keras, TensorFlow or KerasTuner at module level: a pytest
run that does not pass ``--hypermodel`` never pays for them.

Option precedence: ini (``hypermodel_*`` in pytest.ini / pyproject.toml) <
command line.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import warnings
from pathlib import Path
from typing import Any

import pytest

from . import devices as devices_mod
from . import policy as policy_mod

HYPERMODEL_OPTION = "--hypermodel"
STRATEGY_OPTION = "--hypermodel-strategy"
STRENGTH_OPTION = "--hypermodel-strength"
LEVELS_OPTION = "--hypermodel-levels"
MAX_CASES_OPTION = "--hypermodel-max-cases"
PLAN_OPTION = "--hypermodel-plan"
TUNER_OPTION = "--hypermodel-tuner"
MAX_TRIALS_OPTION = "--hypermodel-max-trials"
MAX_ABORT_RISK_OPTION = "--hypermodel-max-abort-risk"
DEVICES_OPTION = "--hypermodel-devices"
TIMEOUT_OPTION = "--hypermodel-timeout"
ISOLATE_OPTION = "--hypermodel-isolate"
ISOLATION_OPTION = "--hypermodel-isolation"
#: Where the user's code runs (see ``prober``): one persistent probe process, a fresh one per case, or pytest itself.
ISOLATION_MODES = ("process", "case", "off")
EPOCHS_OPTION = "--hypermodel-epochs"
SAMPLES_OPTION = "--hypermodel-samples"
INPUT_SHAPE_OPTION = "--hypermodel-input-shape"
REPORT_OPTION = "--hypermodel-report"
HTML_OPTION = "--hypermodel-html"
MEMORY_BUDGET_OPTION = "--hypermodel-memory-budget"
MAX_MODEL_SIZE_OPTION = "--hypermodel-max-model-size"
MAX_RETRIES_OPTION = "--hypermodel-max-retries-per-trial"
MAX_CONSECUTIVE_OPTION = "--hypermodel-max-consecutive-failed-trials"
BOUNDARIES_OPTION = "--hypermodel-boundaries"
BOUNDARIES_SECONDS_OPTION = "--hypermodel-boundaries-seconds"
FIX_OPTION = "--hypermodel-fix"

PREFLIGHTS_KEY = pytest.StashKey[list]()
HANDOFF_KEY = pytest.StashKey[Path]()
#: The gateway id of the worker that plans, once xdist has configured it.
PLANNER_KEY = pytest.StashKey[str]()
OPTIONS_KEY = pytest.StashKey[Any]()
DEVICES_KEY = pytest.StashKey[list]()
WORKER_DEVICE = "hypermodel_device"
WORKER_THREADS = "hypermodel_threads"
#: The file where the controller puts the plans once made; a worker on this machine waits for it (see ``collect``).
WORKER_PLANS_FILE = "hypermodel_plans_file"
#: Set for the one worker that plans (the first on the controller's machine): the others, and the controller, wait.
WORKER_PLANNER = "hypermodel_planner"
CASE_FIXTURE = "hypermodel_case"
MARKER_SIGNATURE = (
    "search_space(build, *, strategy='extremes,corners', strength=None, levels=2, max_cases=256, "
    "expect=(), policy=None)"
)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}


class HypermodelWarning(UserWarning):
    """Something in a search space that KerasTuner accepts silently but that is probably a mistake."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hypermodel", "robustness preflight of KerasTuner hypermodels")
    group.addoption(
        HYPERMODEL_OPTION, action="append", dest="hypermodel", default=[], metavar="SPEC",
        help="probe the search space of SPEC (path/to/file.py:name, package.module:name, or a name in "
        "conftest.py); repeatable. Without test paths on the command line only the preflight runs.",
    )
    group.addoption(STRATEGY_OPTION, dest="hypermodel_strategy", metavar="NAMES",
                    help="cases to plan: default, extremes, corners, grid, or a comma list "
                    "(default: extremes,corners)")
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
    group.addoption(MAX_MODEL_SIZE_OPTION, dest="hypermodel_max_model_size", type=int, metavar="PARAMS",
                    help="KerasTuner's max_model_size: more parameters fail the trial (default: none)")
    group.addoption(MAX_RETRIES_OPTION, dest="hypermodel_max_retries_per_trial", type=int, metavar="N",
                    help="KerasTuner's max_retries_per_trial (default: 0)")
    group.addoption(MAX_CONSECUTIVE_OPTION, dest="hypermodel_max_consecutive_failed_trials", type=int,
                    metavar="N", help="KerasTuner's max_consecutive_failed_trials (default: 3)")
    parser.addini("hypermodel", "SPECs probed on every run, one per line", type="linelist", default=[])
    parser.addini("hypermodel_strategy", "default for --hypermodel-strategy", default="extremes,corners")
    parser.addini("hypermodel_strength", "default for --hypermodel-strength", default="")
    parser.addini("hypermodel_levels", "default for --hypermodel-levels", default="2")
    parser.addini("hypermodel_max_cases", "default for --hypermodel-max-cases", default="256")
    parser.addini("hypermodel_plan", "default for --hypermodel-plan", type="bool", default=False)
    parser.addini("hypermodel_epochs", "default for --hypermodel-epochs", default="3")
    parser.addini("hypermodel_samples", "default for --hypermodel-samples", default="32")
    parser.addini("hypermodel_input_shape", "default for --hypermodel-input-shape, one SHAPE per line",
                  type="linelist", default=[])
    parser.addini("hypermodel_tuner", "default for --hypermodel-tuner", default="RandomSearch")
    parser.addini("hypermodel_max_trials", "default for --hypermodel-max-trials", default="")
    parser.addini("hypermodel_max_abort_risk", "default for --hypermodel-max-abort-risk", default="0.5")
    parser.addini("hypermodel_report", "default for --hypermodel-report", default="")
    parser.addini("hypermodel_html", "default for --hypermodel-html", default="")
    parser.addini("hypermodel_boundaries", "default for --hypermodel-boundaries", default="on")
    parser.addini("hypermodel_boundaries_seconds", "default for --hypermodel-boundaries-seconds", default="")
    parser.addini("hypermodel_devices", "default for --hypermodel-devices", default="auto")
    parser.addini("hypermodel_timeout", "default for --hypermodel-timeout", default="")
    parser.addini("hypermodel_isolation", "default for --hypermodel-isolation", default="")
    parser.addini("hypermodel_isolate", "default for --hypermodel-isolate", type="bool", default=False)
    parser.addini("hypermodel_memory_budget", "default for --hypermodel-memory-budget", default="")
    parser.addini("hypermodel_max_model_size", "default for --hypermodel-max-model-size", default="")
    parser.addini("hypermodel_max_retries_per_trial", "default for --hypermodel-max-retries-per-trial", default="0")
    parser.addini("hypermodel_max_consecutive_failed_trials", "default for --hypermodel-max-consecutive-failed-trials",
                  default="3")
    parser.addini("hypermodel_on", "policy mapping, one NAME=fail_trial|retry|fatal per line (NAME: an exception "
                  "class or an outcome: nan, diverged, oom, timeout, crash)", type="linelist", default=[])


def _setting(config: pytest.Config, name: str) -> Any:
    value = config.getoption(name)
    return config.getini(name) if value is None else value


def _where(config: pytest.Config, name: str) -> str:
    """How the user wrote a setting: the flag when given on the command line, else the ini key."""
    if config.getoption(name) is not None:
        return "--" + name.replace("_", "-")
    return f"{name} (ini)"


def _int_setting(config: pytest.Config, name: str, minimum: int) -> int | None:
    value = _setting(config, name)
    if value in ("", None):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"{_where(config, name)} = {value!r}: expected an integer") from None
    if number < minimum:
        raise pytest.UsageError(f"{_where(config, name)} = {number}: must be at least {minimum}")
    return number


def _float_setting(config: pytest.Config, name: str, low: float, high: float, what: str,
                   above_low: bool = False) -> float | None:
    """A finite number within [low, high], or (low, high] with ``above_low``; ``what`` says what is expected."""
    value = _setting(config, name)
    if value in ("", None):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number > high or number < low or (above_low and number == low):
        raise pytest.UsageError(f"{_where(config, name)} = {value!r}: expected {what}")
    return number


def max_abort_risk(config: pytest.Config) -> float:
    """The abort probability above which a random-order search's forecast fails the run."""
    risk = _float_setting(config, "hypermodel_max_abort_risk", 0, 1, "a probability from 0 to 1, e.g. 0.5")
    return 0.5 if risk is None else risk


def probe_settings(config: pytest.Config):
    """Each case's short fit (epochs, samples, input shapes), from the command line or the ini (the marker reads
    them too)."""
    from .probe import Settings, parse_input_shapes

    texts = _setting(config, "hypermodel_input_shape") or []
    try:
        shapes = parse_input_shapes(list(texts))
    except ValueError as exc:
        raise pytest.UsageError(f"{_where(config, 'hypermodel_input_shape')} {exc}") from None
    return Settings(epochs=_int_setting(config, "hypermodel_epochs", 1) or 3,
                    samples=_int_setting(config, "hypermodel_samples", 1) or 32, input_shapes=shapes)


def _refuse_setup_problems(config: pytest.Config, preflights: list, settings) -> None:
    """A problem that every case of a hypermodel would share is the harness's, not the space's: one line, exit 4."""
    from . import offline, report

    for pre in preflights:
        download = offline.attempted_download(pre.space.default_error)
        if download is not None:
            raise pytest.UsageError(f"--hypermodel {pre.target.spec}: the build downloads {download}: {report.DOWNLOAD_FIX}")
        if pre.space.undeclared_input and not settings.input_shapes and not _data_overridden(config):
            raise pytest.UsageError(
                f"--hypermodel {pre.target.spec}: the model declares no input shape (no keras.Input), so no "
                f"data can be synthesized for it: pass {INPUT_SHAPE_OPTION} (e.g. 28,28; ini "
                "hypermodel_input_shape), start the model with keras.Input(shape=...), or override the "
                "hypermodel_data fixture in conftest.py"
            )


def _data_overridden(config: pytest.Config) -> bool:
    """Whether a conftest.py defines its own hypermodel_data fixture (its data then has the right shapes)."""
    return any(
        str(getattr(plugin, "__file__", "")).endswith("conftest.py") and hasattr(plugin, "hypermodel_data")
        for plugin in config.pluginmanager.get_plugins()
    )


def isolation(config: pytest.Config) -> str:
    """Where the user's code runs: --hypermodel-isolation, else ``case`` for --hypermodel-isolate, else the ini."""
    mode = config.getoption("hypermodel_isolation")
    if mode is None and config.getoption("hypermodel_isolate"):
        return "case"
    if mode is None:
        mode = config.getini("hypermodel_isolation") or ("case" if config.getini("hypermodel_isolate") else "process")
    if mode not in ISOLATION_MODES:
        raise pytest.UsageError(
            f"{_where(config, 'hypermodel_isolation')} = {mode!r}: use process (one probe process, the default), "
            "case (a fresh process per case) or off (in the pytest process)"
        )
    return mode


def validate(config: pytest.Config) -> None:
    """Every setting, read once at start-up: a bad value is one usage error before anything runs."""
    for name, minimum in (("hypermodel_strength", 1), ("hypermodel_max_cases", 1), ("hypermodel_max_trials", 1)):
        _int_setting(config, name, minimum)
    levels = _int_setting(config, "hypermodel_levels", 2)
    if levels not in (None, 2, 3):
        raise pytest.UsageError(
            f"{_where(config, 'hypermodel_levels')} = {levels}: use 2 (the extremes) or 3 (with the default)"
        )
    probe_settings(config)
    max_abort_risk(config)
    policy_from_config(config)
    isolation(config)
    if _setting(config, "hypermodel_boundaries") not in ("on", "off"):
        raise pytest.UsageError(f"{_where(config, 'hypermodel_boundaries')} = "
                                f"{_setting(config, 'hypermodel_boundaries')!r}: use on or off")
    boundaries_seconds(config)


def boundaries_seconds(config: pytest.Config) -> float | None:
    """The safety cap on the boundaries' wall clock, per hypermodel; None: ``boundaries.safety_cap``."""
    return _float_setting(config, "hypermodel_boundaries_seconds", 0, math.inf, "seconds, more than 0, e.g. 60",
                          above_low=True)


def _check_report_path(config: pytest.Config) -> None:
    """Never overwrite a file that is not a preflight report: it is someone else's."""
    path = _setting(config, "hypermodel_report")
    if not path or not Path(path).exists():
        return
    try:
        ours = Path(path).is_file() and {"version", "cases"} <= set(json.loads(Path(path).read_text()))
    except (OSError, ValueError, TypeError):
        ours = False
    if not ours:
        raise pytest.UsageError(
            f"{_where(config, 'hypermodel_report')} {path}: that path holds something that is not a preflight report; "
            "choose another path or remove it"
        )


def parse_size(text: str) -> int:
    """``"512MiB"`` -> bytes; a bare number is bytes."""
    match = _SIZE.match(text)
    if not match or (match.group(2) or "").lower() not in _UNITS:
        raise pytest.UsageError(f"memory budget {text!r}: use a size like 512MiB, 2GB or 1073741824")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


def policy_from_config(config: pytest.Config) -> policy_mod.Policy:
    """The policy the ini file and the command line describe."""
    on = {}
    for line in config.getini("hypermodel_on"):
        name, sep, action = (part.strip() for part in line.partition("="))
        if not sep or not name.isidentifier() or action not in policy_mod.ACTIONS:
            raise pytest.UsageError(
                f"hypermodel_on line {line!r}: write NAME=ACTION, NAME an exception class or an outcome "
                f"(nan, diverged, oom, timeout, crash), ACTION one of {', '.join(policy_mod.ACTIONS)}"
            )
        on[name] = action
    budget = _setting(config, "hypermodel_memory_budget")
    timeout = _float_setting(config, "hypermodel_timeout", 0, math.inf, "seconds, more than 0, e.g. 300", above_low=True)
    memory_budget = parse_size(budget) if budget else None
    if memory_budget == 0:
        raise pytest.UsageError(
            f"{_where(config, 'hypermodel_memory_budget')} = {budget!r}: use a size more than 0, e.g. 2GiB"
        )
    return policy_mod.Policy(
        timeout=timeout,
        max_retries_per_trial=_int_setting(config, "hypermodel_max_retries_per_trial", 0) or 0,
        max_consecutive_failed_trials=_int_setting(config, "hypermodel_max_consecutive_failed_trials", 1) or 3,
        max_model_size=_int_setting(config, "hypermodel_max_model_size", 1),
        memory_budget=memory_budget,
        on=on,
    )


def _pin_device(config: pytest.Config) -> None:
    """Pin this process to its device (and a worker to its share of the cores) before anything imports Keras."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and WORKER_DEVICE in workerinput:
        devices_mod.pin(workerinput[WORKER_DEVICE], workerinput.get(WORKER_THREADS))
        return
    try:
        devices = devices_mod.parse(_setting(config, "hypermodel_devices"))
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
    validate(config)  # cheap, no imports: a typo in the ini is reported whether or not a hypermodel is in use
    specs = list(config.getoption("hypermodel") or [])
    # SPECs from the ini file are relative to its directory, as pytest's own ini paths are.
    base = None
    if not specs:
        specs = list(config.getini("hypermodel"))
        base = config.inipath.parent if config.inipath else None
    if not specs:
        return
    _pin_device(config)
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # `pytest --hypermodel SPEC` alone runs the preflight, not the whole test suite.
        config.args = []
    if _setting(config, "hypermodel_plan"):
        # The plan is a collection: print it and list the cases as --collect-only does, fit nothing.
        config.option.collectonly = True
    config.pluginmanager.register(PreflightPlugin(specs, base), "hypermodel-preflight")
    if not hasattr(config, "workerinput"):
        _check_report_path(config)
        _interrupt_on_sigterm()
        config.pluginmanager.register(PreflightReporter(config), "hypermodel-reporter")


def _interrupt_on_sigterm() -> None:
    """A CI runner cancels with SIGTERM: end the session as Ctrl-C does, so JUnit, JSON and forecast are written."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return  # someone else's handler: leave it

    def interrupt(signum, frame):
        from . import outcomes

        outcomes.INTERRUPT_RECEIVED.set()  # a real signal: the case it lands in is not to blame
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
        raise KeyboardInterrupt("SIGTERM")

    try:
        signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        pass


@pytest.fixture
def hypermodel_data() -> Any:
    """Data for each case's short fit; ``None`` synthesizes it from the model's specs.

    Override in conftest.py to return ``(x, y)``, a dict of ``model.fit``
    keyword arguments with ``x`` and ``y``, or a callable ``(model, values)``
    returning either.
    """
    return None


@pytest.fixture
def hypermodel_policy(pytestconfig: pytest.Config) -> policy_mod.Policy:
    """The policy every case is judged by; override in conftest.py to set it from Python."""
    return policy_from_config(pytestconfig)


@pytest.fixture
def hypermodel_case(request: pytest.FixtureRequest, hypermodel_data: Any, hypermodel_policy: policy_mod.Policy):
    """One probed case of a ``@pytest.mark.search_space`` test: values, hp, model, result."""
    if not hasattr(request, "param"):
        pytest.fail(f"the hypermodel_case fixture needs @pytest.mark.{MARKER_SIGNATURE} on the test", pytrace=False)
    from . import marker

    return marker.probe_case(request, hypermodel_data, hypermodel_policy)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if CASE_FIXTURE in metafunc.fixturenames:
        devices_mod.load_backend()
        from . import marker

        marker.parametrize(metafunc)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    case = getattr(item, "funcargs", {}).get(CASE_FIXTURE)
    if case is not None:
        from . import marker

        marker.enforce(item, case)


class PreflightPlugin:
    """Resolves the SPECs, discovers their spaces and adds their cases to the collection."""

    def __init__(self, specs: list[str], base: Path | None) -> None:
        self.specs = specs
        self.base = base
        #: Set on an xdist controller: it plans in pytest_collection, while its workers start.
        self.deferred = False
        #: The spaces' warnings, each with the build function's (file, line): issued in pytest_collection.
        self.warnings: list[tuple[Warning, tuple[str, int] | None]] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Serially, before any case: bad input stops the run here, once, with exit code 4. An xdist controller
        # plans later, in pytest_collection, so that its workers start (and import the backend) meanwhile.
        from . import collect, plan, prober, spec

        config = session.config
        try:
            strategies = plan.parse_strategies(_setting(config, "hypermodel_strategy"))
        except plan.PlanError as exc:
            raise pytest.UsageError(f"{STRATEGY_OPTION}: {exc}") from None
        tuner = _setting(config, "hypermodel_tuner")
        if tuner not in collect.TUNERS:
            raise pytest.UsageError(f"{TUNER_OPTION} {tuner}: use one of {', '.join(collect.TUNERS)}")
        settings = config.stash[collect.SETTINGS_KEY] = probe_settings(config)
        options = collect.PlanOptions(
            strategies,
            strength=_int_setting(config, "hypermodel_strength", 1),
            levels=_int_setting(config, "hypermodel_levels", 2) or 2,
            max_cases=_int_setting(config, "hypermodel_max_cases", 1),
            tuner=tuner,
            max_trials=_int_setting(config, "hypermodel_max_trials", 1),
            input_shapes=settings.input_shapes,
        )
        config.stash[OPTIONS_KEY] = options
        config.stash[collect.BASE_KEY] = self.base
        conftest_path = config.rootpath / "conftest.py"
        if getattr(config, "workerinput", None) is None:
            # A mistyped SPEC is told before any backend starts (the rest of resolving it imports the user's code).
            for text in self.specs:
                try:
                    spec.locate(text, config.rootpath, conftest_path.is_file(), self.base)
                except spec.SpecError as exc:
                    raise pytest.UsageError(str(exc)) from None
        mode = isolation(config)
        if mode == "off":
            devices_mod.load_backend()
        else:
            runner = prober.Prober(config.rootpath, conftest_path if conftest_path.is_file() else None, self.base,
                                   fresh_each_case=mode == "case")
            config.stash[collect.PROBER_KEY] = runner
            config.add_cleanup(runner.close)
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None and workerinput.get(WORKER_PLANNER):
            # The planning worker: its probe process discovers (no other process imports the backend for it).
            path = Path(workerinput[WORKER_PLANS_FILE])
            collect.announce_planner(path)
            try:
                preflights = config.stash[PREFLIGHTS_KEY] = self.prepare(config)
            except pytest.UsageError as exc:
                collect.write_handoff(path, error=str(exc))
                self._leave(config)
            collect.write_handoff(path, preflights)
        elif workerinput is not None and WORKER_PLANS_FILE in workerinput:
            # Another worker on this machine: import the backend while the planning worker plans.
            runner = config.stash.get(collect.PROBER_KEY, None)
            if runner is not None:
                runner.start()
            try:
                config.stash[PREFLIGHTS_KEY] = collect.await_handoff(Path(workerinput[WORKER_PLANS_FILE]))
            except collect.HandoffStopped:
                self._leave(config)
        elif workerinput is not None:  # a worker on another machine: it plans the same cases (plans are deterministic)
            config.stash[PREFLIGHTS_KEY] = self.prepare(config)
        elif getattr(config.option, "dist", "no") != "no" and not config.option.collectonly:
            import shutil
            import tempfile

            directory = Path(tempfile.mkdtemp(prefix="hypermodel-plans-"))
            config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))
            config.stash[HANDOFF_KEY] = directory / "plans.pickle"
            self.deferred = True
        else:
            self.plan(config)

    @staticmethod
    def _leave(config: pytest.Config) -> None:
        """A worker whose run is stopped by bad input: the controller says why, once; this worker leaves quietly."""
        from . import collect

        runner = config.stash.get(collect.PROBER_KEY, None)
        if runner is not None:
            runner.close()
        os._exit(int(pytest.ExitCode.USAGE_ERROR))

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        """The spaces' warnings, at their build functions' lines; first, on an xdist controller (which collects
        nothing itself), the plans, from the planning worker (or made here when every worker is on another
        machine), and the setup checks."""
        if self.deferred:
            self._plan_deferred(session.config)
        # Here pytest records warnings as collection's, at the location given: the user's build function.
        pending, self.warnings = self.warnings, []
        for warning, definition in pending:
            if definition is None:
                warnings.warn(warning, stacklevel=2)
            else:
                warnings.warn_explicit(warning, type(warning), definition[0], definition[1])

    def _plan_deferred(self, config: pytest.Config) -> None:
        from . import collect

        self.deferred = False
        if PLANNER_KEY not in config.stash:
            self.plan(config)
            return
        try:
            config.stash[PREFLIGHTS_KEY] = collect.await_handoff(config.stash[HANDOFF_KEY], planner=True)
        except collect.HandoffStopped as exc:
            raise pytest.UsageError(str(exc)) from None
        self.check(config)

    def prepare(self, config: pytest.Config) -> list:
        """Resolve, discover and plan every SPEC (in the probe process); a usage error for bad input."""
        from . import collect, plan, space, spec

        options = config.stash[OPTIONS_KEY]
        runner = config.stash.get(collect.PROBER_KEY, None)
        timeout = policy_from_config(config).timeout
        try:
            if runner is not None:
                return [runner.prepare(s, options, timeout) for s in self.specs]
            conftest_path = config.rootpath / "conftest.py"
            conftest = config.pluginmanager.get_plugin(str(conftest_path)) if conftest_path.is_file() else None
            return collect.prepare(self.specs, config.rootpath, conftest, options, self.base, timeout)
        except (spec.SpecError, space.SpaceError, plan.PlanError) as exc:
            raise pytest.UsageError(str(exc)) from None

    def plan(self, config: pytest.Config) -> None:
        """The controller's (or a serial run's) planning: once, with the setup checks and the space warnings."""
        from . import collect

        config.stash[PREFLIGHTS_KEY] = self.prepare(config)
        runner = config.stash.get(collect.PROBER_KEY, None)
        if runner is not None and (getattr(config.option, "dist", "no") != "no" or config.option.collectonly):
            runner.close()  # the xdist controller probes nothing: its workers have their own probe processes
        self.check(config)

    def check(self, config: pytest.Config) -> None:
        """What every case would share (no input shape, a download) is one usage error; the space's warnings."""
        from . import collect

        preflights = config.stash[PREFLIGHTS_KEY]
        _refuse_setup_problems(config, preflights, config.stash[collect.SETTINGS_KEY])
        self.warnings = [(HypermodelWarning(f"{pre.target.spec}: {line}"), pre.space.definition)
                         for pre in preflights for line in pre.space.warnings]

    def pytest_report_collectionfinish(self, config: pytest.Config) -> list[str]:
        """Under --hypermodel-plan, what each hypermodel's plan holds, above the listed cases."""
        if not _setting(config, "hypermodel_plan"):
            return []
        from . import collect

        return collect.plan_lines(config.stash.get(PREFLIGHTS_KEY, []))

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector):
        rep = yield
        if isinstance(collector, pytest.Session) and rep.passed:
            from . import collect

            rep.result.extend(collect.file_nodes(collector, collector.config.stash[PREFLIGHTS_KEY]))
        return rep


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
        from . import collect

        found = collect.find_case(self.config.stash.get(PREFLIGHTS_KEY, []), self.config.rootpath, crashitem)
        if found is None:
            return
        pre, case = found
        policy = policy_from_config(self.config)
        report.user_properties, report.longrepr = collect.crash_report(pre, case, policy, report.longrepr)
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
        from .plan import printable

        for name, value in props:
            xml.add_global_property(printable(name), value)  # a hyperparameter's name may hold a BEL


class PreflightReporter:
    """Controller side: gathers every case's properties (from xdist workers too) into the summary,
    the forecast and the JSON report, computed once over all cases."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.entries: dict[str, dict] = {}
        self.forecasts: list[dict] = []
        self.refinements: list = []
        self.refine_note: str | None = None
        self.fixed: list[str] = []
        self.html: str | None = None
        self.annotations: list[str] = []
        path = _setting(config, "hypermodel_report")
        self.path = Path(path) if path else None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = [(k, v) for k, v in report.user_properties if k == "outcome" or k.startswith(("hp.", "case."))]
        if not props or report.when not in ("call", "setup", "???"):  # "???": xdist's report of a crashed worker
            return
        from . import report as report_mod

        outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        self.entries[report.nodeid] = report_mod.entry(report.nodeid, report.user_properties, outcome)
        self.write_json(list(self.entries.values()))  # after every case: a killed run keeps what it had

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes its file: the boundaries add testsuite properties
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.entries:
            return
        from . import report as report_mod

        config = self.config
        risk = max_abort_risk(config)
        entries = list(self.entries.values())
        preflights = config.stash.get(PREFLIGHTS_KEY, [])
        self.forecasts = [
            report_mod.forecast(pre, entries, policy_from_config(config), _setting(config, "hypermodel_tuner"),
                                _int_setting(config, "hypermodel_max_trials", 1), risk)
            for pre in preflights
        ]
        if any(f["fails_run"] for f in self.forecasts) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.write_json(entries)  # what is known now, in case the boundaries are interrupted
        if _setting(config, "hypermodel_boundaries") == "on" and session.exitstatus != pytest.ExitCode.INTERRUPTED:
            self.refine(session, entries, preflights)
        data = self.payload(entries)
        if self.path and self.refinements:
            report_mod.write_json(self.path, data)
        self.write_views(data)

    def refine(self, session: pytest.Session, entries: list[dict], preflights: list) -> None:
        """Boundaries and a verified repair for each hypermodel with failures (see ``refine``)."""
        from . import collect, refine as refine_mod

        config = self.config
        self.refinements, self.refine_note = collect.refine_all(session, preflights, entries, config.stash[OPTIONS_KEY],
                                                                policy_from_config(config), boundaries_seconds(config))
        _junit_suite_properties(config, refine_mod.junit_properties(self.refinements))
        if config.getoption("hypermodel_fix"):
            self.fixed = refine_mod.apply(self.refinements)

    def payload(self, entries: list[dict]) -> dict:
        from . import report as report_mod

        return report_mod.full_payload(self.config.stash.get(PREFLIGHTS_KEY, []), entries, self.forecasts,
                                       self.refinements)

    def write_json(self, entries: list[dict]) -> None:
        if self.path:
            from . import report as report_mod

            report_mod.write_json(self.path, self.payload(entries))

    def write_views(self, data: dict) -> None:
        """Once, at the end (an interrupted run included): the HTML report, GitHub's job summary and annotations."""
        html = _setting(self.config, "hypermodel_html")
        github = os.environ.get("GITHUB_ACTIONS") == "true"
        if html or github:
            from . import report as report_mod

            self.annotations = report_mod.write_views(data, Path(html) if html else None, github)
            self.html = html or None

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.entries:
            return
        from . import report as report_mod

        terminalreporter.section("hypermodel preflight")
        for line in report_mod.summary_lines(list(self.entries.values())):
            terminalreporter.line(line)
        for forecast in self.forecasts:
            terminalreporter.line(f"{forecast['spec']}: {forecast['message']}", red=forecast["fails_run"])
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
