"""What a rehearsal of the search means (``rules.sequence``), on what a rehearsal reports (plain data, no Keras)."""

from __future__ import annotations

from pytest_hypermodel.rules import sequence

SPEC = "models.py:build_model"
FLOAT32 = [("dense/kernel", "float32", (6, 4)), ("dense/bias", "float32", (4,))]
FLOAT16 = [("dense/kernel", "float16", (6, 4)), ("dense/bias", "float16", (4,))]
STATE = {"keras.config.floatx()": "'float32'", "keras.config.dtype_policy()": "None"}
HALF = {**STATE, "keras.config.floatx()": "'float16'"}


def trial(label: str, variables=FLOAT32, state=STATE, status="COMPLETED", **more) -> dict:
    return {"label": label, "variables": variables, "state": state, "status": status, "weights": "w", **more}


def test_a_clean_rehearsal_has_no_finding():
    rehearsed = {"trials": [trial("defaults"), trial("units=8", params=49), trial("defaults")], "final_state": STATE}
    assert sequence.findings(SPEC, rehearsed, {"defaults": 33, "units=8": 49}) == []


def test_a_trial_that_changes_floatx_left_state_behind_and_the_defaults_differ_at_the_end():
    rehearsed = {
        "trials": [trial("defaults"), trial("precision=half", FLOAT16), trial("defaults", FLOAT16, HALF)],
        "final_state": HALF,
    }
    found = sequence.findings(SPEC, rehearsed, {"defaults": None, "precision=half": None}, ("models.py", 3))
    checks = {f.check: f for f in found}
    assert set(checks) == {"state_left_behind", "fails_in_sequence"}
    left = checks["state_left_behind"]
    assert left.case == "precision=half" and "floatx" in left.message and left.location == ("models.py", 3)
    assert "dense/kernel float32 (6, 4) -> float16 (6, 4)" in checks["fails_in_sequence"].message


def test_a_trial_that_failed_in_sequence_after_passing_alone():
    rehearsed = {
        "trials": [trial("defaults"), trial("units=8", status="FAILED", message="ValueError: boom"), trial("defaults")],
        "final_state": STATE,
    }
    (found,) = sequence.findings(SPEC, rehearsed, {"defaults": None, "units=8": None})
    assert found.check == "fails_in_sequence" and "ValueError: boom" in found.message and found.case == "units=8"
    assert "after the trial of the defaults" in found.message


def test_a_model_whose_size_differs_from_its_case_alone():
    rehearsed = {"trials": [trial("defaults"), trial("units=8", params=60), trial("defaults")], "final_state": STATE}
    (found,) = sequence.findings(SPEC, rehearsed, {"defaults": None, "units=8": 49})
    assert found.check == "fails_in_sequence" and "60 parameters" in found.message and "49 alone" in found.message


def test_shared_variables_are_one_finding_naming_the_trials_that_share():
    shared = [("shared/kernel", "defaults")]
    rehearsed = {
        "trials": [trial("defaults"), trial("units=8", shared=shared), trial("defaults", shared=shared)],
        "final_state": STATE,
    }
    found = [f for f in sequence.findings(SPEC, rehearsed, {}) if f.check == "shared_variables"]
    assert len(found) == 1 and "trial 2 (units=8), trial 3 (the defaults)" in found[0].message


def test_a_failure_after_the_search_names_the_call_and_why():
    rehearsed = {
        "trials": [trial("defaults"), trial("defaults")],
        "final_state": STATE,
        "after_search": [{"call": "get_best_models(1)", "exception": "ValueError", "message": "not built"}],
    }
    (found,) = sequence.findings(SPEC, rehearsed, {})
    assert found.check == "after_search" and "get_best_models(1) raised ValueError: not built" in found.message
    assert "loads its checkpoint" in found.fix


def test_a_search_that_stopped_is_fails_in_sequence():
    rehearsed = {"trials": [trial("defaults")], "stopped": "RuntimeError: too many failures", "final_state": STATE}
    (found,) = sequence.findings(SPEC, rehearsed, {"defaults": None})
    assert found.check == "fails_in_sequence" and "too many failures" in found.message


def test_the_trial_budget_is_two_a_hyperparameter_and_the_defaults_twice():
    assert sequence.trial_budget(3) == 8
