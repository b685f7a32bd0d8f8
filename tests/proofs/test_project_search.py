"""KerasTuner searches the old space of an existing project, as the preflight says (a real search: with the proofs)."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras import layers

from pytest_hypermodel import PreflightError, preflight

#: The ``units`` each build of the tests' hypermodels read.
SEEN: list[int] = []


def _model(units: int) -> keras.Model:
    SEEN.append(units)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(units), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def old_space(hp):
    return _model(hp.Int("units", 1, 2))


def new_space(hp):
    """``units`` moved to 10..20, and a hyperparameter added."""
    hp.Choice("act", ["relu", "tanh"])
    return _model(hp.Int("units", 10, 20))


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")


def _quiet(**options):
    # new_space's "act" tunes nothing (a health finding of its own): the project is this test's subject
    return {
        "isolation": "off",
        "boundaries": False,
        "epochs": 1,
        "samples": 8,
        "suppress_health_check": ["hyperparameter_unused"],
        **options,
    }


@pytest.mark.proof
def test_kerastuner_searches_the_old_space_of_an_existing_project_and_the_preflight_says_so(tmp_path):
    x, y = _data()
    first = kt.RandomSearch(old_space, objective="loss", max_trials=1, directory=tmp_path, project_name="proj", seed=1)
    first.search(x, y, epochs=1, verbose=0)
    proj = tmp_path / "proj"
    saved = (proj / "oracle.json").read_bytes()

    # The preflight of the new space: one line, what changed and the fix; the project is only read.
    with pytest.raises(PreflightError) as raised:
        preflight(new_space, x, y, project=str(proj), **_quiet())
    assert str(raised.value) == (
        f"project={proj}: KerasTuner will reload the old space from {proj}/oracle.json (units: min_value 1 there, "
        "10 now, max_value 2 there, 20 now; act added): pass overwrite=True to the tuner, or a new project_name"
    )
    # The same space: a search resumed, which is legitimate.
    assert preflight(old_space, x, y, project=str(proj), **_quiet()).green
    # No project there: nothing to check, and nothing created.
    assert preflight(new_space, x, y, project=str(tmp_path / "nowhere" / "proj"), **_quiet()).green
    assert not (tmp_path / "nowhere").exists()
    assert (proj / "oracle.json").read_bytes() == saved
    assert sorted(p.name for p in proj.iterdir()) == ["oracle.json", "trial_0", "tuner0.json"]

    # What KerasTuner does (overwrite=False, its default): it reloads the old oracle, and its old range, whatever
    # the build now declares.
    second = kt.RandomSearch(new_space, objective="loss", max_trials=2, directory=tmp_path, project_name="proj", seed=1)
    units = second.oracle.hyperparameters.get_config()["space"][0]["config"]
    assert (units["name"], units["min_value"], units["max_value"]) == ("units", 1, 2)
    SEEN.clear()
    second.search(x, y, epochs=1, verbose=0)
    assert len(second.oracle.trials) == 2  # the old trial counts toward max_trials: one new trial ran
    assert SEEN and set(SEEN) <= {1, 2}  # the build declared 10..20 and was given values of the old 1..2
    # With max_trials used up, the search ends at once.
    third = kt.RandomSearch(new_space, objective="loss", max_trials=2, directory=tmp_path, project_name="proj")
    SEEN.clear()
    third.search(x, y, epochs=1, verbose=0)
    assert not SEEN and len(third.oracle.trials) == 2

    # A tuner given to the preflight: its own project is checked. KerasTuner registered `act` in the old oracle
    # during its trial; the old range of `units` stays.
    with pytest.raises(PreflightError) as raised:
        preflight(third, x, y, **_quiet())
    assert str(raised.value) == (
        f"project={proj}: KerasTuner will reload the old space from {proj}/oracle.json (units: min_value 1 there, "
        "10 now, max_value 2 there, 20 now): pass overwrite=True to the tuner, or a new project_name"
    )
