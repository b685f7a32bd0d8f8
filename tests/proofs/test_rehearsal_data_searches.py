"""Real KerasTuner searches on search data whose use changes it, which the static data checks pass
(``tests/hypermodels/consumed_data.py``): a PyDataset that reads on from where its last read stopped, and a
tf.data.Dataset made from one generator object. Each trial alone completes; in one search, the first trial uses the
data up and the next fails. The preflight with the rehearsal on says so (``data_used_up``, the data blamed), with
it off it does not; the same search on data each fit iterates afresh completes, and its preflight is green."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras_tuner as kt
import pytest

from pytest_hypermodel import preflight
from tests.hypermodels import consumed_data

ROOT = Path(__file__).parents[2]
SPEC = "tests/hypermodels/consumed_data.py:build"
EPOCHS = 3  # the search's and the cases' (the preflight's default)


def _search(folder: Path, name: str, x: Any, trials: int) -> list[tuple[str, str]]:
    """``(status, message)`` of each trial of a RandomSearch over ``x``, in order (a message ends with the error, or
    with the TensorFlow node that quotes it)."""
    tuner = kt.RandomSearch(
        consumed_data.build, objective="loss", max_trials=trials, directory=folder, project_name=name, seed=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tuner.search(x, epochs=EPOCHS, verbose=0)
        except RuntimeError:  # "Number of consecutive failures exceeded the limit"
            pass
    trials_run = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
    return [(str(t.status), str(t.message or "")) for t in trials_run]


def _preflight(make: Callable[[], Any], rehearsal: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tf.data.Dataset cannot be sent to the probe process: it runs here
        return preflight(
            SPEC, data={"x": make(), "epochs": EPOCHS}, rehearsal=rehearsal, boundaries="off", rootpath=str(ROOT)
        )


def test_a_stream_pydataset_completes_each_trial_alone_and_fails_the_second_trial_of_a_search(tmp_path):
    """A PyDataset whose position moves on with each read (in the probe process: each case and the rehearsal get it
    as the user gave it)."""
    alone = [_search(tmp_path, f"alone_{i}", consumed_data.Stream(), 1) for i in range(2)]
    assert all(statuses == [("COMPLETED", "")] for statuses in alone), alone
    searched = _search(tmp_path, "stream", consumed_data.Stream(), 2)
    assert [s for s, _ in searched] == ["COMPLETED", "FAILED"], searched
    assert "IndexError: the stream is used up" in searched[1][1]

    assert _preflight(consumed_data.Stream, rehearsal="off").green  # the static checks pass it
    report = _preflight(consumed_data.Stream, rehearsal="on")
    used_up = [f for f in report.findings if f.check == "data_used_up"]
    assert len(used_up) == 1 and not report.green, report.findings
    assert "x (a keras.utils.PyDataset, Stream)" in used_up[0].message
    assert "failed reading it (IndexError: the stream is used up" in used_up[0].message
    assert not [f for f in report.findings if f.check == "fails_in_sequence"]  # the data, not the build


def test_a_dataset_from_one_generator_gives_the_second_trial_of_a_search_no_batch(tmp_path):
    """``tf.data.Dataset.from_generator(lambda: made)``: the dataset's length is unknown, so the static checks
    cannot count it, and each iteration goes on with the same generator (in this process: it cannot be pickled)."""
    searched = _search(tmp_path, "one_generator", consumed_data.one_generator(), 2)
    assert [s for s, _ in searched] == ["COMPLETED", "FAILED"], searched
    assert "Objective value missing" in searched[1][1] and "dict_keys([])" in searched[1][1]  # no batch, no logs

    off = _preflight(consumed_data.one_generator, rehearsal="off")
    assert not [f for f in off.findings if f.check == "data_used_up"], off.findings
    report = _preflight(consumed_data.one_generator, rehearsal="on")
    used_up = [f for f in report.findings if f.check == "data_used_up"]
    assert len(used_up) == 1, report.findings
    assert "a tf.data.Dataset" in used_up[0].message and "got no batch from it" in used_up[0].message


@pytest.mark.parametrize("make", list(consumed_data.WELL_BEHAVED.values()), ids=list(consumed_data.WELL_BEHAVED))
def test_data_each_fit_iterates_afresh_completes_every_trial_and_stays_green(tmp_path, make):
    searched = _search(tmp_path, "afresh", make(), 2)
    assert [s for s, _ in searched] == ["COMPLETED", "COMPLETED"], searched
    report = _preflight(make, rehearsal="on")
    assert report.green, report.reasons
