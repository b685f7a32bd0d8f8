"""A tuner given hyperparameters of its own: the preflight plans the space its real search searches.

The keras-io guide "Tailor the search space": ``hp.Fixed`` in the tuner's ``hyperparameters``, only the given
names tuned (``tune_new_entries=False``), a name given another range. Each test runs the tuner's real KerasTuner
search and the preflight of the same tuner on the same data. A plan over the build's declarations alone failed the
first two (a fourth conv block, which the search never builds) and missed the third's failing values.
"""

from __future__ import annotations

import numpy as np
import pytest

from pytest_hypermodel import preflight
from tests.hypermodels.tailored import MAX_BLOCKS, blocks_fixed, blocks_widened, filters_only


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 16)


def _search(make, tmp_path) -> list[tuple[dict, str]]:
    """Each trial's values and status in the tuner's real search."""
    x, y = _data()
    tuner = make(str(tmp_path / "search"))
    tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
    return [(dict(t.hyperparameters.values), t.status) for t in tuner.oracle.trials.values()]


def _preflight(make, tmp_path):
    x, y = _data()
    return preflight(
        make(str(tmp_path / "preflight")),
        x,
        y,
        validation_data=(x, y),
        epochs=1,
        strategy="extremes",
        boundaries=False,
        rehearsal=False,
    )


@pytest.mark.parametrize("make", [blocks_fixed, filters_only], ids=["fixed", "tune_new_entries_off"])
def test_a_value_the_tuner_never_varies_is_never_varied_and_both_are_green(tmp_path, make):
    trials = _search(make, tmp_path)
    assert {status for _, status in trials} == {"COMPLETED"}
    held = {"conv_blocks"} if make is blocks_fixed else {"conv_blocks", "learning_rate"}
    report = _preflight(make, tmp_path)
    for name in held:  # one value in the search, one in the preflight, the same
        assert {v[name] for v, _ in trials} == {c["values"][name] for c in report.cases} and len(
            {c["values"][name] for c in report.cases}
        ) == 1
    varied = {"filters", "learning_rate"} - held
    assert all(len({c["values"][name] for c in report.cases}) > 1 for name in varied)
    assert report.green, report.reasons()


def test_the_tuner_s_wider_range_is_planned_and_its_failing_values_are_the_search_s(tmp_path):
    trials = _search(blocks_widened, tmp_path)
    failed = {v["conv_blocks"] for v, status in trials if status == "FAILED"}
    completed = {v["conv_blocks"] for v, status in trials if status == "COMPLETED"}
    assert failed and min(failed) > MAX_BLOCKS >= max(completed)  # the tuner's range, past the build's
    report = _preflight(blocks_widened, tmp_path)
    outcomes = {c["values"]["conv_blocks"]: c["outcome"] for c in report.cases}
    assert max(outcomes) == 6
    assert {value for value, outcome in outcomes.items() if outcome != "ok"} == {
        value for value in outcomes if value > MAX_BLOCKS
    }
    assert not report.green
