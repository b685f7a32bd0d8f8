"""The outcome classes by name, and the time per trial that the cases' seconds give."""

from __future__ import annotations

import pytest

from pytest_hypermodel.rules import outcomes


def test_outcome_names_are_complete():
    assert outcomes.ALL == (
        "ok",
        "failed_trial",
        "fatal",
        "error",
        "nan",
        "diverged",
        "oom",
        "timeout",
        "crash",
        "no_checkpoint",
        "memory_growth",
    )


def test_the_slowest_case_is_named_against_the_default_and_the_search_estimated_from_the_completed():
    """Seconds per trial: a case is named when it takes SLOW_RATIO times the default or more; the search's
    estimate is max_trials times the mean of the cases that completed (a timeout is no trial's time)."""
    from types import SimpleNamespace

    from pytest_hypermodel.rules.record import records
    from pytest_hypermodel.rules.timing import timing as per_trial

    pre = SimpleNamespace(target=SimpleNamespace(spec="m.py:build"))

    def entry(kind, case_id, seconds, disposition="completed", outcome="ok"):
        return {
            "case.spec": "m.py:build",
            "case.kind": kind,
            "case.id": case_id,
            "seconds": seconds,
            "disposition": disposition,
            "outcome": outcome,
        }

    entries = [
        entry("default", "defaults", 0.5),
        entry("extreme", "units=2048", 20.0),
        entry("extreme", "units=1", 1.5),
        entry("corner", "units=9", 60.0, outcome="timeout"),
    ]
    timing = per_trial(pre, records(entries), 10, 3)
    assert timing is not None
    assert timing.slowest_case == "units=9" and timing.slowest_ratio == 120
    assert timing.trial_seconds == pytest.approx(22.0 / 3, abs=1e-3)
    assert timing.search_seconds == pytest.approx(220 / 3, abs=1e-2)
    assert "the slowest, units=9, 120× that (60 s)" in timing.line and "about 73 s" in timing.line
    assert timing.to_dict()["timeouts"] == [{"case": "units=9", "seconds": 60.0, "trial_seconds": 60.0}]
    calm = per_trial(pre, records([*entries[:1], entry("extreme", "units=1", 1.0)]), None, 3)
    assert calm is not None and "slowest" not in calm.line and calm.trials == 10
    assert per_trial(pre, records(entries[1:]), 10, 3) is None  # no default yet: nothing to compare with
    # With the search's data: each completed case plus its missing batches and epochs at its own cost; the timeout
    # is named, with its share of the default.
    search = {"search_epochs": 20, "search_batches": 100, "steps": 6, "epochs": 3}
    scaled = per_trial(
        pre, records({**e, **search, "step_seconds": 0.01, "epoch_seconds": 0.2} for e in entries), 10, 3
    )
    more = (20 * 100 - 6) * 0.01 + (20 - 3) * 0.2
    assert scaled is not None
    assert scaled.trial_seconds == pytest.approx(22.0 / 3 + more, abs=1e-3)
    assert "10 trials of the search's 20 epochs of 100 batches (the default case's batch: 10.0 ms)" in scaled.line
    assert (
        "1 ran past the time limit (units=9: over 60 s, 120× the default or more, and KerasTuner waits)" in scaled.line
    )
    assert scaled.timeouts == [{"case": "units=9", "seconds": 60.0, "trial_seconds": pytest.approx(60 + more)}]
