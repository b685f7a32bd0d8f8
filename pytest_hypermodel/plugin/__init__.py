"""pytest hooks of pytest-hypermodel (the ``pytest11`` entry point): the hooks and the fixtures, nothing else.

The work lives in the other modules: ``preflight`` (the plugin of a run that preflights), ``roles`` (each xdist
process's part in planning), ``xdist``, ``reporter`` (the summary, the forecast and the reports), ``collect`` and
``marker``. Loading this module costs pytest, the option names and the settings' defaults, which registering the
options needs: the engine, the views, numpy and Keras load inside the hooks, once ``--hypermodel``, the ini's
``hypermodel`` list or the ``search_space`` marker is in use, so a pytest run that does not preflight never pays for
them.

Option precedence: ini (``hypermodel_*`` in pytest.ini / pyproject.toml) <
command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal

import pytest

from pytest_hypermodel.engine.defaults import DEFAULTS, ISOLATION_MODES
from pytest_hypermodel.plugin.options import (  # noqa: F401  (the names, which tests and other plugins import from here)  # noqa: F401  (probe_settings: public here since the marker first read it)
    BOUNDARIES_OPTION,
    BOUNDARIES_SECONDS_OPTION,
    CASE_FIXTURE,
    DEVICES_OPTION,
    EPOCHS_OPTION,
    FIX_OPTION,
    HTML_OPTION,
    HYPERMODEL_OPTION,
    INPUT_SHAPE_OPTION,
    ISOLATE_OPTION,
    ISOLATION_OPTION,
    LEVELS_OPTION,
    MARKER,
    MARKER_SIGNATURE,
    MAX_ABORT_RISK_OPTION,
    MAX_CASES_OPTION,
    MAX_CONSECUTIVE_OPTION,
    MAX_MODEL_SIZE_OPTION,
    MAX_RETRIES_OPTION,
    MAX_TRIALS_OPTION,
    MEMORY_BUDGET_OPTION,
    MEMORY_GROWTH_OPTION,
    NO_HYPERMODEL_OPTION,
    OBJECTIVE_OPTION,
    PLAN_OPTION,
    PROJECT_OPTION,
    REHEARSAL_OPTION,
    REPORT_OPTION,
    SAMPLES_OPTION,
    SEARCH_DATA_OPTION,
    STRATEGY_OPTION,
    STRENGTH_OPTION,
    SUPPRESS_HEALTH_CHECK_OPTION,
    TIMEOUT_OPTION,
    TUNER_OPTION,
    ConfigSource,
    check_search_data,
    check_settings,
    policy_from_config,
    preflight_settings,
    probe_settings,
    search_data,
    setting,
)
from pytest_hypermodel.plugin.selection import keyword_values, named

if TYPE_CHECKING:
    from pytest_hypermodel.rules.policy import Policy
    from pytest_hypermodel.space.hyperparameters import HypermodelWarning  # noqa: F401


def __getattr__(name: str) -> Any:
    """``HypermodelWarning``, public here since the first release (a ``filterwarnings`` line may name it), loaded
    on first use: pytest looks only for ``pytest_*`` names and this module's own attributes, so it loads only when
    asked for."""
    if name == "HypermodelWarning":
        return importlib.import_module("pytest_hypermodel.space.hyperparameters").HypermodelWarning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hypermodel", "robustness preflight of KerasTuner hypermodels")
    group.addoption(
        NO_HYPERMODEL_OPTION,
        action="store_true",
        dest="no_hypermodel",
        default=False,
        help="run no preflight, whatever the ini file's hypermodel lists (the tests run as without the plugin)",
    )
    group.addoption(
        HYPERMODEL_OPTION,
        action="append",
        dest="hypermodel",
        default=[],
        metavar="SPEC",
        help="probe the search space of SPEC (path/to/file.py:name, package.module:name, or a name in "
        "conftest.py); repeatable. Without test paths on the command line only the preflight runs.",
    )
    group.addoption(
        STRATEGY_OPTION,
        dest="hypermodel_strategy",
        metavar="NAMES",
        help="cases to plan: default, extremes, corners, grid, or a comma list (default: extremes,corners,interior)",
    )
    group.addoption(
        STRENGTH_OPTION,
        dest="hypermodel_strength",
        type=int,
        metavar="T",
        help="corners cover every combination of levels of any T hyperparameters (default: 2)",
    )
    group.addoption(
        LEVELS_OPTION,
        dest="hypermodel_levels",
        type=int,
        metavar="2|3",
        help="levels of a numeric hyperparameter: 2 extremes, or 3 with the default (default: 2)",
    )
    group.addoption(
        MAX_CASES_OPTION,
        dest="hypermodel_max_cases",
        type=int,
        metavar="N",
        help="cap on the cases of one hypermodel; the cap and what it drops are reported (default: 256)",
    )
    group.addoption(
        PLAN_OPTION,
        dest="hypermodel_plan",
        action="store_true",
        default=None,
        help="print the plan of each hypermodel and list its cases, as --collect-only does, without fitting anything",
    )
    group.addoption(
        EPOCHS_OPTION,
        dest="hypermodel_epochs",
        type=int,
        metavar="N",
        help="epochs of the short fit of each case (default: 3)",
    )
    group.addoption(
        SAMPLES_OPTION,
        dest="hypermodel_samples",
        type=int,
        metavar="N",
        help="examples of synthesized data per case (default: 32)",
    )
    group.addoption(
        INPUT_SHAPE_OPTION,
        action="append",
        dest="hypermodel_input_shape",
        metavar="SHAPE",
        help="for a model that declares no keras.Input: the shape of one example, without the batch "
        "dimension (28,28); repeat it for several inputs, or name=28,28 for named ones. The model's own "
        "input, and the hypermodel_data fixture, win",
    )
    group.addoption(
        TUNER_OPTION,
        dest="hypermodel_tuner",
        metavar="NAME",
        help="the tuner the search will use, for the forecast: GridSearch (its own trials are probed "
        "too), RandomSearch, BayesianOptimization or Hyperband (default: RandomSearch)",
    )
    group.addoption(
        MAX_TRIALS_OPTION,
        dest="hypermodel_max_trials",
        type=int,
        metavar="N",
        help="the search's max_trials, for the forecast (default: the whole grid; 10 otherwise)",
    )
    group.addoption(
        MAX_ABORT_RISK_OPTION,
        dest="hypermodel_max_abort_risk",
        type=float,
        metavar="P",
        help="a random-order search estimated to abort with a probability above P fails the run (default: 0.5)",
    )
    group.addoption(
        DEVICES_OPTION,
        dest="hypermodel_devices",
        metavar="auto|cpu|0,1",
        help="GPUs for the cases: each xdist worker is pinned to one, round-robin, before Keras is "
        "imported (default: auto, every visible GPU, else the CPU)",
    )
    group.addoption(
        TIMEOUT_OPTION,
        dest="hypermodel_timeout",
        type=float,
        metavar="SECONDS",
        help="a case running longer is reported as timeout and the run goes on (default: none)",
    )
    group.addoption(
        ISOLATION_OPTION,
        dest="hypermodel_isolation",
        choices=ISOLATION_MODES,
        help="where the hypermodel's code runs: process (one probe process per pytest process or xdist "
        "worker, restarted after a crash: an abort, a segfault or a hang is that case's result), case (a "
        "fresh process per case: nothing a case leaves behind reaches the next), off (in pytest itself: "
        "fastest, but a crash ends the run) (default: process)",
    )
    group.addoption(
        ISOLATE_OPTION,
        dest="hypermodel_isolate",
        action="store_true",
        default=None,
        help=f"short for {ISOLATION_OPTION}=case",
    )
    group.addoption(
        BOUNDARIES_OPTION,
        dest="hypermodel_boundaries",
        choices=("on", "off"),
        help="after the cases, bisect each failing numeric hyperparameter to its last passing and first "
        "failing value, propose a repair of the space and run the preflight of the repaired space "
        "(default: on)",
    )
    group.addoption(
        BOUNDARIES_SECONDS_OPTION,
        dest="hypermodel_boundaries_seconds",
        metavar="SECONDS",
        help="a safety cap on the wall clock of one hypermodel's boundaries, which stop after 64 "
        "probes, the same on a loaded machine (default: 10 times as long as its cases took, at least "
        "600 s); reported when hit",
    )
    group.addoption(
        REHEARSAL_OPTION,
        dest="hypermodel_rehearsal",
        choices=("on", "off"),
        help="after the cases, run cases that passed alone again one after another through KerasTuner's own "
        "search() in a throwaway project (each Choice value and each range's ends, between the defaults), then "
        "get_best_models(), get_best_hyperparameters(), results_summary() and a reload of that project: a trial "
        "that fails or differs in sequence, global state a trial leaves behind, variables shared between trials "
        "and a failure after the search fail the run (default: on)",
    )
    group.addoption(
        FIX_OPTION,
        dest="hypermodel_fix",
        action="store_true",
        default=None,
        help="write a repair that was verified green into the build file (default: only show its diff)",
    )
    group.addoption(
        REPORT_OPTION,
        dest="hypermodel_report",
        metavar="PATH",
        help="write the preflight's JSON report to PATH (rewritten after every case)",
    )
    group.addoption(
        HTML_OPTION,
        dest="hypermodel_html",
        metavar="PATH",
        help="write a self-contained HTML report to PATH: per hypermodel the forecast, heatmaps of the "
        "outcomes over pairs of hyperparameters, the boundaries, the repair and every case",
    )
    group.addoption(
        MEMORY_BUDGET_OPTION,
        dest="hypermodel_memory_budget",
        metavar="SIZE",
        help="predict OOM for cases estimated over SIZE to train, e.g. 2GiB (default: none)",
    )
    group.addoption(
        MEMORY_GROWTH_OPTION,
        dest="hypermodel_memory_growth",
        metavar="SIZE",
        help="fail the default case when each further trial of it keeps more than SIZE of resident "
        "memory (default 4MiB; 0 turns the check off, and its 2 or 3 more trials)",
    )
    group.addoption(
        MAX_MODEL_SIZE_OPTION,
        dest="hypermodel_max_model_size",
        type=int,
        metavar="PARAMS",
        help="KerasTuner's max_model_size: more parameters fail the trial (default: none)",
    )
    group.addoption(
        MAX_RETRIES_OPTION,
        dest="hypermodel_max_retries_per_trial",
        type=int,
        metavar="N",
        help="KerasTuner's max_retries_per_trial (default: 0)",
    )
    group.addoption(
        MAX_CONSECUTIVE_OPTION,
        dest="hypermodel_max_consecutive_failed_trials",
        type=int,
        metavar="N",
        help="KerasTuner's max_consecutive_failed_trials (default: 3)",
    )
    group.addoption(
        PROJECT_OPTION,
        dest="hypermodel_project",
        metavar="DIR/NAME",
        help="the search's KerasTuner directory/project_name: when it holds an oracle.json with another "
        "search space (which KerasTuner would reload unless overwrite=True), the run stops with a usage "
        "error; only read, never written (default: none)",
    )
    group.addoption(
        OBJECTIVE_OPTION,
        dest="hypermodel_objective",
        metavar="NAME",
        help="the search's objective (val_accuracy, val_auc:max, or a comma list): each case's fit must "
        "log it, as KerasTuner's trial requires; synthesized data then includes validation data for a "
        "val_ objective (default: none, not checked)",
    )
    group.addoption(
        SEARCH_DATA_OPTION,
        dest="hypermodel_search_data",
        metavar="MODULE:CALLABLE",
        help="a callable returning what you pass to tuner.search: (x, y), or a dict of its keyword "
        "arguments (x, y, validation_data, batch_size, callbacks, epochs...); each case fits on it, cut "
        "to a few batches and the probe's epochs (the search command's --data takes the same) "
        "(default: data synthesized from the model)",
    )
    group.addoption(
        SUPPRESS_HEALTH_CHECK_OPTION,
        action="append",
        dest="hypermodel_suppress_health_check",
        metavar="NAME",
        help="a health check whose findings do not fail the run (hyperparameter_unused...; "
        "docs/reference/health-checks.md lists them); repeatable, or a comma list",
    )
    parser.addini("hypermodel", "SPECs probed on every run, one per line", type="linelist", default=[])
    for name, default in DEFAULTS.items():  # every option's ini twin, with the one default the Python API uses too
        kind: Literal["bool", "linelist"] | None = (
            "bool" if isinstance(default, bool) else "linelist" if isinstance(default, list) else None
        )
        parser.addini(name, _INI_HELP.get(name, f"default for --{name.replace('_', '-')}"), type=kind, default=default)


_INI_HELP = {
    "hypermodel_input_shape": "default for --hypermodel-input-shape, one SHAPE per line",
    "hypermodel_suppress_health_check": "health checks whose findings do not fail the run, one NAME per line",
    "hypermodel_on": "policy mapping, one NAME=fail_trial|retry|fatal per line (NAME: an exception class or an "
    "outcome: nan, diverged, oom, timeout, crash)",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER_SIGNATURE}: run the test once per planned case of the search space of `build` (a build "
        "function or a keras_tuner.HyperModel); the hypermodel_case fixture gives the case's values, hp, built "
        "model and probe result. A case KerasTuner would not complete fails (a declared failure xfails) before "
        "the test body runs. expect=[pytest_hypermodel.expect(when=lambda v: ..., raises=FailedTrialError)] "
        "declares the cases that must fail; policy=pytest_hypermodel.Policy(...) overrides hypermodel_policy.",
    )
    check_settings(config)  # a typo in the ini is reported whether or not a hypermodel is in use
    specs = list(config.getoption("hypermodel") or [])
    # SPECs from the ini file are relative to its directory, as pytest's own ini paths are.
    base = None
    if not specs and not config.getoption("no_hypermodel"):
        specs = list(config.getini("hypermodel"))
        base = config.inipath.parent if config.inipath else None
        if specs and config.args_source == pytest.Config.ArgsSource.ARGS and config.args:
            # Paths or node ids on the command line narrow the run, as in pytest: the ini's SPECs they name.
            specs = [spec for spec in specs if named(spec, config, base)]
    if not specs:
        return
    specs = list(dict.fromkeys(spec.strip() for spec in specs))  # a SPEC given twice runs once
    from pytest_hypermodel.engine import settings as settings_mod
    from pytest_hypermodel.plugin import roles
    from pytest_hypermodel.plugin.preflight import PreflightPlugin
    from pytest_hypermodel.plugin.reporter import PreflightReporter, WholeReportFiles, interrupt_on_sigterm

    roles.pin_device(config)
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
        interrupt_on_sigterm()
        reporter = PreflightReporter(config)
        config.pluginmanager.register(reporter, "hypermodel-reporter")
        config.pluginmanager.register(WholeReportFiles(reporter), "hypermodel-whole-reports")


@pytest.fixture
def hypermodel_data(pytestconfig: pytest.Config) -> Any:
    """Data for each case's short fit; ``None`` synthesizes it from the model's specs.

    What ``--hypermodel-search-data`` returns, when given. Override in conftest.py to return ``(x, y)``, a dict
    of ``tuner.search`` keyword arguments with ``x`` and ``y``, or a callable ``(model, values)`` returning
    either.
    """
    return search_data(pytestconfig)


@pytest.fixture
def hypermodel_policy(pytestconfig: pytest.Config) -> Policy:
    """The policy every case is judged by; override in conftest.py to set it from Python."""
    return policy_from_config(pytestconfig)


@pytest.fixture
def hypermodel_case(request: pytest.FixtureRequest, hypermodel_data: Any, hypermodel_policy: Policy):
    """One probed case of a ``@pytest.mark.search_space`` test: values, hp, model, result."""
    if not hasattr(request, "param"):
        pytest.fail(f"the hypermodel_case fixture needs @pytest.mark.{MARKER_SIGNATURE} on the test", pytrace=False)
    from pytest_hypermodel.plugin import marker

    return marker.probe_case(request, hypermodel_data, hypermodel_policy)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if CASE_FIXTURE in metafunc.fixturenames:
        from pytest_hypermodel.probe import devices as devices_mod

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
