"""A tuner whose own ``search()`` prepares the search, as AutoKeras's does, preflighted through that code.

``PreparingTuner`` is built the way AutoKeras's ``AutoTuner`` is: its constructor builds nothing (it overrides
``_populate_initial_space``), its ``search()`` sets the hypermodel's input shape from ``fit_kwargs["x"]`` and builds
the defaults before KerasTuner's search, and its ``run_trial`` reads ``kwargs["x"]``. The AutoKeras proof is
``tests/proofs/test_autokeras_searches.py``.
"""

from __future__ import annotations

import warnings

import keras
import keras_tuner as kt
import numpy as np
import pytest

import pytest_hypermodel as ph


class ShapedHyperModel(kt.HyperModel):
    """Knows its input shape only once the search has seen the data (AutoKeras's ``Graph``)."""

    shape: tuple[int, ...] | None = None
    broken_default = False

    def build(self, hp):
        if self.shape is None:
            raise ValueError("You must pass a `shape` argument")
        units = hp.Int("units", 4, 8, step=4)
        if self.broken_default and units == 4:
            raise ValueError("four units are refused")
        inputs = keras.Input(self.shape)
        outputs = keras.layers.Dense(1)(keras.layers.Dense(units)(inputs))
        model = keras.Model(inputs, outputs)
        model.compile("adam", "mse")
        return model


class PreparingTuner(kt.RandomSearch):
    """Builds nothing when created; its search() sets up the hypermodel from the data; its trials read x by name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trial_arguments: list[tuple[int, list[str]]] = []

    def _populate_initial_space(self):
        return

    def search(self, epochs=None, **fit_kwargs):
        if "validation_data" not in fit_kwargs:
            raise ValueError("pass validation_data: this search scores val_loss")
        self.hypermodel.shape = tuple(fit_kwargs["x"].shape[1:])
        hp = self.oracle.get_space()
        self._try_build(hp)
        self.oracle.update_space(hp)
        return super().search(epochs=epochs, **fit_kwargs)

    def run_trial(self, trial, *args, **kwargs):
        self.trial_arguments.append((len(args), sorted(kwargs)))
        assert kwargs["x"].ndim == 2  # AutoKeras's kwargs["x"]
        return super().run_trial(trial, *args, **kwargs)


def _tuner(tmp_path, broken_default: bool = False) -> PreparingTuner:
    hypermodel = ShapedHyperModel()
    hypermodel.broken_default = broken_default
    return PreparingTuner(
        hypermodel, objective="val_loss", max_trials=2, directory=str(tmp_path), project_name="p", overwrite=True
    )


def _data():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    return x, y, (x[:16], y[:16])


def test_its_own_search_prepares_and_its_trials_get_the_search_arguments_by_name(tmp_path):
    x, y, validation = _data()
    tuner = _tuner(tmp_path)
    tuner.search(x=x, y=y, validation_data=validation, epochs=1, verbose=0)  # the real search works
    searched = _tuner(tmp_path / "preflight")

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        report = ph.preflight(searched, x, y, validation_data=validation, epochs=2, max_cases=2)

    assert report.green, report.reasons()
    assert not [w for w in said if "search() of its own" in str(w.message)]  # it ran: not told it did not
    assert searched.trial_arguments and all(n == 0 for n, _ in searched.trial_arguments)  # none positional
    assert all({"x", "y", "validation_data"} <= set(names) for _, names in searched.trial_arguments)


def test_a_default_its_search_cannot_build_is_red_and_the_tuner_is_not_said_uncreatable(tmp_path):
    x, y, validation = _data()
    with pytest.raises(ValueError, match="four units are refused"):
        _tuner(tmp_path, broken_default=True).search(x=x, y=y, validation_data=validation, epochs=1, verbose=0)

    report = ph.preflight(_tuner(tmp_path / "preflight", True), x, y, validation_data=validation, epochs=2)

    assert not report.green
    assert "before its first trial" in report.forecast["message"]
    assert "four units are refused" in report.forecast["message"]
    default = next(c for c in report.cases if c["nodeid"].endswith("[defaults]"))
    assert "cannot be created" not in default["message"]
    assert "search() builds the defaults before its first trial" in default["message"]


def test_what_its_search_raises_before_the_first_trial_is_one_line(tmp_path):
    x, y, _ = _data()
    with pytest.raises(ValueError, match="pass validation_data"):
        _tuner(tmp_path).search(x=x, y=y, epochs=1, verbose=0)

    with pytest.raises(ph.PreflightError) as raised:
        ph.preflight(_tuner(tmp_path / "preflight"), x, y, epochs=2)

    assert str(raised.value) == (
        "preflight(): PreparingTuner.search() raises before its first trial: ValueError: pass validation_data: "
        "this search scores val_loss"
    )


def test_a_spec_returning_it_says_in_one_line_that_its_search_does_not_run(tmp_path):
    (tmp_path / "train.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})\n"
        "from test_own_search import PreparingTuner, ShapedHyperModel\n\n"
        "def make_tuner():\n"
        "    hypermodel = ShapedHyperModel()\n"
        "    hypermodel.shape = (3,)  # set by hand: a SPEC's preflight does not run its search()\n"
        "    return PreparingTuner(hypermodel, objective='loss', max_trials=2, directory='p')\n"
    )
    with pytest.warns(ph.HypermodelWarning, match=r"PreparingTuner has a search\(\) of its own") as said:
        ph.preflight(f"{tmp_path / 'train.py'}:make_tuner", isolation="off", epochs=2, max_cases=1, rootpath=tmp_path)
    line = next(str(w.message) for w in said if "search() of its own" in str(w.message))
    assert "preflight(tuner, x, y)" in line and "\n" not in line
