"""Keras's "Your input ran out of data" is ``warning_in_trial`` where the fit asked for steps_per_epoch; a fit given
none, on a dataset of unknown length (one from a generator function, a TFRecord file), meets it at each epoch's end
whatever the data, and is no finding. Plain records, no Keras."""

from __future__ import annotations

import json

from pytest_hypermodel.rules import record, trial_health

RAN_OUT = {"message": "Your input ran out of data; interrupting training.", "category": "UserWarning"}


def _entry(steps: bool | None) -> dict:
    fit = {"history": {"loss": [1.0]}, "monitors": []}
    if steps is not None:
        fit["steps"] = steps
    trial = {"fits": [fit], "objective": "loss", "direction": "min", "score": 1.0, "returned": "History"}
    return {
        record.CASE_ID: "defaults",
        record.CASE_SPEC: "m.py:build",
        record.TRIAL_WARNINGS: json.dumps([RAN_OUT]),
        record.TRIAL_LOGS: json.dumps(trial),
    }


def _checks(steps: bool | None) -> list[str]:
    return [f.check for f in trial_health.findings(record.records([_entry(steps)]))]


def test_ran_out_of_data_with_steps_asked_is_a_finding():
    assert _checks(True) == ["warning_in_trial"]


def test_ran_out_of_data_with_no_steps_asked_is_none():
    assert _checks(False) == []


def test_a_record_that_does_not_say_keeps_the_finding():
    assert _checks(None) == ["warning_in_trial"]
