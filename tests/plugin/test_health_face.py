"""The health checks' face in a real pytest run: a failing ``[health]`` testcase per hypermodel in JUnit, the
terminal's lines, the JSON report's ``health``, the exit status; a suppressed check (option or ini) lets the run
pass, and a misspelt one is a usage error. The runs are in this process (``here``): the checks, not the probe
process, are the subject."""

from __future__ import annotations

import json

import pytest
from conftest import run_preflight

from pytest_hypermodel.plugin import HYPERMODEL_OPTION, REPORT_OPTION, SUPPRESS_HEALTH_CHECK_OPTION


def test_a_finding_fails_the_run_as_one_health_testcase_everywhere_a_ci_reads(hypermodel_dir):
    result, cases = run_preflight(
        hypermodel_dir, HYPERMODEL_OPTION, "waste.py:unused_batch_size", REPORT_OPTION, "report.json", here=True
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    health = cases["unused_batch_size[health]"]
    assert health.result == "failed"
    assert "waste.py:unused_batch_size: [hyperparameter_unused] 'batch_size' changes nothing" in health.message
    assert health.properties["health.check"] == "hyperparameter_unused"
    assert health.properties["health.location"].endswith("waste.py:22")
    assert all(c.result == "passed" for name, c in cases.items() if not name.endswith("[health]"))
    result.stdout.fnmatch_lines(
        [
            "*[[]hyperparameter_unused[]] 'batch_size' changes nothing* (waste.py:22): use 'batch_size'*",
            f"*{SUPPRESS_HEALTH_CHECK_OPTION} hyperparameter_unused*",
        ]
    )
    result.stdout.fnmatch_lines(["*1 failed*"])
    report = json.loads((hypermodel_dir.path / "report.json").read_text())
    (found,) = report["health"]
    assert (found["check"], found["line"]) == ("hyperparameter_unused", 22)


def test_a_check_suppressed_in_the_ini_file_fails_nothing(hypermodel_dir):
    hypermodel_dir.makeini("[pytest]\nhypermodel_suppress_health_check =\n    hyperparameter_unused\n")
    result, cases = run_preflight(hypermodel_dir, HYPERMODEL_OPTION, "waste.py:unused_batch_size", here=True)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert cases and not any(name.endswith("[health]") for name in cases)
    assert "[hyperparameter_unused]" not in result.stdout.str()


def test_a_misspelt_check_is_one_usage_error_naming_the_checks(hypermodel_dir):
    result = hypermodel_dir.runpytest_inprocess(
        "-p",
        "no:cacheprovider",
        HYPERMODEL_OPTION,
        "waste.py:unused_batch_size",
        SUPPRESS_HEALTH_CHECK_OPTION,
        "hyperparameter_unused,unused_hyperparameter",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: {SUPPRESS_HEALTH_CHECK_OPTION}: unknown health check 'unused_hyperparameter': "
            "the checks are after_search, *"
        ]
    )
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
