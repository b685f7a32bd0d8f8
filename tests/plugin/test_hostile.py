"""Bad settings are one usage error; a build that exits or interrupts itself is a reported case; SIGTERM keeps
every report."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
from conftest import HYPERMODELS, run_here, run_preflight

from pytest_hypermodel.plugin import HYPERMODEL_OPTION, REPORT_OPTION

MARKER_TEST = """
import keras
import pytest

def build(hp):
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(hp.Int("units", 1, 2))])
    model.compile(loss="mse")
    return model

@pytest.mark.search_space(build)
def test_space(hypermodel_case):
    pass
"""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hypermodel-timeout", "-5"], "--hypermodel-timeout = -5.0: expected seconds, more than 0, e.g. 300"),
        (["--hypermodel-timeout", "nan"], "--hypermodel-timeout = nan: expected seconds, more than 0*"),
        (["--hypermodel-timeout", "0"], "--hypermodel-timeout = 0.0: expected seconds, more than 0*"),
        (
            ["--hypermodel-max-abort-risk", "-3"],
            "--hypermodel-max-abort-risk = -3.0: expected a probability from 0 to 1*",
        ),
        (["-o", "hypermodel_max_abort_risk=abc"], "hypermodel_max_abort_risk (ini) = 'abc': expected a probability*"),
        (["-o", "hypermodel_epochs=abc"], "hypermodel_epochs (ini) = 'abc': expected an integer"),
        (
            ["-o", "hypermodel_boundaries_seconds=0"],
            "hypermodel_boundaries_seconds (ini) = '0': expected seconds, more than 0, e.g. 60",
        ),
        (["--hypermodel-levels", "5"], "--hypermodel-levels = 5: use 2 (the extremes) or 3 (with the default)"),
        (["--hypermodel-memory-budget", "0"], "--hypermodel-memory-budget = '0': use a size more than 0, e.g. 2GiB"),
        (
            ["-o", "hypermodel_isolation=sometimes"],
            "hypermodel_isolation (ini) = 'sometimes': use process (one probe process, the default), case *",
        ),
        (["-o", "hypermodel_on==fatal"], "hypermodel_on line '=fatal': write NAME=ACTION, NAME an exception class*"),
        (
            [REPORT_OPTION, "someone_elses.json"],
            "--hypermodel-report someone_elses.json: that path holds something that is not a preflight report; *",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else None,
)
@pytest.mark.parametrize("route", ["flag", "marker"])
def test_bad_setting_is_one_usage_error(hypermodel_dir, args, message, route):
    """Read once at start-up, the same for --hypermodel and the marker: never a traceback per case."""
    (hypermodel_dir.path / "someone_elses.json").write_text('{"not": "a preflight report"}')
    if route == "marker":
        if args[0] == REPORT_OPTION:
            pytest.skip("the JSON report is the preflight's (--hypermodel), not the marker's")
        hypermodel_dir.makepyfile(test_marked_space=MARKER_TEST)
        target = ["test_marked_space.py"]
    else:
        target = [HYPERMODEL_OPTION, "outcomes.py:healthy"]
    # In this process: a usage error stops pytest before anything of Keras runs (the outer run has TensorFlow).
    result = hypermodel_dir.runpytest_inprocess("-p", "no:cacheprovider", *target, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert [line for line in result.stderr.lines if line.startswith("ERROR:")] == [result.stderr.lines[0]]
    assert (hypermodel_dir.path / "someone_elses.json").read_text() == '{"not": "a preflight report"}'


#: The build that exits, interrupts itself or raises a BaseException of its own, and the exception each raises (the
#: fault matrix of test_containment has the first two under xdist too).
STOPPERS = {"exits": "SystemExit", "interrupts": "KeyboardInterrupt", "raises_base_exception": "StopsTheSearch"}


def test_a_build_that_exits_or_interrupts_itself_is_a_reported_case(hypermodel_dir):
    """KerasTuner catches Exception only: the search would end there, so the case fails as a search stopper (a
    BaseException subclass of the user's own too, named by its class), and the run goes on to its end. One run for
    the three (tests/engine/test_case_verdicts.py has their verdicts in this process). What the build prints in
    the probe process shows under its own case, as pytest shows a test's output."""
    report = hypermodel_dir.path / "preflight.json"
    specs = [arg for name in STOPPERS for arg in (HYPERMODEL_OPTION, f"hazards.py:{name}")]
    result, cases = run_preflight(
        hypermodel_dir, *specs, HYPERMODEL_OPTION, "outcomes.py:healthy", REPORT_OPTION, str(report), "-rA"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the run went on to its end
    result.stdout.fnmatch_lines(["*_ exits[[]size=2[]] _*", "*Captured stdout call*", "building size=2"])
    assert result.stdout.str().count("building size=") == 2  # discovery's own builds print nothing here
    data = json.loads(report.read_text())
    assert len(data["cases"]) == 8 and all(h["complete"] for h in data["hypermodels"])
    for name, exception in STOPPERS.items():
        bad = cases.pop(f"{name}[size=2]")
        assert (bad.result, bad.properties["outcome"], bad.properties["exception"]) == ("failed", "error", exception)
        assert bad.properties["disposition"] == "fatal"
        assert f"this {exception} would end the whole search process here" in bad.message
        result.stdout.fnmatch_lines([f"*a {exception} stops the search at the first trial that raises it*"])
        [entry] = [e for e in data["cases"] if e["nodeid"] == f"hazards.py::{name}[size=2]"]
        assert (entry["exception"], entry["disposition"], entry["runs"]) == (exception, "fatal", 1)
    assert {n: c.result for n, c in cases.items()} == {
        **{f"{name}[defaults]": "passed" for name in STOPPERS},
        "healthy[defaults]": "passed",
        "healthy[size=2]": "passed",
    }


def test_sigterm_writes_junit_json_and_forecast(hypermodel_dir):
    """A CI runner's cancel: what finished is in every report."""
    xml, report = hypermodel_dir.path / "out.xml", hypermodel_dir.path / "preflight.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            HYPERMODEL_OPTION,
            "hazards.py:HangsInFit",
            f"--junitxml={xml}",
            REPORT_OPTION,
            str(report),
        ],
        cwd=hypermodel_dir.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not report.exists() and time.monotonic() < deadline:  # written after the first case
            time.sleep(0.2)
        assert report.exists(), "the first case never finished"
        time.sleep(1)  # into the hanging case
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    names = [node.get("name") for node in ET.parse(xml).getroot().iter("testcase")]
    assert "HangsInFit[defaults]" in names
    data = json.loads(report.read_text())
    assert [e["nodeid"] for e in data["cases"]] == ["hazards.py::HangsInFit[defaults]"]
    assert [f["spec"] for f in data["forecasts"]] == ["hazards.py:HangsInFit"]
    assert "KeyboardInterrupt" in out and "SIGTERM" in out


def test_a_hyperparameter_redeclared_with_another_range_fails_the_run_once_at_its_second_line(hypermodel_dir):
    result = run_here(hypermodel_dir, "-p", "no:cacheprovider", HYPERMODEL_OPTION, "specs.py:redeclared")
    result.assert_outcomes(passed=2, failed=1)  # the cases, and its [health] test
    line = next(
        n
        for n, text in enumerate((HYPERMODELS / "specs.py").read_text().splitlines(), 1)
        if text.strip().startswith('hp.Int("units", 1, 64)')
    )
    result.stdout.fnmatch_lines(
        [  # at the second declaration, in the user's file
            "*specs.py:redeclared: [[]hyperparameter_redeclared[]] 'units' is declared again as hp.Int('units', 1, 64), "
            f"after hp.Int('units', 1, 4) at specs.py:*: KerasTuner returns the first declaration's value there*"
            f"(specs.py:{line}): give the second declaration its own name*",
        ]
    )
    assert "HypermodelWarning" not in result.stdout.str()
    # once as the failing test's text, once in the preflight's summary; pytest's short summary shows it a third
    # time where the message is not cut to the terminal's width (it is not, where the CI variable is set)
    before_short_summary = result.stdout.str().partition("short test summary info")[0]
    assert before_short_summary.count("[hyperparameter_redeclared]") == 2


def test_data_the_probe_process_cannot_receive_runs_here_with_a_warning(hypermodel_dir):
    """A lambda cannot be pickled to the probe process: the cases still run, in pytest's process, and the user is told."""
    hypermodel_dir.makeconftest(
        "import numpy as np, pytest\n\n@pytest.fixture\ndef hypermodel_data():\n"
        "    return lambda model, values: (np.ones((8, 4), 'float32'), np.ones((8, 1), 'float32'))\n"
    )
    result, cases = run_preflight(hypermodel_dir, HYPERMODEL_OPTION, "outcomes.py:healthy")
    assert result.ret == pytest.ExitCode.OK
    assert {name: c.properties["outcome"] for name, c in cases.items()} == {
        "healthy[defaults]": "ok",
        "healthy[size=2]": "ok",
    }
    result.stdout.fnmatch_lines(
        [
            "*HypermodelWarning: hypermodel_data returned something the probe process cannot "
            "receive (*): the case ran in the pytest process, where a crash ends the run*"
        ]
    )


def test_control_characters_and_id_like_values_keep_junit_valid_and_every_case(hypermodel_dir):
    """A BEL or an ANSI escape in a name made the JUnit file invalid XML; ``a='y-b=2'`` and ``a='y', b=2`` shared
    one id, and one of them was lost from the JSON report."""
    report = hypermodel_dir.path / "preflight.json"
    result, cases = run_preflight(
        hypermodel_dir,
        HYPERMODEL_OPTION,
        "hostile.py:control_names",
        HYPERMODEL_OPTION,
        "hostile.py:dashed_values",
        REPORT_OPTION,
        str(report),
        "--hypermodel-suppress-health-check=hyperparameter_unused",  # their names are the point, not their use
        here=True,
    )
    assert result.ret == pytest.ExitCode.OK
    assert len(cases) == 4 + 6 and all(c.result == "passed" for c in cases.values())  # the XML parsed
    assert "control_names[units\\x07=2-\\x1b[31mred\\x1b[0m=b\\x1b[0m]" in cases
    assert {"dashed_values[a=y-b=2]", "dashed_values[a=y-b=2~2]"} <= set(cases)
    assert cases["control_names[units\\x07=2]"].properties["hp.units\\x07"] == "2"
    data = json.loads(report.read_text())
    assert len(data["cases"]) == 10 and all(h["complete"] for h in data["hypermodels"])
    # The JSON report maps each id back to its values, under the hyperparameters' own names.
    values = {e["case.id"]: e["values"] for e in data["cases"]}
    assert values["units\\x07=2"] == {"units\x07": 2, "\x1b[31mred\x1b[0m": "a"}
    assert sorted([values["a=y-b=2"], values["a=y-b=2~2"]], key=str) == [{"a": "y", "b": 2}, {"a": "y-b=2", "b": 1}]


def test_an_exception_whose_str_raises_keeps_its_case(hypermodel_dir):
    """Its case was lost ("probe process failed"), or, at the defaults, the run was an INTERNALERROR."""
    report = hypermodel_dir.path / "preflight.json"
    result, cases = run_preflight(
        hypermodel_dir,
        HYPERMODEL_OPTION,
        "hostile.py:unreadable_error",
        HYPERMODEL_OPTION,
        "hostile.py:unreadable_at_defaults",
        REPORT_OPTION,
        str(report),
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in out and "probe process failed" not in out
    failing = {"unreadable_error[units=2]", "unreadable_at_defaults[defaults]", "unreadable_at_defaults[units=2]"}
    assert {n for n, c in cases.items() if c.result == "failed"} == failing and len(cases) == 4
    for name in failing:
        assert (cases[name].properties["outcome"], cases[name].properties["exception"]) == ("error", "Unreadable")
        assert "(its __str__ raised RuntimeError)" in cases[name].message
    assert (
        "Unreadable('units=2 is not allowed') (its __str__ raised RuntimeError)"
        in cases["unreadable_error[units=2]"].message
    )
    assert len(json.loads(report.read_text())["cases"]) == 4
