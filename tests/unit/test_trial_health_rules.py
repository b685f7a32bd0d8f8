"""The trial's health checks as rules over the cases' records (no Keras): what counts, what does not, once each."""

from __future__ import annotations

import json

from pytest_hypermodel.rules import record, trial_health
from pytest_hypermodel.views import html, outputs

HISTORY = {"loss": [2.0, 1.5], "mae": [1.2, 1.1], "val_loss": [1.9, 1.4], "val_mae": [1.0, 0.9]}


def _entry(case: str, warnings=(), spec: str = "m.py:build", **logs) -> dict:
    trial = {
        "fits": [{"history": HISTORY, "monitors": []}],
        "objective": "val_mae",
        "direction": "min",
        "score": 0.9,
        "returned": "History",
        "returned_by": "",
        "returned_at": "",
        "synthesized": False,
        **logs,
    }
    return {
        record.CASE_ID: case,
        record.CASE_SPEC: spec,
        record.TRIAL_WARNINGS: json.dumps(list(warnings)),
        record.TRIAL_LOGS: json.dumps(trial),
    }


def _findings(*entries: dict):
    return trial_health.findings(record.records(entries))


def test_a_warning_is_reported_once_per_hypermodel_with_its_first_case():
    ran_out = {"message": "Your input ran out of data; interrupting training.", "category": "UserWarning"}
    grads = {"message": "Gradients do not exist for variables ['dense_3/kernel']", "category": "UserWarning"}
    entries = [
        _entry("defaults", [ran_out, grads]),
        _entry("units=2", [ran_out, {**grads, "message": "Gradients do not exist for variables ['dense/kernel']"}]),
        _entry("defaults", [ran_out], spec="other.py:build"),
    ]
    collected = trial_health.collected_warnings(record.records(entries))
    assert [(w["spec"], w["case"], w["cases"]) for w in collected] == [
        ("m.py:build", "defaults", 2),
        ("m.py:build", "defaults", 2),  # a layer's counter in its name does not make another warning
        ("other.py:build", "defaults", 1),
    ]
    found = _findings(*entries)
    assert [(f.check, f.spec, f.case) for f in found] == [
        ("warning_in_trial", "m.py:build", "defaults"),
        ("warning_in_trial", "m.py:build", "defaults"),
        ("warning_in_trial", "other.py:build", "defaults"),
    ]
    assert found[0].message.startswith("the fit ran fewer steps than asked")
    assert found[0].fix.startswith("repeat the dataset")
    lines = outputs.warning_lines(entries)
    assert lines[0] == (
        "m.py:build: UserWarning: Your input ran out of data; interrupting training. (first in case defaults, 2 cases)"
    )


def test_a_warning_that_says_nothing_of_the_trial_is_collected_not_found():
    retrace = {"message": "5 out of the last 5 calls to <function> triggered tf.function retracing", "category": "x"}
    assert _findings(_entry("defaults", [retrace])) == []


def test_a_monitor_the_logs_lack_is_found_once_with_the_logged_key_it_meant():
    monitors = [["EarlyStopping", "val_acc"], ["ReduceLROnPlateau", "val_mae"]]
    fits = [{"history": {**HISTORY, "val_accuracy": [0.5, 0.6]}, "monitors": monitors}]
    [finding] = _findings(_entry("defaults", fits=fits), _entry("units=2", fits=fits))
    assert (finding.check, finding.case) == ("log_key_missing", "defaults")
    assert finding.fix == "monitor='val_accuracy' (the logged key closest to 'val_acc')"


def test_a_val_monitor_on_the_probe_s_own_data_is_not_judged():
    fits = [{"history": {"loss": [1.0]}, "monitors": [["EarlyStopping", "val_loss"]]}]
    assert _findings(_entry("defaults", fits=fits, synthesized=True)) == []
    [finding] = _findings(_entry("defaults", fits=fits))
    assert finding.fix == "pass validation data to the search (validation_data=, validation_split=), or monitor 'loss'"


def test_a_fit_that_raised_has_no_logs_to_judge():
    assert _findings(_entry("defaults", fits=[{"history": {}, "monitors": [["EarlyStopping", "nope"]]}])) == []


def test_the_score_is_judged_only_where_kerastuner_did_not_read_it_from_the_logs():
    assert _findings(_entry("defaults", score=1.5)) == []  # a History: KerasTuner reads the objective itself
    assert _findings(_entry("defaults", score=1.0, returned="float")) == []  # a logged value (an epoch's)
    assert _findings(_entry("defaults", score=1.5, returned="list")) == []  # several executions: an average
    two = [{"history": HISTORY, "monitors": []}] * 2
    assert _findings(_entry("defaults", score=1.5, returned="float", fits=two)) == []  # several fits
    [finding] = _findings(
        _entry("defaults", score=1.5, returned="float", returned_by="H.fit", returned_at="/m.py:12"),
        _entry("units=2", score=1.5, returned="float", returned_by="H.fit", returned_at="/m.py:12"),
    )
    assert (finding.check, finding.case, finding.location) == ("score_not_objective", "defaults", ("/m.py", 12))
    assert "(H.fit returned a float, the logs' loss)" in finding.message


def test_the_html_report_lists_the_warnings_under_their_hypermodel():
    from tests.report_payloads import many_culprits

    payload = many_culprits(3)
    spec = payload["hypermodels"][0]["spec"]
    payload["warnings"] = [
        {"spec": spec, "message": "Your input ran out of data", "category": "UserWarning", "location": "",
         "case": "defaults", "cases": 3}
    ]  # fmt: skip
    page = html.render(payload)
    assert "1 warning raised during the cases" in page and "Your input ran out of data" in page
    assert "first in case defaults, 3 cases" in page
