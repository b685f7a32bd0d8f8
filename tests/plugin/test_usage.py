"""Outputs that cannot be written and options that contradict each other are one usage error at start-up; a
SPEC given twice runs once. (A HyperModel.fit() returning None or text: tests/engine/test_case_verdicts.py.)"""

from __future__ import annotations

import pytest
from conftest import run_preflight

from pytest_hypermodel.plugin import HTML_OPTION, HYPERMODEL_OPTION, ISOLATE_OPTION, ISOLATION_OPTION, REPORT_OPTION


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [REPORT_OPTION, "a_file/preflight.json"],
            "--hypermodel-report a_file/preflight.json: a_file is a file, so nothing can be written under it; *",
        ),
        ([HTML_OPTION, "a_directory"], "--hypermodel-html a_directory: that is a directory; give a file path, *"),
        (
            ["-o", "hypermodel_html=a_file/deeper/report.html"],
            "hypermodel_html (ini) a_file/deeper/report.html: a_file is a file, so nothing can be written under it*",
        ),
        (
            [ISOLATE_OPTION, ISOLATION_OPTION, "off"],
            "--hypermodel-isolate and --hypermodel-isolation = 'off' contradict each other (isolate means case): *",
        ),
        (
            ["-o", "hypermodel_isolate=true", "-o", "hypermodel_isolation=process"],
            "hypermodel_isolate (ini) and hypermodel_isolation (ini) = 'process' contradict each other*",
        ),
    ],
    ids=[
        "report-under-a-file",
        "html-is-a-directory",
        "ini-html-under-a-file",
        "isolate-and-off",
        "ini-isolate-and-process",
    ],
)
def test_unwritable_outputs_and_contradictions_are_one_usage_error_at_start(hypermodel_dir, args, message):
    (hypermodel_dir.path / "a_file").write_text("not a directory")
    (hypermodel_dir.path / "a_directory").mkdir()
    # In this process: a usage error stops pytest before anything of Keras runs.
    result = hypermodel_dir.runpytest_inprocess(
        "-p", "no:cacheprovider", HYPERMODEL_OPTION, "outcomes.py:healthy", *args
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert "healthy[" not in result.stdout.str()  # refused before the first case


def test_the_command_line_overrides_the_ini_isolation_without_contradiction(hypermodel_dir):
    result, cases = run_preflight(
        hypermodel_dir, "-o", "hypermodel_isolation=off", ISOLATE_OPTION, HYPERMODEL_OPTION, "outcomes.py:healthy"
    )
    assert result.ret == pytest.ExitCode.OK
    assert len(cases) == 2


def test_a_spec_given_twice_runs_once(hypermodel_dir):
    result, cases = run_preflight(
        hypermodel_dir,
        HYPERMODEL_OPTION,
        "outcomes.py:failed_trial",
        HYPERMODEL_OPTION,
        " outcomes.py:failed_trial",
        here=True,
    )
    junit = (hypermodel_dir.path / "preflight.xml").read_text()
    assert junit.count('name="failed_trial[defaults]"') == 1
    assert sorted(cases) == ["failed_trial[defaults]", "failed_trial[size=2]"]
    said = [line for line in result.outlines if line.startswith("outcomes.py:failed_trial: ")]
    assert [line.split(" ")[1] for line in said] == [
        "RandomSearch",
        "10",
    ]  # its forecast and its time (10 trials...), once
    assert result.stdout.str().count("hypermodel: discovering outcomes.py:failed_trial") == 1  # discovered once
