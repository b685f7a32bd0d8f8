"""The search data's checks on plain objects (arrays, generators, iterators) and the rule that blames no value for a
failure whatever the values: plain logic, no Keras (tests/engine/test_search_data.py runs them on real fits)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pytest_hypermodel.probe import search_data
from pytest_hypermodel.probe.search_data import Output
from pytest_hypermodel.rules import evidence, record


def _batches():
    yield np.zeros((4, 2)), np.zeros(4)


@pytest.mark.parametrize(
    ("provided", "said"),
    [
        ({"x": _batches()}, "x is a generator, which can be iterated once"),
        ((iter([np.zeros((4, 2))]), None), "x is an iterator (list_iterator)"),
        ({"x": itertools.cycle([np.zeros((4, 2))])}, "Unrecognized data type"),
        ({"x": np.zeros((4, 2)), "y": np.zeros(4), "validation_data": _batches()}, "validation_data is a generator"),
    ],
)
def test_what_can_be_iterated_once_is_used_up(provided, said):
    [issue] = search_data.examine(provided)
    assert issue.check == "data_used_up" and said in issue.message
    assert issue.fix == evidence.USED_UP_FIX


def test_what_iterates_afresh_is_not_used_up():
    x, y = np.zeros((64, 2)), np.zeros(64)
    assert search_data.examine((x, y)) == []
    assert search_data.examine({"x": [x, x], "y": {"out": y}, "epochs": 3}) == []
    assert search_data.examine(lambda model, values: (x, y)) == []  # made per trial
    assert search_data.examine(None) == []  # synthesized


def test_a_generator_is_never_iterated_to_check_it():
    consumed = []

    def batches():
        consumed.append(True)
        yield np.zeros((4, 2)), np.zeros(4)

    given = batches()
    search_data.examine({"x": given, "y": np.zeros(4), "validation_split": 0.5, "steps_per_epoch": 9})
    assert consumed == []


def test_arguments_keras_rejects_for_a_generator():
    issues = search_data.examine(
        {
            "x": _batches(),
            "y": np.zeros(4),
            "sample_weight": np.ones(4),
            "class_weight": {0: 1.0},
            "validation_split": 0.2,
        }
    )
    checks = [(i.check, i.message.split(":")[0]) for i in issues]
    assert checks[0][0] == "data_used_up"
    rejected = [m for c, m in checks if c == "data_arguments"]
    assert rejected == [
        "x is a generator and y= is given too",
        "x is a generator and sample_weight= is given too",
        "x is a generator and class_weight= is given",
        "validation_split=0.2 with x as a generator",
    ]


def test_validation_split_beside_validation_data_is_ignored_as_keras_ignores_it():
    x, y = np.zeros((8, 2)), np.zeros(8)
    assert search_data.examine({"x": x, "y": y, "validation_split": 0.2}) == []  # arrays: Keras splits them


@pytest.mark.parametrize(
    ("batches", "steps", "epochs", "ran"),
    [(4, 3, 3, 7), (4, 2, 3, 6), (4, 5, 1, 4), (4, 4, 3, 12), (3, 2, 2, 3), (10, 3, 2, 6)],
)
def test_the_steps_keras_runs_over_a_finite_dataset(batches, steps, epochs, ran):
    """As ``keras/src/trainers/epoch_iterator.py`` runs them: the iterator goes on across epochs with
    steps_per_epoch, an epoch that meets the end stops there, and the next starts the data again."""
    assert search_data.steps_run(batches, steps, epochs) == ran


def test_arrays_with_a_batch_size_and_too_many_steps_are_too_short():
    x, y = np.zeros((64, 2)), np.zeros(64)
    [issue] = search_data.examine({"x": x, "y": y, "batch_size": 32, "steps_per_epoch": 3, "epochs": 2})
    assert issue.check == "data_too_short" and "holds 2 batches" in issue.message and "runs 4 of the 6" in issue.message
    # Without a batch_size, Keras sizes the batch to the steps: never short.
    assert search_data.examine({"x": x, "y": y, "steps_per_epoch": 3, "epochs": 2}) == []


SPARSE = [Output("", (3,), "sparse")]


@pytest.mark.parametrize(
    ("labels", "said"),
    [
        (np.array([0, 1, 3]), "class ids from 0 to 3"),
        (np.array([-1, 0, 2]), "class ids from -1 to 2"),
        (np.eye(3)[[0, 1, 2]], "one-hot for the output's 3 units"),
    ],
)
def test_sparse_labels_outside_the_outputs(labels, said):
    [issue] = search_data.examine((np.zeros((3, 2)), labels), SPARSE)
    assert issue.check == "labels_outside_outputs" and said in issue.message


def test_labels_the_outputs_take():
    x = np.zeros((3, 2))
    assert search_data.examine((x, np.array([0, 1, 2])), SPARSE) == []
    assert search_data.examine((x, np.array([[0], [1], [2]])), SPARSE) == []
    assert search_data.examine((x, np.eye(3)[[0, 1, 2]]), [Output("", (3,), "onehot")]) == []
    assert search_data.examine((x, np.array([0.0, 0.5, 1.0])), [Output("", (1,), "binary")]) == []
    assert search_data.examine((x, np.array([7.0, -3.0, 1e6])), [Output("", (1,), "regression")]) == []


def _entry(kind: str, exception: str = "", message: str = "", values: int = 0) -> dict:
    failing = bool(exception)
    return {
        "case.kind": kind,
        "case.spec": "m.py:build",
        "values": {"units": values},
        "outcome": "error" if failing else "ok",
        "exception": exception,
        "disposition": "failed" if failing else "completed",
        "message": f"units={values} -> {exception}: {message}. KerasTuner would mark this trial FAILED after one "
        "run. Likely fix: units can be 16: lower max_value."
        if failing
        else "",
    }


def test_every_case_failing_alike_is_value_free():
    entries = [
        _entry("default", "ValueError", f"Received a label value of {v} outside [0, {v})", v) for v in (4, 8, 16)
    ]
    found = evidence.value_free(record.records(entries))
    assert found is not None and found.pattern == evidence.EVERY_CASE
    assert "all 3 cases fail alike, the defaults among them" in found.text()
    evidence.restate(entries)
    assert all(
        "lower max_value" not in e["message"] and "no hyperparameter is to blame" in e["message"] for e in entries
    )


def test_only_the_cases_after_the_first_failing_alike_is_value_free():
    entries = [_entry("default", values=4)] + [
        _entry("extreme", "ValueError", "Received an empty generator.", v) for v in (8, 12, 16)
    ]
    found = evidence.value_free(record.records(entries))
    assert found is not None and found.pattern == evidence.AFTER_THE_FIRST
    assert "used up by the first trial" in found.text()


@pytest.mark.parametrize(
    "entries",
    [
        # a value's failure: the defaults pass, one case fails
        [_entry("default", values=4), _entry("extreme", "ValueError", "too large", 16), _entry("extreme", values=8)],
        # failures of different kinds
        [_entry("default", "ValueError", "a", 4), _entry("extreme", "TypeError", "b", 16)],
        # only one case after the first
        [_entry("default", values=4), _entry("extreme", "ValueError", "Received an empty generator.", 16)],
        # FailedTrialError is raised on purpose for a value
        [_entry("default", "FailedTrialError", "too large", v) for v in (4, 8)],
        [],
    ],
)
def test_failures_a_value_explains_are_not_value_free(entries):
    assert evidence.value_free(record.records(entries)) is None


def test_one_failing_case_is_no_evidence_of_whatever_the_values():
    assert evidence.value_free(record.records([_entry("default", "ValueError", "a", 4)])) is None


def test_validation_data_starts_again_each_epoch():
    """Keras's evaluate resets its iterator: validation_steps past the data's batches is short in every epoch."""
    x, y = np.zeros((64, 2)), np.zeros(64)
    given = {"x": x, "y": y, "validation_data": (x, y), "batch_size": 32, "validation_steps": 3, "epochs": 2}
    [issue] = search_data.examine(given)
    assert issue.check == "data_too_short" and "runs 4 of the 6 validation steps" in issue.message


def _hint(case_values: dict, message: str, data: str = "x (64, 8), y (64,)", findings=()) -> str:
    from pytest_hypermodel.probe import fit
    from pytest_hypermodel.rules import hints
    from pytest_hypermodel.rules.policy import Policy
    from pytest_hypermodel.space.hyperparameters import Param, SearchSpace
    from pytest_hypermodel.space.plan import Case

    space = SearchSpace((Param("units", "int", 4, (4, 16), 4, 16, 4, "linear"),), {"space": []})
    varied = tuple(name for name, value in case_values.items() if value != 4)
    case = Case("defaults" if not varied else "units=16", "extreme" if varied else "default", case_values, varied)
    result = fit.Result(case.id, case.kind, case_values, outcome="error", exception="ValueError", message=message)
    result.built, result.data = True, data
    policy = Policy()
    return hints.failure_message(case, result, policy.disposition(result), policy, space, None, findings)


def test_a_case_that_raises_while_a_data_finding_stands_is_blamed_on_the_data():
    from pytest_hypermodel.rules.health import Finding

    found = Finding("labels_outside_outputs", "m.py:build", "y holds class ids from 3 to 5", "map the labels")
    text = _hint({"units": 16}, "Received a label value of 5", findings=[found])
    assert text.endswith(
        "Likely fix: the search's data, not a hyperparameter: map the labels ([labels_outside_outputs], "
        "found before the cases)."
    )
    assert "lower max_value" not in text


def test_data_an_earlier_fit_used_up_is_blamed_on_the_data():
    text = _hint({"units": 16}, "the generator must yield at least one batch. Received an empty generator.")
    assert "the search's data ran out: an earlier fit used it up" in text and "lower max_value" not in text


def test_defaults_that_fail_in_fit_on_the_user_s_data_do_not_blame_the_build_alone():
    text = _hint({"units": 4}, "could not convert string to float: 'cat'")
    assert "the defaults fail in fit on the search's data (x (64, 8), y (64,))" in text
    assert "fix the build function or the defaults" not in text


def test_labels_as_a_plain_list_or_in_a_list_of_one():
    x = np.zeros((3, 2))
    assert [i.check for i in search_data.examine((x, [0, 1, 5]), SPARSE)] == ["labels_outside_outputs"]
    assert [i.check for i in search_data.examine((x, [np.array([0, 1, 5])]), SPARSE)] == ["labels_outside_outputs"]
