"""xdist's report equals the serial one, every fault in it (with the proofs)."""

from __future__ import annotations

import json

import pytest
from conftest import run_preflight

#: Each hazard's size=2 build kills, hangs or exits whatever process runs it: discovery's first, then its case's.
FAULTS = {
    "aborts": ("crash", "the process running the case died (killed by SIGABRT)"),
    "segfaults": ("crash", "the process running the case died (killed by SIGSEGV)"),
    "oom_killed": ("crash", "the process running the case died (killed by SIGKILL)"),
    "exits_hard": ("crash", "the process running the case died (exit code 3)"),
    "hangs": ("timeout", "the case ran past its time limit of 5 s"),
    "hangs_hard": ("timeout", "the case ran past its time limit (it did not stop at 5 s: its process was killed)"),
    "exits": ("error", "SystemExit: 3"),
    "interrupts": ("error", "KeyboardInterrupt: "),
}


#: Under xdist, one fault of each way to go: the process dies, hangs past its alarm, or the build raises what
#: KerasTuner does not catch (each restart of a probe process costs a backend import); with a process per case,
#: the two that end it.
XDIST_FAULTS = ("aborts", "hangs_hard", "interrupts")
ISOLATED_FAULTS = ("exits_hard", "hangs_hard")


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
        return [line for line in result.stdout.lines if line.startswith("guide.py:") and " took " not in line]

    assert summary(first) and summary(first) == summary(second)
