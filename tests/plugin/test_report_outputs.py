"""The reports people look at, written by the real plugin: once, from the xdist controller, and on an interrupt."""

from __future__ import annotations

import pytest
from conftest import HYPERMODELS


def _line_of(text: str) -> int:
    return next(i for i, line in enumerate((HYPERMODELS / "thresholds.py").read_text().splitlines(), 1) if text in line)


def test_annotations_summary_and_html_come_once_from_the_controller(hypermodel_dir, monkeypatch):
    summary = hypermodel_dir.path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = hypermodel_dir.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--hypermodel",
        "thresholds.py:layer_size",
        "--hypermodel-epochs=1",
        "--hypermodel-boundaries=on",
        "--hypermodel-boundaries-seconds=600",
        "--hypermodel-html=out/report.html",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    commands = [line for line in result.stdout.lines if line.startswith("::")]
    errors = [line for line in commands if line.startswith("::error")]
    # units=48..64 fail (a ValueError KerasTuner retries): one annotation on the line that declares units.
    assert len(errors) == len(set(errors)) >= 1 and len(errors) <= 10
    declared = _line_of('hp.Int("units"')
    units = [line for line in errors if f"file=thresholds.py,line={declared}," in line]
    assert units and "units" in units[0] and "max_value" in units[0]  # the verified repair is the fix it names
    text = summary.read_text()
    assert text.count("Hypermodel preflight: red") == 1  # appended once, by the controller only
    assert "thresholds.py:layer_size" in text and "units=64" in text and "```diff" in text
    html = (hypermodel_dir.path / "out" / "report.html").read_text()
    assert "units=64" in html and "http://" not in html and "https://" not in html
    result.stdout.fnmatch_lines(["HTML report: out/report.html"])
