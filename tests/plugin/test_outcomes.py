"""Every outcome class, produced by a real Keras model and read back from a real pytest run's JUnit report."""

from __future__ import annotations

import os

import pytest

from conftest import run_preflight
from pytest_hypermodel.rules import outcomes

SPECS = [
    "healthy", "failed_trial", "fatal", "returns_none", "negative_units",
    "nan_loss", "diverging", "memory_error", "oversized",
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
COMMON = ("case.kind", "outcome", "exception", "disposition", "runs", "params", "memory_bytes", "memory_budget",
          "seconds", "backend", "device")




def _args(extra=()):
    args = []
    for name in SPECS:
        args += ["--hypermodel", f"outcomes.py:{name}"]
    return [*args, "--hypermodel-memory-budget", "100MiB", *extra]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_every_outcome_in_junit(hypermodel_dir, workers):
    result, cases = run_preflight(hypermodel_dir, *_args(workers))
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
    result = hypermodel_dir.runpytest_subprocess("--hypermodel", "outcomes.py:negative_units", "--tb=long")
    assert "Traceback (most recent call last)" in result.stdout.str()


def test_outcome_names_are_complete():
    assert outcomes.ALL == ("ok", "failed_trial", "fatal", "error", "nan", "diverged", "oom", "timeout", "crash",
                            "no_checkpoint", "memory_growth")


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends(hypermodel_dir, monkeypatch, backend):
    monkeypatch.setenv("KERAS_BACKEND", backend)
    result, cases = run_preflight(
        hypermodel_dir, "--hypermodel", "outcomes.py:negative_units", "--hypermodel", "outcomes.py:nan_loss",
        "--hypermodel", "outcomes.py:failed_trial",
    )
    assert {name: c.properties["outcome"] for name, c in cases.items()} == {
        "negative_units[defaults]": "ok", "negative_units[size=-1]": "error",
        "nan_loss[defaults]": "ok", "nan_loss[size=2]": "nan",
        "failed_trial[defaults]": "ok", "failed_trial[size=2]": "failed_trial",
    }
    assert {c.properties["backend"] for c in cases.values()} == {backend}
    assert result.ret == 1


def test_the_slowest_case_is_named_against_the_default_and_the_search_estimated_from_the_completed():
    """Issue 22: seconds per trial. A case is named when it takes SLOW_RATIO times the default or more; the search's
    estimate is max_trials times the mean of the cases that completed (a timeout is no trial's time)."""
    from types import SimpleNamespace

    from pytest_hypermodel.rules import verdict as report

    pre = SimpleNamespace(target=SimpleNamespace(spec="m.py:build"))

    def entry(kind, case_id, seconds, disposition="completed", outcome="ok"):
        return {"case.spec": "m.py:build", "case.kind": kind, "case.id": case_id, "seconds": seconds,
                "disposition": disposition, "outcome": outcome}

    entries = [entry("default", "defaults", 0.5), entry("extreme", "units=2048", 20.0),
               entry("extreme", "units=1", 1.5), entry("corner", "units=9", 60.0, outcome="timeout")]
    timing = report.timing(pre, entries, 10, 3)
    assert timing["slowest_case"] == "units=9" and timing["slowest_ratio"] == 120
    assert timing["trial_seconds"] == pytest.approx(22.0 / 3, abs=1e-3)
    assert timing["search_seconds"] == pytest.approx(220 / 3, abs=1e-2)
    assert "the slowest, units=9, 120× that (60 s)" in timing["line"] and "about 73 s" in timing["line"]
    calm = report.timing(pre, entries[:1] + [entry("extreme", "units=1", 1.0)], None, 3)
    assert "slowest" not in calm["line"] and calm["trials"] == 10
    assert report.timing(pre, entries[1:], 10, 3) is None  # no default yet: nothing to compare with
    # With the search's data: each completed case plus its missing batches and epochs at its own cost; the timeout
    # is named, with its share of the default.
    search = {"search_epochs": 20, "search_batches": 100, "steps": 6, "epochs": 3}
    scaled = report.timing(pre, [{**e, **search, "step_seconds": 0.01, "epoch_seconds": 0.2} for e in entries], 10, 3)
    more = (20 * 100 - 6) * 0.01 + (20 - 3) * 0.2
    assert scaled["trial_seconds"] == pytest.approx(22.0 / 3 + more, abs=1e-3)
    assert "10 trials of the search's 20 epochs of 100 batches (the default case's batch: 10.0 ms)" in scaled["line"]
    assert "1 ran past the time limit (units=9: over 60 s, 120× the default or more, and KerasTuner waits)" in \
        scaled["line"]
    assert scaled["timeouts"] == [{"case": "units=9", "seconds": 60.0, "trial_seconds": pytest.approx(60 + more)}]
