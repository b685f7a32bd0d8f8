"""Real KerasTuner searches on the hypermodels the rehearsal finds faults in (``tests/hypermodels/sequence.py``):
each case of them passes alone, and the search itself breaks as the rehearsal says (``tests/engine/test_rehearsal.py``
checks the findings)."""

from __future__ import annotations

import keras
import keras_tuner as kt
import pytest

from tests.hypermodels import sequence


@pytest.fixture(autouse=True)
def _floatx_restored():
    floatx = keras.config.floatx()
    yield
    keras.config.set_floatx(floatx)


def test_a_full_precision_trial_after_the_half_one_trains_in_float16(tmp_path):
    """state_left_behind and fails_in_sequence: set_floatx in one trial's build reaches every later trial."""
    x, y = sequence.data()
    for seed in range(16):  # RandomSearch draws the order: a seed with "full" trials before and after a "half" one
        keras.config.set_floatx("float32")
        built: list[tuple[str, str]] = []

        def recorded(hp, built=built):
            model = sequence.half_precision_leaks(hp)
            built.append((hp.get("precision"), str(model.weights[0].dtype)))
            return model

        tuner = kt.RandomSearch(
            recorded, objective="loss", max_trials=4, seed=seed, directory=tmp_path, project_name=f"leaks_{seed}"
        )
        del built[:]  # the constructor's own build of the defaults
        tuner.search(x, y, epochs=1, verbose=0)
        precisions = [p for p, _ in built]
        half = precisions.index("half") if "half" in precisions else None
        if half is not None and "full" in precisions[:half] and "full" in precisions[half:]:
            break
    else:
        pytest.fail(f"no seed ran full-precision trials before and after a half-precision one: {built}")
    after = built[precisions.index("half") + 1 :]
    assert ("full", "float16") in after, built  # asked for full precision, trained in float16
    before = [dtype for precision, dtype in built[: precisions.index("half")] if precision == "full"]
    assert before and set(before) == {"float32"}, built  # the same values, before the half-precision trial


def test_a_layer_made_at_module_level_is_in_every_trials_model(tmp_path):
    """shared_variables: the second trial's model holds the variable objects the first trained."""
    x, y = sequence.data()
    models: list[keras.Model] = []

    def recorded(hp):
        models.append(sequence.shared_layer(hp))
        return models[-1]

    tuner = kt.RandomSearch(recorded, objective="loss", max_trials=2, directory=tmp_path, project_name="shared")
    tuner.search(x, y, epochs=1, verbose=0)
    first, last = models[1], models[-1]  # models[0]: the constructor's build
    assert first is not last and first.get_layer("shared").kernel is last.get_layer("shared").kernel


def test_get_best_models_cannot_load_a_checkpoint_into_an_unbuilt_subclassed_model(tmp_path):
    """after_search: every trial completes, and what the user calls next raises."""
    x, y = sequence.data()
    tuner = kt.RandomSearch(
        sequence.unbuilt_subclass, objective="loss", max_trials=2, directory=tmp_path, project_name="unbuilt"
    )
    tuner.search(x, y, epochs=1, verbose=0)
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    with pytest.raises(ValueError, match="not yet been built"):
        tuner.get_best_models(1)
