"""Two preflights at once writing the same JSON report and JUnit file: each file is one run's whole, and the two
agree (the same run's cases). pytest's junitxml writes its file in place; the plugin has it write beside the path
and renames it over the path, under one lock with the JSON report (``reporter.WholeReportFiles``)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

#: Two hyperparameters, the fewest that give the two runs' strategies (the extremes; with the corners) different cases.
MODEL = """
import keras
from keras import layers


def build(hp):
    model = keras.Sequential(
        [keras.Input(shape=(4,)), layers.Dense(hp.Int("units", 2, 8, step=2)), layers.Dense(1, activation=hp.Choice(
            "activation", ["linear", "relu"]))]
    )
    model.compile(loss="mse", optimizer="sgd")
    return model
"""


@pytest.mark.proof  # two whole pytest runs at once, each with its probe process
def test_two_runs_writing_the_same_paths_leave_whole_files_from_one_run(pytester):
    pytester.makepyfile(m=MODEL)
    out = pytester.path / "out"
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--hypermodel", "m.py:build",
        "--hypermodel-isolation=off", "--hypermodel-boundaries=off", "--hypermodel-rehearsal=off",
        "--hypermodel-epochs=1",
        f"--junitxml={out / 'r.xml'}", f"--hypermodel-report={out / 'r.json'}",
    ]  # fmt: skip
    runs = [
        subprocess.Popen(
            [*command, f"--hypermodel-strategy={strategy}"],
            cwd=pytester.path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for strategy in ("extremes", "extremes,corners")
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    for output in outputs:
        assert f"generated xml file: {out / 'r.xml'}" in output, output  # the path, not the file written beside it
    report = json.loads((out / "r.json").read_text())
    suite = ET.parse(out / "r.xml").getroot().find("testsuite")
    assert suite is not None
    in_junit = {c.get("name") for c in suite.iter("testcase")} - {"build[forecast]", "build[health]"}
    in_json = {c["nodeid"].rpartition("::")[2] for c in report["cases"]}
    assert in_json and in_json == in_junit, (sorted(in_json), sorted(in_junit))
    assert int(suite.get("tests", 0)) >= len(in_junit) and report["run"]["command"].count("--hypermodel-strategy=") == 1
    assert sorted(p.name for p in out.iterdir()) == ["r.json", "r.xml"]  # nothing written beside them is left
