"""The rehearsal of the search passes the search's data to its trials as the search does: an object whose use
changes it (a PyDataset that reads on from where it stopped) reaches every trial as the user gave it, and a trial
that passed alone and fails reading it in sequence is ``data_used_up``; data each fit iterates afresh stays green.
Each case gets the data as the user gave it too. In this process (``isolation="off"``); the real KerasTuner searches
and the probe process are ``tests/proofs/test_rehearsal_data_searches.py``."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from pytest_hypermodel import preflight
from pytest_hypermodel.probe import data as data_mod
from pytest_hypermodel.probe import search_data
from tests.hypermodels import consumed_data

pytestmark = [pytest.mark.rehearsal, pytest.mark.usefixtures("no_memory_growth")]

ROOT = Path(__file__).parents[2]
SPEC = "tests/hypermodels/consumed_data.py:build"


def _preflight(data: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return preflight(
            SPEC, data=data, rehearsal="on", boundaries="off", epochs=1, isolation="off", rootpath=str(ROOT)
        )


def test_a_stream_that_the_first_trial_moves_on_fails_the_next_trial_and_the_data_is_blamed():
    stream = consumed_data.Stream(batches=8)  # one fit of 4 batches reads 5 (Keras peeks at the first): two do not fit
    report = _preflight({"x": stream, "epochs": 1})
    assert [c["outcome"] for c in report.cases] == ["ok"] * len(report.cases)  # each case alone, on a fresh copy
    assert [f.check for f in report.findings] == ["data_used_up"], report.findings
    (finding,) = report.findings
    assert "x (a keras.utils.PyDataset, Stream)" in finding.message and "which passed alone" in finding.message
    assert "failed reading it (IndexError: the stream is used up at example" in finding.message
    assert "depends on the index alone" in finding.fix
    assert stream.position == 0  # the user's object: each case and the rehearsal had a copy


@pytest.mark.parametrize("make", list(consumed_data.WELL_BEHAVED.values()), ids=list(consumed_data.WELL_BEHAVED))
def test_data_each_fit_iterates_afresh_stays_green(make):
    report = _preflight({"x": make(), "epochs": 1})
    assert report.green, report.reasons


def test_what_the_rehearsal_passes_as_it_is():
    x, y = consumed_data.arrays()
    unknown, known = consumed_data.one_generator(), tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    assert data_mod.cut(unknown, 16, as_given=True) is unknown  # from a generator: maybe iterable once
    assert data_mod.cut(unknown, 16) is not unknown  # the cases cut it
    assert int(data_mod.cut(known, 16, as_given=True).cardinality()) == data_mod.BATCHES  # re-iterable: cut
    assert np.array_equal(data_mod.cut(x, 16, as_given=True), x[:16])
    assert search_data.consumable({"x": unknown}) and not search_data.consumable((x, y))


def test_each_use_gets_a_copy_of_a_pydataset_and_the_same_object_where_it_cannot_be_copied():
    stream = consumed_data.Stream()
    stream.position = 24
    given = {"x": stream, "epochs": 2}
    copied = search_data.afresh(given)
    assert copied["x"] is not stream and copied["x"].position == 24 and copied["epochs"] == 2
    generator = (i for i in range(3))
    assert search_data.afresh({"x": generator})["x"] is generator
    arrays = consumed_data.arrays()
    assert search_data.afresh(arrays) is arrays
