"""The time per trial in a short line (the terminal's by default): the estimate, the default case's seconds, and
what a -v reader would want flagged (a slow case, a timeout); how it was computed stays in ``line``."""

from __future__ import annotations

from types import SimpleNamespace

from pytest_hypermodel.rules.record import records
from pytest_hypermodel.rules.timing import timing as per_trial

PRE = SimpleNamespace(target=SimpleNamespace(spec="m.py:build"))


def _entry(kind, case_id, seconds, outcome="ok", **more):
    return {
        "case.spec": "m.py:build",
        "case.kind": kind,
        "case.id": case_id,
        "seconds": seconds,
        "disposition": "completed",
        "outcome": outcome,
        **more,
    }


def test_the_short_line_says_the_estimate_and_the_default_case():
    timing = per_trial(PRE, records([_entry("default", "defaults", 0.5), _entry("extreme", "units=1", 1.0)]), None, 3)
    assert timing is not None
    assert timing.headline == "m.py:build: 10 trials as small as the cases: about 7.5 s (the default case: 0.5 s)"
    assert timing.line.startswith("m.py:build: the default case took 0.5 s; 10 trials as small as the cases (a build")
    assert timing.to_dict()["headline"] == timing.headline


def test_the_short_line_flags_a_slow_case_and_a_timeout_and_the_search_s_data():
    search = {"search_epochs": 20, "search_batches": 100, "steps": 6, "epochs": 3, "step_seconds": 0.01}
    entries = [
        _entry("default", "defaults", 0.5, **search),
        _entry("extreme", "units=2048", 20.0, **search),
        _entry("corner", "units=9", 60.0, outcome="timeout", **search),
    ]
    timing = per_trial(PRE, records(entries), 4, 3)
    assert timing is not None
    assert timing.headline.startswith("m.py:build: the search's 4 trials: about ")
    assert timing.headline.endswith(
        "(the default case: 0.5 s); the slowest case 120× that; 1 case ran past the time limit (KerasTuner waits)"
    ), timing.headline
    assert "(units=9: over 60 s, 120× the default or more, and KerasTuner waits)" in timing.line
