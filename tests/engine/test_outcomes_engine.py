"""Every outcome class, produced by a real Keras model, as the engine reports it (tests/plugin/test_outcomes.py reads
the same cases back from a real pytest run's JUnit report)."""

from __future__ import annotations

import os

from in_process import by_name, preflight_here  # tests/ is on sys.path

SPECS = [
    "healthy",
    "failed_trial",
    "fatal",
    "returns_none",
    "negative_units",
    "nan_loss",
    "diverging",
    "memory_error",
    "oversized",
]
# name of the case that triggers the outcome -> (outcome, exception, disposition, pytest's outcome)
EXPECTED = {
    "failed_trial[size=2]": ("failed_trial", "FailedTrialError", "failed", "xfailed"),
    "fatal[size=2]": ("fatal", "FatalError", "fatal", "failed"),
    "returns_none[size=2]": ("fatal", "FatalTypeError", "fatal", "failed"),
    "negative_units[size=-1]": ("error", "ValueError", "failed", "failed"),
    "nan_loss[size=2]": ("nan", "", "failed", "failed"),
    "diverging[learning_rate=3.0]": ("diverged", "", "completed", "failed"),
    "memory_error[size=2]": ("oom", "MemoryError", "failed", "failed"),
    "oversized[size=3000]": ("oom", "", "failed", "failed"),
}
COMMON = (
    "case.kind",
    "outcome",
    "exception",
    "disposition",
    "runs",
    "params",
    "memory_bytes",
    "memory_budget",
    "seconds",
    "backend",
    "device",
)


def test_every_outcome_with_its_disposition_and_its_paragraph(tmp_path):
    data = preflight_here(tmp_path, *[f"outcomes.py:{name}" for name in SPECS], hypermodel_memory_budget="100MiB")
    cases = by_name(data)
    assert len(cases) == 2 * len(SPECS)  # default + size=2 (or its equivalent) per hypermodel
    for name, (outcome, exception, disposition, test_outcome) in EXPECTED.items():
        case = cases[name]
        assert (case["outcome"], case["exception"], case["disposition"]) == (outcome, exception, disposition), name
        assert case["runs"] == 1, name
        assert case["test_outcome"] == test_outcome, name
    for name, case in cases.items():
        assert all(key in case for key in COMMON), name
        assert case["backend"] == os.environ.get("KERAS_BACKEND", "tensorflow")
        assert case["device"] == "cpu"
        if name.endswith("[defaults]") and not name.startswith(("negative_units", "oversized")):
            assert (case["outcome"], case["test_outcome"]) == ("ok", "passed"), name
    healthy = cases["healthy[size=2]"]
    assert healthy["values"] == {"size": 2} and healthy["case.kind"] == "choice"
    assert healthy["params"] == 4 * 2 + 2 + 2 + 1
    assert cases["oversized[size=3000]"]["predicted"] is True
    assert cases["oversized[size=3000]"]["memory_bytes"] > 100 * 2**20
    # Each failure is one readable paragraph: values, the exception's last line, KerasTuner's treatment, the fix.
    message = cases["negative_units[size=-1]"]["message"]
    assert message.startswith("size=-1 -> ValueError: ")
    assert "KerasTuner would mark this trial FAILED after one run" in message
    assert message.endswith("Likely fix: size can be -1: raise min_value.")
    assert not any("Traceback" in case.get("message", "") for case in cases.values())
