"""No long silence (the progress lines): discovery, the boundaries and the repair's verification say, through pytest's
terminal writer, when they start and end, with their counts and seconds; in whole lines (pytester's output is not a
terminal: this is the CI log's form); -q keeps only the ends, -qq none."""

from __future__ import annotations

import re

import pytest
from conftest import run_here

from pytest_hypermodel.plugin import HYPERMODEL_OPTION

BOUNDARIES = ("--hypermodel-boundaries=on", "--hypermodel-boundaries-seconds=600", "--hypermodel-epochs=1")
SECONDS = r"\(\d+\.\d s\)"


def _run(pytester: pytest.Pytester, *args: str, here: bool = False) -> pytest.RunResult:
    """``here``: in this process (conftest's run_here), else in a pytest subprocess."""
    args = ("-p", "no:cacheprovider", *args)
    return run_here(pytester, *args) if here else pytester.runpytest_subprocess(*args)


def _progress(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("hypermodel: ")]


def test_discovery_is_told_after_pytest_s_header_with_its_counts_and_time(hypermodel_dir):
    """In a pytest process of its own, with its probe process: the backend's start-up lines (TensorFlow's absl
    lines: oneDNN, CUDA drivers, cuInit), which come before its log level applies, are held back too."""
    result = _run(hypermodel_dir, HYPERMODEL_OPTION, "outcomes.py:healthy")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2)
    output = result.stdout.str() + result.stderr.str()
    assert "absl::InitializeLog" not in output and "cuInit" not in output and "cuda drivers" not in output
    result.stdout.re_match_lines(
        [
            r"=+ test session starts =+",
            r"hypermodel: discovering outcomes\.py:healthy$",
            rf"hypermodel: outcomes\.py:healthy: 1 hyperparameter, 2 cases planned {SECONDS}$",
            r"collected 2 items",
        ],
        consecutive=False,
    )
    assert "\r" not in result.stdout.str()


def test_the_boundaries_and_the_repair_s_verification_are_told_with_counts_and_times(hypermodel_dir):
    result = _run(
        hypermodel_dir,
        HYPERMODEL_OPTION,
        "thresholds.py:layer_size",
        *BOUNDARIES,
        "--hypermodel-rehearsal=on",
        "--hypermodel-strategy=extremes",  # fewer cases, rehearsed trials, probes: the steps and their order are the point
        here=True,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.re_match_lines(
        [
            r"thresholds\.py \.F\. +\[100%\]$",
            r"hypermodel: rehearsing thresholds\.py:layer_size's search: \d+ trials through KerasTuner's search\(\) .*$",
            rf"hypermodel: thresholds\.py:layer_size: rehearsed \d+ trials {SECONDS}: 0 findings$",
            r"hypermodel: searching the boundaries of thresholds\.py:layer_size \(1 failing case, at most 64 probes\)$",
            rf"hypermodel: thresholds\.py:layer_size: 1 boundary in 3 probes {SECONDS}$",
            (
                r"hypermodel: verifying the repair of thresholds\.py:layer_size \(1 change\): a preflight of the repaired "
                r"space$"
            ),
            rf"hypermodel: thresholds\.py:layer_size: the repair is green: 3 cases pass {SECONDS}$",
            r"$",
            r"=+ FAILURES =+",
        ],
        consecutive=True,
    )
    assert "\r" not in result.stdout.str()


def test_quiet_keeps_only_the_ends_of_the_steps_and_very_quiet_none(hypermodel_dir):
    # One FAILED trial ends the search: size=2 is drawn, so the forecast fails (2 values: no third trial).
    stops = "--hypermodel-max-consecutive-failed-trials=1"
    quiet = _run(hypermodel_dir, "-q", HYPERMODEL_OPTION, "outcomes.py:failed_trial", stops, *BOUNDARIES, here=True)
    assert quiet.ret == pytest.ExitCode.TESTS_FAILED  # the forecast
    lines = _progress(quiet)
    assert len(lines) == 3, lines
    assert re.fullmatch(rf"hypermodel: 1 hypermodel discovered, 2 cases planned {SECONDS}", lines[0])
    assert re.fullmatch(
        rf"hypermodel: outcomes\.py:failed_trial: 0 boundaries, 1 failing value in 0 probes "
        rf"{SECONDS}",
        lines[1],
    )
    assert re.fullmatch(
        rf"hypermodel: outcomes\.py:failed_trial: the repair is green: its 1 case passes {SECONDS}", lines[2]
    )
    assert quiet.outlines[0] == lines[0]  # the first line: -q prints no header
    quiet.stdout.re_match_lines([r"\.x +\[100%\]$", re.escape(lines[1])], consecutive=True)  # not glued to [100%]
    assert "\r" not in quiet.stdout.str()

    very_quiet = _run(
        hypermodel_dir, "-qq", HYPERMODEL_OPTION, "outcomes.py:failed_trial", stops, *BOUNDARIES, here=True
    )
    assert very_quiet.ret == pytest.ExitCode.TESTS_FAILED
    assert _progress(very_quiet) == []


def test_an_xdist_controller_tells_what_it_waits_for_and_what_was_planned(hypermodel_dir):
    result = _run(hypermodel_dir, "-n", "2", HYPERMODEL_OPTION, "outcomes.py:healthy")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.re_match_lines(
        [
            r"=+ test session starts =+",
            r"hypermodel: discovering 1 hypermodel on worker gw\d+$",
            rf"hypermodel: outcomes\.py:healthy: 1 hyperparameter, 2 cases planned {SECONDS}$",
            r"2 workers \[2 items\]",
        ],
        consecutive=False,
    )
    assert "\r" not in result.stdout.str()


def test_no_terminal_reporter_no_progress_and_no_error(hypermodel_dir):
    result = _run(hypermodel_dir, "-p", "no:terminal", HYPERMODEL_OPTION, "outcomes.py:healthy", here=True)
    assert result.ret == pytest.ExitCode.OK
    assert "hypermodel:" not in result.stdout.str() + result.stderr.str()
