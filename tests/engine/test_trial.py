"""Each case runs as KerasTuner's own trial (issue 20): the failures that live in the trial, not in the model,
are found after a few steps, and a real KerasTuner search on the same code fails the way the preflight said.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras import layers

from conftest import run_preflight
from pytest_hypermodel import preflight
from pytest_hypermodel.probe import fit as probe


def _data(n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _build(hp, compiled: bool = True):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(hp.Int("units", 2, 4, step=2)), layers.Dense(1)])
    if compiled:
        model.compile(loss="mse", optimizer="sgd")
    return model


class ReturnsNothing(kt.HyperModel):
    def build(self, hp):
        return _build(hp)

    def fit(self, hp, model, *args, **kwargs):
        model.fit(*args, **kwargs)  # forgot the return


class DropsCallbacks(kt.HyperModel):
    def build(self, hp):
        return _build(hp)

    def fit(self, hp, model, x, y, callbacks=None, **kwargs):
        return model.fit(x, y, **kwargs)  # the tuner's checkpoint callback never reaches model.fit


class Locked(keras.callbacks.Callback):
    """A callback holding a lock: it cannot be deep-copied."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()


def _tuner(tmp_path, hypermodel, name, **kwargs):
    return kt.RandomSearch(hypermodel, objective="loss", max_trials=2, directory=tmp_path, project_name=name,
                           **kwargs)


def _run(tuner, **fit):
    x, y = _data()
    return preflight(tuner, data={"x": x, "y": y, **fit}, epochs=1, boundaries=False, strategy="extremes")


def _search(tuner, **fit):
    x, y = _data()
    tuner.search(x, y, epochs=1, verbose=0, **fit)


def test_a_fit_that_returns_nothing_stops_the_search_as_the_preflight_says(tmp_path):
    report = _run(_tuner(tmp_path, ReturnsNothing(), "none"))
    (case, *_) = report.failing
    assert (case["outcome"], case["exception"], case["disposition"]) == ("fatal", "FatalTypeError", "fatal")
    assert "return what model.fit returns" in case["message"]
    with pytest.raises(kt.errors.FatalTypeError, match="Did you forget to return the metrics"):
        _search(_tuner(tmp_path, ReturnsNothing(), "none_search"))


def test_callbacks_that_do_not_reach_model_fit_leave_no_checkpoint_and_get_best_models_fails(tmp_path):
    report = _run(_tuner(tmp_path, DropsCallbacks(), "drops"))
    assert {c["outcome"] for c in report.cases} == {"no_checkpoint"}
    case = report.failing[0]
    assert case["disposition"] == "completed" and "get_best_models() raises FileNotFoundError" in case["message"]
    assert "callbacks=kwargs['callbacks']" in case["message"]
    tuner = _tuner(tmp_path, DropsCallbacks(), "drops_search")
    _search(tuner)  # the whole search completes...
    with pytest.raises(FileNotFoundError):
        tuner.get_best_models()  # ...and its result cannot be loaded


def test_a_callback_that_cannot_be_deep_copied_stops_the_search_as_the_preflight_says(tmp_path):
    report = _run(_tuner(tmp_path, _build, "locked"), callbacks=[Locked()])
    case = report.failing[0]
    assert (case["exception"], case["disposition"]) == ("FatalValueError", "fatal")
    assert "deep-copyable" in case["message"]
    with pytest.raises(kt.errors.FatalValueError, match="deep-copyable"):
        _search(_tuner(tmp_path, _build, "locked_search"), callbacks=[Locked()])


def test_the_tuner_s_own_compile_arguments_reach_each_case(tmp_path):
    """The tuner recompiles each model with its ``metrics=``: the objective it names is then logged."""
    def tuner(name, **kwargs):
        return kt.RandomSearch(_build, objective="mae", max_trials=2, directory=tmp_path, project_name=name, **kwargs)

    assert _run(tuner("metrics", metrics=["mae"])).green
    searched = tuner("metrics_search", metrics=["mae"])
    _search(searched)
    assert [t.status for t in searched.oracle.trials.values()] == ["COMPLETED", "COMPLETED"]

    report = _run(tuner("no_metrics"))  # without them the logs lack the objective, in both
    assert "KerasTuner's objective mae is not among the fit's logs" in report.failing[0]["message"]
    with pytest.raises(RuntimeError, match="consecutive failures"):
        _search(tuner("no_metrics_search", max_consecutive_failed_trials=2))


def test_an_uncompiled_model_fails_as_the_tuner_s_own_compile_fails_it(tmp_path):
    """KerasTuner 1.4.8 on Keras 3 reads ``model.optimizer`` of the model it recompiles: an uncompiled model has
    none, even when the tuner is given ``optimizer=`` and ``loss=``. The case fails as the trial does."""
    uncompiled = lambda hp: _build(hp, compiled=False)  # noqa: E731
    tuner = _tuner(tmp_path, uncompiled, "compiles", optimizer="sgd", loss="mse", max_consecutive_failed_trials=2)
    try:
        _search(tuner)
        searched = None
    except RuntimeError as exc:
        searched = exc
    report = _run(_tuner(tmp_path, uncompiled, "compiles_preflight", optimizer="sgd", loss="mse"))
    assert report.green == (searched is None), report.reasons()
    if searched is not None:
        assert report.failing[0]["message"].split(" -> ")[1].split(".")[0] in str(searched)


def test_the_tuner_s_project_is_not_touched(tmp_path):
    tuner = _tuner(tmp_path, _build, "untouched")
    before = sorted(p.name for p in (tmp_path / "untouched").iterdir())
    assert _run(tuner).green
    assert sorted(p.name for p in (tmp_path / "untouched").iterdir()) == before  # no trial of the preflight's


GUIDE = Path(__file__).parents[1] / "example_project" / "getting_started.py"


def test_a_spec_naming_the_guide_s_tuner_runs_each_case_as_its_trial_and_leaves_its_project_alone(pytester):
    """``--hypermodel getting_started.py:make_tuner``: the keras-io guide's tuner as published. Its objective
    (val_accuracy: validation data is synthesized too), its max_trials (the forecast's) and its retry policy are
    the preflight's, on xdist's workers too; its project directory, my_dir/helloworld, is never created."""
    shutil.copy(GUIDE, pytester.path / "getting_started.py")
    result, cases = run_preflight(pytester, "-n", "2", "--hypermodel", "getting_started.py:make_tuner",
                                  "--hypermodel-input-shape", "28,28", "--hypermodel-strategy", "extremes",
                                  "--hypermodel-max-cases", "3", "--hypermodel-epochs", "1",
                                  "--hypermodel-samples", "8")
    assert result.ret == 0, result.stdout.str()
    assert cases and all(c.result == "passed" for c in cases.values())
    (case, *_) = cases.values()
    assert case.properties["case.objective"] == "val_accuracy:max"
    result.stdout.fnmatch_lines(["*getting_started.py:make_tuner: RandomSearch would abort within 3 trials*"])
    assert not (pytester.path / "my_dir").exists()


def test_a_tuner_factory_s_stale_project_or_failing_defaults_stop_the_run_with_one_line(pytester):
    pytester.makepyfile(train='''
        import keras, keras_tuner
        from keras import layers

        def build(hp):
            model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(hp.Int("units", 10, 20)), layers.Dense(1)])
            model.compile(loss="mse", optimizer="sgd")
            return model

        def broken(hp):
            raise ValueError("no model at the defaults")

        def make_tuner():
            return keras_tuner.RandomSearch(build, objective="loss", max_trials=2, directory="runs", project_name="p")

        def make_broken():
            return keras_tuner.RandomSearch(broken, objective="loss", directory="runs", project_name="q")

        def not_a_tuner():
            return 42
    ''')
    x, y = _data()
    old = kt.RandomSearch(lambda hp: _build(hp), objective="loss", max_trials=1, directory=pytester.path / "runs",
                          project_name="p")
    old.search(x, y, epochs=1, verbose=0)
    oracle = (pytester.path / "runs" / "p" / "oracle.json").read_bytes()
    result, _ = run_preflight(pytester, "--hypermodel", "train.py:make_tuner")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--hypermodel train.py:make_tuner: the tuner's project runs?p*pass overwrite=True*"])
    assert (pytester.path / "runs" / "p" / "oracle.json").read_bytes() == oracle  # only read

    result, _ = run_preflight(pytester, "--hypermodel", "train.py:make_broken")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*train.py:make_broken: make_broken() raised ValueError (no model at the defaults)*"
                                 "the search would not start either*"])
    assert "Traceback" not in result.stderr.str()
    result, _ = run_preflight(pytester, "--hypermodel", "train.py:not_a_tuner")
    result.stderr.fnmatch_lines(["*train.py:not_a_tuner: not_a_tuner() returned int, not a KerasTuner tuner*"])


def test_the_gated_search_runs_the_tuner_the_preflight_ran(pytester, monkeypatch, capsys):
    """``search train.py:make_tuner``: the same tuner callable, its own settings (a flag repeating one is
    refused), the search's data from ``--data`` (synthesized data only when asked for)."""
    from pytest_hypermodel.__main__ import main

    pytester.makepyfile(train='''
        import keras, keras_tuner, numpy as np
        from keras import layers

        def build(hp):
            model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(hp.Int("units", 2, 4, step=2)),
                                      layers.Dense(1)])
            model.compile(loss="mse", optimizer="sgd")
            return model

        def make_tuner():
            return keras_tuner.RandomSearch(build, objective="loss", max_trials=2, max_consecutive_failed_trials=2,
                                            directory="runs", project_name="p")

        def search_data():
            rng = np.random.default_rng(0)
            return {"x": rng.normal(size=(16, 4)), "y": rng.normal(size=(16, 1)), "epochs": 1}
    ''')
    result, _ = run_preflight(pytester, "--hypermodel", "train.py:make_tuner", "--hypermodel-report", "r.json",
                              "--hypermodel-boundaries", "off", "--hypermodel-epochs", "1")
    assert result.ret == 0, result.stdout.str()
    monkeypatch.chdir(pytester.path)
    capsys.readouterr()
    assert main(["search", "train.py:make_tuner", "--report", "r.json", "--max-trials", "5", "--verbose", "0"]) == 2
    assert main(["search", "train.py:make_tuner", "--report", "r.json", "--verbose", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "pytest_hypermodel search: --max-trials: make_tuner() returns the tuner, which sets this itself: remove the "
        "flag, or change the tuner",
        "pytest_hypermodel search: train.py:make_tuner: pass the search's data with --data module:callable (what you "
        "pass to tuner.search), or --synthesize to search on synthesized data (a smoke run)",
    ]
    assert main(["search", "train.py:make_tuner", "--report", "r.json", "--data", "train.py:search_data",
                 "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "with RandomSearch (max_retries_per_trial=0, max_consecutive_failed_trials=2" in out
    assert "2 trials: 2 COMPLETED" in out
    assert (pytester.path / "runs" / "p" / "oracle.json").is_file()  # the real project, this time


class Counts(keras.callbacks.Callback):
    """Counts the batches of each epoch, in a list the tuner's deep copies share (a class attribute)."""

    epochs: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        Counts.epochs.append(0)

    def on_train_batch_end(self, batch, logs=None):
        Counts.epochs[-1] += 1


def test_the_search_s_arguments_reach_each_case_cut_to_a_few_batches_and_the_probe_s_epochs():
    """What the user passes to tuner.search, as a dict: the callbacks and batch_size go through; 1000 examples
    become two batches, 50 epochs the probe's 2."""
    x, y = _data(1000)
    Counts.epochs.clear()
    search = {"x": x, "y": y, "validation_data": (x, y), "epochs": 50, "batch_size": 16, "callbacks": [Counts()]}
    report = preflight(_build, data=search, epochs=2, strategy="extremes", boundaries=False, isolation="off")
    assert report.green and len(report.cases) == 2
    # Two cases, and the default's further trials (memory per trial), two epochs each, two batches of 16 each.
    assert set(Counts.epochs) == {2} and len(Counts.epochs) // 2 - 2 in range(2, probe.GROWTH_TRIALS + 1)


def test_one_callable_gives_the_search_s_data_to_the_preflight_and_to_the_gated_search(pytester):
    """``--hypermodel-search-data train.py:search_data``: the same callable the search command's ``--data``
    takes. The model has no keras.Input, so without it no data could be synthesized, and what its fit() declares
    would go unseen: discovery fits on it too, so ``shuffle`` is planned. A bad one is one line."""
    pytester.makepyfile(train='''
        import keras, keras_tuner, numpy as np
        from keras import layers

        class Build(keras_tuner.HyperModel):
            def build(self, hp):
                model = keras.Sequential([layers.Dense(hp.Int("units", 2, 4, step=2)), layers.Dense(1)])
                model.compile(loss="mse", optimizer="sgd")
                return model

            def fit(self, hp, model, *args, **kwargs):
                return model.fit(*args, shuffle=hp.Boolean("shuffle"), **kwargs)

        build = Build()

        def search_data():
            rng = np.random.default_rng(0)
            x, y = rng.normal(size=(500, 6)), rng.normal(size=(500, 1))
            return {"x": x, "y": y, "validation_data": (x, y), "epochs": 20, "batch_size": 8}
    ''')
    result, cases = run_preflight(pytester, "--hypermodel", "train.py:build", "--hypermodel-search-data",
                                  "train.py:search_data", "--hypermodel-objective", "val_loss",
                                  "--hypermodel-boundaries", "off", "--hypermodel-strategy", "extremes")
    assert result.ret == 0, result.stdout.str()
    assert set(cases) == {"build[defaults]", "build[units=4]", "build[shuffle=True]"}
    assert all(c.result == "passed" for c in cases.values())
    result, cases = run_preflight(pytester, "--hypermodel", "train.py:build", "--hypermodel-search-data",
                                  "train.py:nothing", "--hypermodel-boundaries", "off", "--hypermodel-strategy",
                                  "extremes")
    assert cases and all("train.py defines no callable 'nothing'" in c.message for c in cases.values())
    assert "During handling" not in result.stdout.str()
    result, _ = run_preflight(pytester, "--hypermodel", "train.py:build", "--hypermodel-search-data", "tran.py:data")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.lines if line.strip()] == [
        f"ERROR: --hypermodel-search-data tran.py:data: no file {pytester.path / 'tran.py'}"]


def test_data_that_does_not_fit_the_model_s_input_blames_the_data_not_a_hyperparameter(tmp_path):
    x, y = np.zeros((16, 6), "float32"), np.zeros((16, 1), "float32")  # the model takes 4 features
    report = preflight(_build, x, y, epochs=1, strategy="extremes", boundaries=False, isolation="off")
    assert len(report.failing) == 2
    for case in report.failing:
        assert "the data (x (16, 6), y (16, 1)) does not fit the model's input" in case["message"], case["message"]
        assert "max_value" not in case["message"] and "no hyperparameter is to blame" in case["message"]
    with pytest.raises(RuntimeError, match="is incompatible with the layer"):  # every trial of the search fails
        _tuner(tmp_path, _build, "mismatch", max_consecutive_failed_trials=2).search(x, y, epochs=1, verbose=0)


def test_a_tuner_without_an_objective_stops_at_its_first_trial_as_the_preflight_says(tmp_path):
    """KerasTuner's default objective accepts only a float from fit(): a History stops the search."""
    report = _run(kt.RandomSearch(_build, max_trials=2, directory=tmp_path, project_name="none"))
    case = report.failing[0]
    assert (case["exception"], case["disposition"]) == ("FatalTypeError", "fatal")
    assert "give the tuner an objective its fit logs" in case["message"]
    with pytest.raises(kt.errors.FatalTypeError, match="objective` is left unspecified"):
        _search(kt.RandomSearch(_build, max_trials=2, directory=tmp_path, project_name="none_search"))
