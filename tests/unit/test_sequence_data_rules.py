"""The rehearsal's trials on search data passed as it is (``rules.sequence``): a trial that passed alone and, in
sequence, fails reading the data, gets no batch from it, or trains on fewer batches than the first trial of the same
values, is the data's fault (``data_used_up``), not the build's. Plain data, no Keras."""

from __future__ import annotations

from pytest_hypermodel.rules import sequence

SPEC = "models.py:build_model"
STATE = {"keras.config.floatx()": "'float32'"}
VARIABLES = [("dense/kernel", "float32", (6, 4))]
STREAM = "x (a keras.utils.PyDataset, Stream)"
ALONE = {"defaults": None, "units=8": None}


def trial(label: str, status: str = "COMPLETED", **more) -> dict:
    return {"label": label, "variables": VARIABLES, "state": STATE, "status": status, "weights": "w", **more}


def rehearsed(*trials: dict, data: str = STREAM, stopped: str = "") -> dict:
    return {"trials": list(trials), "final_state": STATE, "data": data, "stopped": stopped}


def test_a_trial_that_fails_reading_the_data_after_the_first_is_the_datas_fault():
    failed = {"message": "IndexError: the stream is used up at example 128", "reading_data": True, "batches": 3}
    found = sequence.findings(
        SPEC,
        rehearsed(
            trial("defaults", batches=13), trial("units=8", "FAILED", **failed), trial("defaults", "FAILED", **failed)
        ),
        ALONE,
    )
    assert [f.check for f in found] == ["data_used_up"], found
    (finding,) = found
    assert finding.case == "units=8" and STREAM in finding.message
    assert "failed reading it (IndexError: the stream is used up at example 128)" in finding.message
    assert "after the trial of the defaults" in finding.message and "1 later trial met it so" in finding.message
    assert "from_generator(make_batches)" in finding.fix and "depends on the index alone" in finding.fix


def test_a_trial_with_no_batch_from_the_data_and_a_search_that_stopped_on_it_are_one_finding():
    empty = {"message": "ValueError: Objective value missing in metrics", "batches": 0}
    found = sequence.findings(
        SPEC,
        rehearsed(
            trial("defaults", batches=40),
            trial("units=8", "FAILED", **empty),
            trial("units=4", "FAILED", **empty),
            trial("defaults", "FAILED", **empty),
            stopped="RuntimeError: Number of consecutive failures exceeded the limit of 3.",
        ),
        {**ALONE, "units=4": None},
    )
    assert [f.check for f in found] == ["data_used_up"], found
    assert "got no batch from it and failed" in found[0].message and "the search stopped" in found[0].message


def test_the_last_defaults_trial_on_fewer_batches_than_the_first():
    found = sequence.findings(
        SPEC, rehearsed(trial("defaults", batches=12), trial("units=8", batches=8), trial("defaults", batches=4)), ALONE
    )
    assert [f.check for f in found] == ["data_used_up"], found
    assert found[0].case == "defaults" and "trained on 4 of the 12 batches" in found[0].message


def test_a_failure_that_is_not_the_datas_stays_fails_in_sequence():
    found = sequence.findings(
        SPEC,
        rehearsed(
            trial("defaults", batches=4),
            trial("units=8", "FAILED", message="ValueError: boom", batches=0, reading_data=False),
            trial("defaults", batches=4),
            data="",  # arrays: cut, the same for every trial
        ),
        ALONE,
    )
    assert [f.check for f in found] == ["fails_in_sequence"], found


def test_the_same_batches_each_trial_on_data_passed_as_it_is_is_no_finding():
    found = sequence.findings(
        SPEC, rehearsed(trial("defaults", batches=4), trial("units=8", batches=4), trial("defaults", batches=4)), ALONE
    )
    assert found == []
