"""The CI gate tells the truth and pytest's habits work (the marker's natural forms, quiet progress lines,
annotation paths, the HTML page's messages and metadata)."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import HYPERMODELS, failed_line, read_junit, run_here, run_preflight

from pytest_hypermodel.plugin import HYPERMODEL_OPTION

NO_INPUT_MARKER = """
import keras
import pytest

def build(hp):
    model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(hp.Int("units", 2, 4, step=2)),
                              keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model

@pytest.mark.search_space(build{extra})
def test_space(hypermodel_case):
    assert hypermodel_case.model is not None
"""


def test_the_marker_with_the_build_function_alone_says_how_to_write_it(pytester):
    pytester.makepyfile(test_marked_space=NO_INPUT_MARKER.format(extra=""))
    result = run_here(pytester, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error, as for any module that cannot import
    result.stdout.fnmatch_lines(
        [
            "*test_marked_space.py:*: @pytest.mark.search_space(build) with the build function "
            "alone is read by pytest as decorating build*write @pytest.mark.search_space(build="
            "build) or @pytest.mark.search_space.with_args(build)*"
        ]
    )
    assert "object has no attribute 'Int'" not in result.stdout.str()


def test_the_marker_takes_an_input_shape_for_a_model_without_input(pytester):
    pytester.makepyfile(test_marked_space=NO_INPUT_MARKER.format(extra=", input_shape=(3, 2), strategy='extremes'"))
    result = run_here(pytester, "-p", "no:cacheprovider", "-p", "xdist", "-n", "0")
    result.assert_outcomes(passed=2)  # the defaults (units=2) and units=4


def test_the_marker_without_input_shape_is_one_error_not_failing_cases(pytester):
    pytester.makepyfile(test_marked_space=NO_INPUT_MARKER.format(extra=".with_args"[:0] + ", strategy='extremes'"))
    result = run_here(pytester, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*the model declares no input shape (no keras.Input)*pass input_shape=(28, 28) to the marker*"]
    )
    assert "failed" not in result.stdout.lines[-1]


NOISY = """
import sys

import keras


def build(hp):
    units = hp.Int("units", 1, 64)
    if 1 < units < 64:  # only the boundary search probes inside the range: the cases take its ends
        print("BOUNDARY-" + "PROBE-NOISE", file=sys.stderr)
    if units > 40:
        raise ValueError(f"{units} units are too many")
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(units), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model
"""


def test_what_the_probes_after_the_cases_print_stays_out_of_the_terminal(hypermodel_dir):
    hypermodel_dir.makepyfile(noisy=NOISY)
    result, _ = run_preflight(
        hypermodel_dir,
        HYPERMODEL_OPTION,
        "noisy.py:build",
        "--hypermodel-boundaries=on",
        "--hypermodel-boundaries-seconds=600",
        "--hypermodel-epochs=1",
    )
    result.stdout.fnmatch_lines(["*boundaries (*probes*", "*units: passes at 40, fails from 41*"])  # searched
    assert "BOUNDARY-PROBE-NOISE" not in result.stdout.str() + result.stderr.str()


def test_annotations_point_at_the_repository_from_a_subdirectory(pytester, monkeypatch):
    sub = pytester.path / "project"
    sub.mkdir()
    shutil.copy(HYPERMODELS / "outcomes.py", sub / "outcomes.py")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(pytester.path))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "summary.md"))
    monkeypatch.chdir(sub)
    result = run_here(
        pytester, "-p", "no:cacheprovider", HYPERMODEL_OPTION, "outcomes.py:fatal", "--hypermodel-boundaries=off"
    )
    errors = [line for line in result.stdout.lines if line.startswith("::error")]
    assert errors and all("file=project/outcomes.py," in line for line in errors if "file=" in line)
    assert any("file=" in line for line in errors)


def test_the_html_page_shows_each_failure_and_the_run(hypermodel_dir):
    html = hypermodel_dir.path / "report.html"
    _result, _ = run_preflight(
        hypermodel_dir,
        HYPERMODEL_OPTION,
        "outcomes.py:negative_units",
        f"--hypermodel-html={html}",
        "--hypermodel-epochs=1",
        here=True,
    )
    page = html.read_text()
    assert '<div class="message">' in page
    assert "ValueError: " in page and "Likely fix: " in page  # the message itself, not only its class
    for field in ("Date", "Command", "Backend", "Versions"):
        assert f"<th>{field}</th>" in page
    assert "keras-tuner " in page and "--hypermodel outcomes.py:negative_units" in page


def test_a_failing_forecast_is_a_failing_testcase_in_junit_and_in_the_last_line(hypermodel_dir):
    """Item 1: the failed-trials guide's grid passes case by case, but its forecast (about 25%) fails a run that
    accepts a risk of 10%: JUnit and the summary line say so, as the exit code does."""
    result, cases = run_preflight(
        hypermodel_dir,
        HYPERMODEL_OPTION,
        "guide.py:failed_trial",
        "--hypermodel-epochs=1",
        "--hypermodel-max-abort-risk=0.1",
        here=True,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2, xfailed=2, failed=1)
    forecast = read_junit(hypermodel_dir.path / "preflight.xml", forecasts=True)["failed_trial[forecast]"]
    assert "failed_trial[forecast]" not in cases  # run_preflight's cases are the cases
    assert forecast.result == "failed"
    assert "RandomSearch would abort within 10 trials" in forecast.message
    assert forecast.properties["forecast.tuner"] == "RandomSearch"
    xml = (hypermodel_dir.path / "preflight.xml").read_text()
    assert 'failures="1"' in xml
    result.stdout.fnmatch_lines([failed_line("guide.py::failed_trial[[]forecast[]]", "RandomSearch would abort*")])


def test_ini_hypermodels_do_not_take_over_a_run_given_paths(hypermodel_dir):
    """Item 2: paths on the command line narrow the run, as in pytest; --no-hypermodel switches the preflight off."""
    hypermodel_dir.makeini("[pytest]\nhypermodel = outcomes.py:healthy\n")
    hypermodel_dir.makepyfile(test_trivial="def test_one():\n    pass\n")
    result = run_here(hypermodel_dir, "-p", "no:cacheprovider", "test_trivial.py")
    result.assert_outcomes(passed=1)
    assert "hypermodel preflight" not in result.stdout.str()
    result = run_here(hypermodel_dir, "-p", "no:cacheprovider", "--no-hypermodel", "-o", "testpaths=.")
    result.assert_outcomes(passed=1)
    assert "hypermodel preflight" not in result.stdout.str()
    result = run_here(hypermodel_dir, "-p", "no:cacheprovider", "outcomes.py", "-rA")
    result.assert_outcomes(passed=2)  # naming the SPEC's file runs its cases
    result.stdout.fnmatch_lines(["PASSED outcomes.py::healthy[[]defaults[]]*"])


def test_a_case_reruns_by_its_node_id_and_by_k_with_its_values(hypermodel_dir):
    """Item 3: the id a FAILED line prints reruns that case; -k takes name=value."""
    for selection in (["outcomes.py::fatal[size=2]"], ["-k", "fatal and size=2"]):
        result = run_here(
            hypermodel_dir, "-p", "no:cacheprovider", "-rA", HYPERMODEL_OPTION, "outcomes.py:fatal", *selection
        )
        result.stdout.fnmatch_lines([failed_line("outcomes.py::fatal[[]size=2[]]", "size=2 -> FatalError*")])
        assert "fatal[defaults]" not in result.stdout.str(), selection
        assert "ERROR: not found" not in result.stderr.str()


def test_a_rerun_forecasts_the_whole_plan_and_keeps_every_case_in_the_report(hypermodel_dir):
    """Item 4: --lf reruns only the failed cases; the cases not rerun come from the last run (pytest's cache), and
    the forecast says so."""
    report = hypermodel_dir.path / "preflight.json"
    args = [HYPERMODEL_OPTION, "outcomes.py:fatal", "--hypermodel-report", str(report), "--hypermodel-epochs=1"]
    first = run_here(hypermodel_dir, *args)
    first.assert_outcomes(passed=1, failed=2)  # fatal[size=2] and the forecast
    again = run_here(hypermodel_dir, *args, "--lf", "-rA")
    again.assert_outcomes(failed=2)  # the case rerun, and the forecast over the whole plan
    again.stdout.fnmatch_lines(
        ["run-last-failure: rerun previous 1 failure*", "FAILED outcomes.py::fatal[[]size=2[]]*"]
    )
    assert "PASSED outcomes.py::fatal[defaults]" not in again.stdout.str()  # not rerun
    again.stdout.fnmatch_lines(
        [
            "outcomes.py:fatal: RandomSearch would abort within 10 trials: *"
            "(1 of its cases as the last run left them: not rerun this time)"
        ]
    )
    data = json.loads(report.read_text())
    assert "judged by the 2 cases run" in data["forecasts"][0]["message"]  # how: in the JSON (and behind -v)
    assert sorted(e["nodeid"] for e in data["cases"]) == ["outcomes.py::fatal[defaults]", "outcomes.py::fatal[size=2]"]
    assert data["hypermodels"][0]["complete"]
