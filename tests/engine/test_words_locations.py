"""What the preflight says about the user's code points at the user's code, and names what the user passed: a
HyperModel subclass's warning at its ``build`` (not at KerasTuner's ``_build_wrapper``), a setting's warning at the
``preflight(...)`` call, and the report's command names the tuner that was passed."""

from __future__ import annotations

import inspect
import warnings
from html import escape

import keras
import keras_tuner as kt

from pytest_hypermodel import HypermodelWarning
from pytest_hypermodel.api import preflight


class ThreeInputs(kt.HyperModel):
    def build(self, hp):
        units = hp.Int("units", 4, 8, step=4)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units), keras.layers.Dense(1)])
        model.compile("adam", "mse")
        return model


def test_warnings_point_at_the_users_lines_and_the_command_names_the_tuner(tmp_path):
    tuner = kt.RandomSearch(ThreeInputs(), objective="loss", max_trials=1, directory=tmp_path, project_name="p")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call_line = inspect.currentframe().f_lineno + 1
        report = preflight(tuner, input_shape=(5,), epochs=1, strategy="extremes", boundaries=False, rehearsal=False)
    ours = {str(w.message).split(":")[0]: w for w in caught if issubclass(w.category, HypermodelWarning)}
    # The space's warning (the input shape given disagrees with the model's keras.Input): at the user's build.
    mismatch = ours["ThreeInputs"]
    assert "--hypermodel-input-shape disagrees" in str(mismatch.message)
    assert (mismatch.filename, mismatch.lineno) == (__file__, ThreeInputs.build.__code__.co_firstlineno)
    # The setting's warning (one epoch): at the call of preflight().
    one_epoch = ours["hypermodel_epochs = 1"]
    assert (one_epoch.filename, one_epoch.lineno) == (__file__, call_line)
    assert not any("keras_tuner" in w.filename for w in ours.values())
    command = "pytest_hypermodel.preflight(RandomSearch(hypermodel=ThreeInputs, ...))"
    assert report.data["run"]["command"] == command
    assert escape(command) in report.html()
