"""A pytest run of the plugin leaves the project as it found it, and says what the user's code wrote there: in
the terminal and the JSON report; the run's own JSON and JUnit files are kept."""

from __future__ import annotations

import json

from conftest import run_preflight

from pytest_hypermodel.plugin import HYPERMODEL_OPTION, REPORT_OPTION

WRITES = """
import keras
from pathlib import Path


def build(hp):
    Path("built_with.txt").write_text("units")  # in the project: put back after the run
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(hp.Int("units", 2, 4, step=2))])
    model.compile(loss="mse", optimizer="sgd")
    return model
"""


def test_what_a_build_writes_in_the_project_is_removed_and_told(pytester):
    pytester.makepyfile(writes=WRITES)
    result, cases = run_preflight(
        pytester, HYPERMODEL_OPTION, "writes.py:build", REPORT_OPTION, "report.json", "--hypermodel-strategy=default",
        "--hypermodel-boundaries=off", here=True,
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["your code wrote in the project during the preflight: built_with.txt (created)*"])
    assert not (pytester.path / "built_with.txt").exists()
    assert json.loads((pytester.path / "report.json").read_text())["project_files"] == [
        {"path": "built_with.txt", "change": "created", "restored": True}
    ]
    assert (pytester.path / "preflight.xml").exists() and list(cases) == ["build[defaults]"]
