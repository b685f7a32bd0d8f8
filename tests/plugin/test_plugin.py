"""The plugin as a user meets it: collection, fixtures, options, reports, and its import cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest
from conftest import run_here, run_preflight

from pytest_hypermodel.plugin import HYPERMODEL_OPTION, REPORT_OPTION

#: Two tests of a project with this package installed and neither --hypermodel nor the marker: one pytest run
#: (``unused_plugin_run``) holds both, each a test of the run's own.
UNUSED_PLUGIN_TESTS = {
    "test_no_framework.py": """
import sys

def test_nothing_heavy_was_imported():
    heavy = {"keras", "tensorflow", "keras_tuner", "jax", "torch"} & set(sys.modules)
    assert not heavy
""",
    "test_no_numpy.py": """
import sys

def test_modules(pytestconfig):
    assert pytestconfig.pluginmanager.hasplugin("hypermodel")
    heavy = ("numpy", "keras", "keras_tuner", "tensorflow", "jax", "torch")
    assert [name for name in heavy if name in sys.modules] == []
    layers = ("engine.engine", "engine.settings", "probe", "rules", "space", "views", "api")
    ours = [name for name in sys.modules if name.startswith(tuple(f"pytest_hypermodel.{m}" for m in layers))]
    assert ours == []
""",
}


@pytest.fixture(scope="module")
def unused_plugin_run(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The output of one plain pytest process (as pytester's subprocess run starts it: no PYTEST_ADDOPTS, no
    xdist worker's environment) over :data:`UNUSED_PLUGIN_TESTS`, with -rA: each test's line."""
    folder = tmp_path_factory.mktemp("unused_plugin")
    for name, source in UNUSED_PLUGIN_TESTS.items():
        (folder / name).write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS" and not k.startswith("PYTEST_XDIST")}
    env.pop("PYTEST_CURRENT_TEST", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-rA", "-q"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout + done.stderr


def test_unused_plugin_imports_no_framework(unused_plugin_run):
    assert "PASSED test_no_framework.py::test_nothing_heavy_was_imported" in unused_plugin_run, unused_plugin_run


def test_preflight_alone_does_not_collect_the_test_suite(hypermodel_dir):
    hypermodel_dir.makepyfile(test_unrelated="def test_should_not_run():\n    raise AssertionError\n")
    result = run_here(hypermodel_dir, HYPERMODEL_OPTION, "outcomes.py:healthy", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["outcomes.py::healthy[[]defaults[]]", "outcomes.py::healthy[[]size=2[]]"])
    assert "test_should_not_run" not in result.stdout.str()
    # With explicit test paths, both run side by side.
    result = run_here(hypermodel_dir, HYPERMODEL_OPTION, "outcomes.py:healthy", "test_unrelated.py")
    result.assert_outcomes(passed=2, failed=1)


def test_json_report_and_user_data_fixture(hypermodel_dir):
    hypermodel_dir.makeconftest(
        textwrap.dedent(
            """
            import numpy as np
            import pytest

            @pytest.fixture
            def hypermodel_data():
                # Real data of the user's own: every target is 5.0.
                return np.ones((10, 4), "float32"), np.full((10, 1), 5.0, "float32")
            """
        )
    )
    report = hypermodel_dir.path / "out" / "preflight.json"
    result, _cases = run_preflight(
        hypermodel_dir,
        HYPERMODEL_OPTION,
        "outcomes.py:failed_trial",
        REPORT_OPTION,
        str(report),
        "--hypermodel-max-abort-risk",
        "1",
        here=True,
    )
    assert result.ret == 0
    data = json.loads(report.read_text())
    assert data["summary"] == {
        "cases": 2,
        "outcomes": {"failed_trial": 1, "ok": 1},
        "dispositions": {"completed": 1, "failed": 1},
        "runs": 2,
    }
    [hypermodel] = data["hypermodels"]
    assert hypermodel["spec"] == "outcomes.py:failed_trial" and hypermodel["green"] and hypermodel["complete"]
    assert len(hypermodel["fingerprint"]) == 16
    by_id = {c["case.id"]: c for c in data["cases"]}
    assert by_id["size=2"]["test_outcome"] == "xfailed" and by_id["size=2"]["values"] == {"size": 2}
    result.stdout.fnmatch_lines(
        ["*hypermodel preflight*", "failed_trial*failed_trial[[]size=2[]]*", f"JSON report: {report}"]
    )


@pytest.mark.cold_start  # its build sends the Ctrl-C to the probe's parent: pytest when spawned, not the warm process
def test_interrupted_run_keeps_the_results_it_has(hypermodel_dir, monkeypatch):
    hypermodel_dir.makepyfile(
        interrupted=textwrap.dedent(
            """
            import os
            import signal
            import time
            import keras

            def build(hp):
                # Discovery builds every case too: interrupt only once probing has begun. A real Ctrl-C (SIGINT,
                # which the terminal sends to pytest, the parent of the probe process running this) stops the run;
                # a KeyboardInterrupt the build raised itself would be a failing case.
                if hp.Choice("size", [1, 2]) == 2 and os.path.exists("probing"):
                    os.kill(os.getppid(), signal.SIGINT)
                    time.sleep(30)
                model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
                model.compile(loss="mse")
                return model
            """
        )
    )
    hypermodel_dir.makeconftest(
        textwrap.dedent(
            """
            import pathlib
            import pytest

            @pytest.fixture
            def hypermodel_data():
                # Its first set-up is discovery's (it fits a HyperModel's own fit() on this data): not probing yet.
                setups = pathlib.Path("setups")
                setups.write_text(setups.read_text() + "x" if setups.exists() else "x")
                if len(setups.read_text()) > 1:
                    pathlib.Path("probing").touch()
                return None
            """
        )
    )
    report = hypermodel_dir.path / "preflight.json"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(hypermodel_dir.path / "summary.md"))
    # A shell ignores SIGINT in what it starts in the background (`pytest tests &`), and that is inherited:
    # give this pytest the Ctrl-C handling a terminal's pytest has.
    result = hypermodel_dir.run(
        sys.executable,
        "-c",
        "import signal, sys, pytest; signal.signal(signal.SIGINT, signal.default_int_handler); sys.exit(pytest.main())",
        HYPERMODEL_OPTION,
        "interrupted.py:build",
        REPORT_OPTION,
        str(report),
        "--hypermodel-html=report.html",
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert [c["case.id"] for c in json.loads(report.read_text())["cases"]] == ["defaults"]
    # The views are written with what finished, too.
    assert ">defaults<" in (hypermodel_dir.path / "report.html").read_text()
    assert "; 1 case (" in (hypermodel_dir.path / "summary.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--hypermodel-strategy", "everything"],
            "ERROR: --hypermodel-strategy: unknown strategy everything: use one of*",
        ),
        (
            ["--hypermodel-strength", "3"],
            "ERROR: --hypermodel outcomes.py:healthy: strength 3: use 1 to 1, the number of*",
        ),
        (["--hypermodel-levels", "4"], "ERROR: --hypermodel-levels = 4: use 2 (the extremes) or 3*"),
        (
            ["--hypermodel-strategy", "grid", "--hypermodel-max-cases", "1"],
            "ERROR: *grid of 1 hyperparameter has 2 cases, over --hypermodel-max-cases 1*",
        ),
        (["--hypermodel-memory-budget", "lots"], "ERROR: memory budget 'lots': use a size like 512MiB*"),
        (
            ["--hypermodel-max-consecutive-failed-trials", "0"],
            "ERROR: --hypermodel-max-consecutive-failed-trials = 0: must be at least 1",
        ),
    ],
)
def test_bad_options_are_usage_errors(hypermodel_dir, args, message):
    # In this process: a usage error stops pytest before any case runs; the strength's and the grid's need the
    # space's discovery, which runs here too (isolation off: no probe process to start, no backend to import).
    result = run_here(hypermodel_dir, "-p", "no:cacheprovider", HYPERMODEL_OPTION, "outcomes.py:healthy", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_specs_and_policy_from_ini(hypermodel_dir):
    hypermodel_dir.makeini(
        """
        [pytest]
        hypermodel = outcomes.py:negative_units
        hypermodel_max_retries_per_trial = 2
        hypermodel_max_abort_risk = 1
        hypermodel_on =
            ValueError=fail_trial
        """
    )
    result, cases = run_preflight(hypermodel_dir, here=True)
    # ValueError mapped to fail_trial: a declared failure, never retried.
    assert cases["negative_units[size=-1]"].properties["disposition"] == "failed"
    assert cases["negative_units[size=-1]"].result == "skipped"
    assert result.ret == 0
    result, cases = run_preflight(hypermodel_dir, "-o", "hypermodel_on=", here=True)
    assert cases["negative_units[size=-1]"].properties["disposition"] == "retried_then_failed"
    assert cases["negative_units[size=-1]"].properties["runs"] == "3"
    assert result.ret == 1


def test_plan_is_printed_without_fitting(hypermodel_dir):
    hypermodel_dir.makepyfile(
        guide=textwrap.dedent(
            """
            import keras

            def build(hp):
                hp.Int("units_1", 10, 40, step=10)
                hp.Int("units_2", 10, 30, step=10)
                model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
                model.compile(loss="mse")
                return model
            """
        )
    )
    result = run_here(hypermodel_dir, HYPERMODEL_OPTION, "guide.py:build", "--hypermodel-plan", "-q")
    assert result.ret == 0
    # The plan, then the cases listed as --collect-only lists them, and its closing line: nothing was fitted.
    result.stdout.fnmatch_lines(
        [
            "guide.py:build: 2 hyperparameters (3 builds to discover), strategies extremes,corners, strength 2: "
            "4 cases (1 default, 2 extreme, 1 corner)",
            "guide.py::build[[]defaults[]]",
            "guide.py::build[[]units_1=40[]]",
            "guide.py::build[[]units_2=30[]]",
            "guide.py::build[[]units_1=40-units_2=30[]]",
            "4 tests collected in *",
        ]
    )
    assert "passed" not in result.stdout.str()
    assert "!!!" not in result.stdout.str() and "Exit" not in result.stdout.str()
    result = run_here(
        hypermodel_dir,
        HYPERMODEL_OPTION,
        "guide.py:build",
        "--hypermodel-plan",
        "--hypermodel-max-cases",
        "3",
    )
    result.stdout.fnmatch_lines(
        [
            "*strategies extremes,corners, strength 2: 3 cases (1 default, 2 extreme)",
            "  capped at 3: 4 planned, 1 dropped",
        ]
    )
    # The default plan adds the interior cases: here every value inside the two small ranges, and the draws.
    result = run_here(
        hypermodel_dir,
        HYPERMODEL_OPTION,
        "guide.py:build",
        "--hypermodel-plan",
        "-q",
        "--hypermodel-strategy",
        "extremes,corners,interior",
    )
    result.stdout.fnmatch_lines(
        [
            "guide.py:build: 2 hyperparameters (3 builds to discover), strategies extremes,corners,interior, strength 2: "
            "8 cases (1 default, 2 extreme, 1 corner, 4 interior)",
            "guide.py::build[[]defaults[]]",
            "*",
            "guide.py::build[[]units_1=20[]]",
            "guide.py::build[[]units_1=30[]]",
            "guide.py::build[[]units_2=20[]]",
            "guide.py::build[[]units_1=40-units_2=20[]]",
            "8 tests collected in *",
        ]
    )
    # The kind of a case is a keyword: -k picks the corners.
    result = run_here(hypermodel_dir, HYPERMODEL_OPTION, "guide.py:build", "--collect-only", "-q", "-k", "corner")
    result.stdout.fnmatch_lines(["guide.py::build[[]units_1=40-units_2=30[]]", "1/4 tests collected (3 deselected)*"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_every_case_has_its_own_node_id(hypermodel_dir, workers):
    """pytest 9.2 builds a Function's node id from originalname + callspec: cases once collapsed onto one id."""
    expected = [
        "failed_trial[defaults]",
        "failed_trial[units_1=40]",
        "failed_trial[units_2=30]",
        "failed_trial[units_1=40-units_2=30]",
    ]
    if not workers:  # collection is the controller's either way
        result = run_here(hypermodel_dir, HYPERMODEL_OPTION, "guide.py:failed_trial", "--collect-only", "-q")
        assert [line for line in result.outlines if line.startswith("guide.py::")] == [
            f"guide.py::{n}" for n in expected
        ]
    report = hypermodel_dir.path / "preflight.json"
    xml = hypermodel_dir.path / "ids.xml"
    args = [
        "-p",
        "no:cacheprovider",
        HYPERMODEL_OPTION,
        "guide.py:failed_trial",
        REPORT_OPTION,
        str(report),
        f"--junitxml={xml}",
        "-rA",
        "--hypermodel-max-abort-risk",
        "1",
    ]
    # xdist's workers are processes of their own; serial, the run is this process's.
    result = hypermodel_dir.runpytest_subprocess(*args, *workers) if workers else run_here(hypermodel_dir, *args)
    result.assert_outcomes(passed=2, xfailed=2)
    # JUnit: one testcase per case, each under its own name (a dict would hide duplicates: count a list).
    names = [node.get("name") for node in ET.parse(xml).getroot().iter("testcase")]
    assert sorted(names) == sorted(expected)
    # The short summary and the progress name every case.
    summary = [line.split(" - ")[0] for line in result.outlines if line.startswith(("PASSED ", "XFAIL "))]
    assert sorted(summary) == sorted(
        [f"PASSED guide.py::{n}" for n in expected[::2]] + [f"XFAIL guide.py::{n}" for n in expected[1::2]]
    )
    result.stdout.fnmatch_lines(["*[[]100%[]]"])
    # JSON: every case, so the preflight is complete and green, which is what the gated search asks for.
    data = json.loads(report.read_text())
    assert sorted(e["nodeid"] for e in data["cases"]) == sorted(f"guide.py::{name}" for name in expected)
    [hypermodel] = data["hypermodels"]
    assert (hypermodel["cases"], hypermodel["planned"], hypermodel["complete"], hypermodel["green"]) == (
        4,
        4,
        True,
        True,
    )


def test_ini_specs_are_relative_to_the_ini_file(hypermodel_dir, monkeypatch):
    """As pytest's own ini paths are: the same project runs from its directory or from above with -c."""
    project = hypermodel_dir.mkdir("project")
    (hypermodel_dir.path / "outcomes.py").rename(project / "models.py")
    (project / "pytest.ini").write_text("[pytest]\nhypermodel =\n    models.py:healthy\n")
    from_above = run_here(hypermodel_dir, "-p", "no:cacheprovider", "-c", "project/pytest.ini")
    from_above.assert_outcomes(passed=2)
    monkeypatch.chdir(project)
    inside = run_here(hypermodel_dir, "-p", "no:cacheprovider")
    inside.assert_outcomes(passed=2)


def test_gridsearch_abort_is_forecast_and_fails_the_run(hypermodel_dir):
    """Under xdist, as users run it (tests/engine/test_forecast_lines.py has the forecast in this process; the
    RandomSearch risk's lines too)."""
    report = hypermodel_dir.path / "preflight.json"
    result, cases = run_preflight(
        hypermodel_dir,
        HYPERMODEL_OPTION,
        "guide.py:failed_trial",
        "--hypermodel-tuner",
        "GridSearch",
        REPORT_OPTION,
        str(report),
        "-n",
        "2",
    )
    # Every case is a pass or a declared failure (xfail), yet the search would die: the run fails.
    assert {c.result for c in cases.values()} == {"passed", "skipped"}
    assert len(cases) == 12  # the whole grid, in KerasTuner's order
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "guide.py:failed_trial: GridSearch would abort at trial 0009 of 12: 3 FAILED trials in a row "
            "(0007, 0008, 0009); raise max_consecutive_failed_trials to 6*",
        ]
    )
    [forecast] = json.loads(report.read_text())["forecasts"]
    assert (forecast["aborts"], forecast["abort_id"], forecast["reason"]) == (
        True,
        "0009",
        "max_consecutive_failed_trials",
    )
    assert forecast["statuses"] == ["COMPLETED"] * 7 + ["FAILED"] * 3
    # The time per trial: the terminal says what the JSON holds.
    timing = forecast["timing"]
    assert timing["trials"] == 12 and timing["default_seconds"] > 0 and timing["slowest_ratio"] >= 1
    assert timing["search_seconds"] == pytest.approx(12 * timing["trial_seconds"], abs=0.01)
    assert timing["line"].startswith("guide.py:failed_trial: the default case took ")
    assert timing["headline"] in result.stdout.lines  # without -v, the short line; timing["line"] under -v


def test_an_unused_plugin_loads_no_numpy_and_no_backend(unused_plugin_run):
    """Every pytest run in a project with this package installed loads the plugin: without --hypermodel or the
    marker it must not pay for NumPy, Keras or a backend, nor for the engine, the probe, the rules or the views."""
    assert "PASSED test_no_numpy.py::test_modules" in unused_plugin_run, unused_plugin_run
