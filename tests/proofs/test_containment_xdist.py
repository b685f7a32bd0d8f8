"""xdist's report equals the serial one, every fault in it (with the proofs)."""

from __future__ import annotations

import json

import pytest
from conftest import run_preflight


def _comparable(report_path):
    data = json.loads(report_path.read_text())
    for case in data["cases"]:
        for key in ("seconds", "device", "nodeid"):
            case.pop(key, None)
    data["cases"].sort(key=lambda c: (c["case.spec"], c["case.id"]))
    for forecast in data["forecasts"]:
        forecast.pop("seconds", None)
        forecast.pop("timing", None)  # each run's own seconds
    data.pop("run")  # when and with which command: the only part that differs by design
    return data


@pytest.mark.proof
def test_xdist_report_equals_the_serial_one(hypermodel_dir):
    """Summary, forecast and JSON are computed once on the controller, over every case, from either run."""
    specs = ["--hypermodel", "guide.py:failed_trial", "--hypermodel-tuner", "GridSearch"]
    serial, parallel = hypermodel_dir.path / "serial.json", hypermodel_dir.path / "parallel.json"
    first, _ = run_preflight(hypermodel_dir, *specs, "--hypermodel-report", str(serial))
    # Explicit gateways (--tx), the code path of xdist's remote execution, here on this machine.
    second, _ = run_preflight(
        hypermodel_dir, *specs, "--hypermodel-report", str(parallel), "--dist", "load", "--tx", "2*popen"
    )
    second.stdout.fnmatch_lines(["*2 workers*"])
    assert _comparable(serial) == _comparable(parallel)
    assert first.ret == second.ret == pytest.ExitCode.TESTS_FAILED

    def summary(result):  # but the time per trial, each run's own
        return [
            line for line in result.stdout.lines if line.startswith("guide.py:") and "(the default case: " not in line
        ]

    assert summary(first) and summary(first) == summary(second)
