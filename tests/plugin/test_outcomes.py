"""Every outcome class, produced by a real Keras model and read back from a real pytest run's JUnit report (under
xdist, as users run it; tests/engine/test_outcomes_engine.py checks the same cases in this process)."""

from __future__ import annotations

import os

import pytest
from conftest import run_here, run_preflight

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
# name of the case that triggers the outcome -> (outcome, exception, disposition, junit result)
EXPECTED = {
    "failed_trial[size=2]": ("failed_trial", "FailedTrialError", "failed", "skipped"),
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


def _args(extra=()):
    args = []
    for name in SPECS:
        args += ["--hypermodel", f"outcomes.py:{name}"]
    return [*args, "--hypermodel-memory-budget", "100MiB", *extra]


def test_every_outcome_in_junit(hypermodel_dir):
    result, cases = run_preflight(hypermodel_dir, *_args(["-n", "2"]))
    assert result.ret == 1
    assert len(cases) == 2 * len(SPECS)  # default + size=2 (or its equivalent) per hypermodel
    for name, (outcome, exception, disposition, junit) in EXPECTED.items():
        case = cases[name]
        assert case.properties["outcome"] == outcome, name
        assert case.properties["exception"] == exception, name
        assert case.properties["disposition"] == disposition, name
        assert case.properties["runs"] == "1", name
        assert case.result == junit, name
    for name, case in cases.items():
        assert all(key in case.properties for key in COMMON), name
        assert case.properties["backend"] == os.environ.get("KERAS_BACKEND", "tensorflow")
        assert case.properties["device"] == "cpu"
        if name.endswith("[defaults]") and not name.startswith(("negative_units", "oversized")):
            assert case.properties["outcome"] == "ok", name
            assert case.result == "passed", name
    healthy = cases["healthy[size=2]"]
    assert healthy.properties["hp.size"] == "2"
    assert healthy.properties["case.kind"] == "choice"
    assert int(healthy.properties["params"]) == 4 * 2 + 2 + 2 + 1
    assert cases["oversized[size=3000]"].properties["predicted"] == "True"
    assert int(cases["oversized[size=3000]"].properties["memory_bytes"]) > 100 * 2**20
    # Each failure is one readable paragraph: values, the exception's last line, KerasTuner's treatment, the fix.
    out = result.stdout.str()
    assert "size=-1 -> ValueError: " in out
    assert "KerasTuner would mark this trial FAILED after one run" in out
    assert "Likely fix: size can be -1: raise min_value." in out
    assert "Traceback" not in out


def test_long_traceback_on_request(hypermodel_dir):
    result = run_here(hypermodel_dir, "--hypermodel", "outcomes.py:negative_units", "--tb=long")
    assert "Traceback (most recent call last)" in result.stdout.str()


# JAX in the default suite, PyTorch (another backend import, about 12 s) with the proofs
@pytest.mark.parametrize("backend", ["jax", pytest.param("torch", marks=pytest.mark.proof)])
def test_other_backends(hypermodel_dir, monkeypatch, backend):
    monkeypatch.setenv("KERAS_BACKEND", backend)
    result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "outcomes.py:negative_units",
        "--hypermodel",
        "outcomes.py:nan_loss",
        "--hypermodel",
        "outcomes.py:failed_trial",
    )
    assert {name: c.properties["outcome"] for name, c in cases.items()} == {
        "negative_units[defaults]": "ok",
        "negative_units[size=-1]": "error",
        "nan_loss[defaults]": "ok",
        "nan_loss[size=2]": "nan",
        "failed_trial[defaults]": "ok",
        "failed_trial[size=2]": "failed_trial",
    }
    assert {c.properties["backend"] for c in cases.values()} == {backend}
    assert result.ret == 1
