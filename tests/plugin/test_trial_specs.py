"""A tuner or the search's data named on the command line: each case runs as the tuner's own trial, the factory's
mistakes stop the run with one line, and the gated search runs the tuner the preflight ran."""

from __future__ import annotations

import shutil
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pytest
from conftest import run_preflight
from keras import layers

GUIDE = Path(__file__).parents[2] / "example_project" / "getting_started.py"


def _data(n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _build(hp, compiled: bool = True):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(hp.Int("units", 2, 4, step=2)), layers.Dense(1)])
    if compiled:
        model.compile(loss="mse", optimizer="sgd")
    return model


def test_a_spec_naming_the_guide_s_tuner_runs_each_case_as_its_trial_and_leaves_its_project_alone(pytester):
    """``--hypermodel getting_started.py:make_tuner``: the keras-io guide's tuner as published. Its objective
    (val_accuracy: validation data is synthesized too), its max_trials (the forecast's) and its retry policy are
    the preflight's, on xdist's workers too; its project directory, my_dir/helloworld, is never created."""
    shutil.copy(GUIDE, pytester.path / "getting_started.py")
    result, cases = run_preflight(
        pytester,
        "-n",
        "2",
        "--hypermodel",
        "getting_started.py:make_tuner",
        "--hypermodel-input-shape",
        "28,28",
        "--hypermodel-strategy",
        "extremes",
        "--hypermodel-max-cases",
        "3",
        "--hypermodel-epochs",
        "1",
        "--hypermodel-samples",
        "8",
        # pytester cleared PYTEST_ADDOPTS: the rehearsal is not the subject (tests/engine/test_rehearsal.py has a
        # named tuner's project left alone by it)
        "--hypermodel-rehearsal",
        "off",
    )
    assert result.ret == 0, result.stdout.str()
    assert cases and all(c.result == "passed" for c in cases.values())
    (case, *_) = cases.values()
    assert case.properties["case.objective"] == "val_accuracy:max"
    result.stdout.fnmatch_lines(["*getting_started.py:make_tuner: RandomSearch would abort within 3 trials*"])
    assert not (pytester.path / "my_dir").exists()


def test_a_tuner_factory_s_stale_project_or_failing_defaults_stop_the_run_with_one_line(pytester):
    pytester.makepyfile(
        train="""
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
    """
    )
    x, y = _data()
    old = kt.RandomSearch(
        lambda hp: _build(hp), objective="loss", max_trials=1, directory=pytester.path / "runs", project_name="p"
    )
    old.search(x, y, epochs=1, verbose=0)
    oracle = (pytester.path / "runs" / "p" / "oracle.json").read_bytes()
    result, _ = run_preflight(pytester, "--hypermodel", "train.py:make_tuner", here=True)
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--hypermodel train.py:make_tuner: the tuner's project runs?p*pass overwrite=True*"])
    assert (pytester.path / "runs" / "p" / "oracle.json").read_bytes() == oracle  # only read

    result, _ = run_preflight(pytester, "--hypermodel", "train.py:make_broken", here=True)
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "*train.py:make_broken: make_broken() raised ValueError (no model at the defaults)*"
            "the search would not start either*"
        ]
    )
    assert "Traceback" not in result.stderr.str()
    result, _ = run_preflight(pytester, "--hypermodel", "train.py:not_a_tuner", here=True)
    result.stderr.fnmatch_lines(["*train.py:not_a_tuner: not_a_tuner() returned int, not a KerasTuner tuner*"])


def test_the_gated_search_runs_the_tuner_the_preflight_ran(pytester, monkeypatch, capsys):
    """``search train.py:make_tuner``: the same tuner callable, its own settings (a flag repeating one is
    refused), the search's data from ``--data`` (synthesized data only when asked for)."""
    from pytest_hypermodel.__main__ import main

    pytester.makepyfile(
        train="""
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
    """
    )
    result, _ = run_preflight(
        pytester,
        "--hypermodel",
        "train.py:make_tuner",
        "--hypermodel-report",
        "r.json",
        "--hypermodel-boundaries",
        "off",
        "--hypermodel-epochs",
        "1",
        "--hypermodel-rehearsal",  # the gated search is the subject, not the preflight's rehearsal of it
        "off",
        here=True,
    )
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
    assert (
        main(
            ["search", "train.py:make_tuner", "--report", "r.json", "--data", "train.py:search_data", "--verbose", "0"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "with RandomSearch (max_retries_per_trial=0, max_consecutive_failed_trials=2" in out
    assert "2 trials: 2 COMPLETED" in out
    assert (pytester.path / "runs" / "p" / "oracle.json").is_file()  # the real project, this time


def test_one_callable_gives_the_search_s_data_to_the_preflight_and_to_the_gated_search(pytester):
    """``--hypermodel-search-data train.py:search_data``: the same callable the search command's ``--data``
    takes. The model has no keras.Input, so without it no data could be synthesized, and what its fit() declares
    would go unseen: discovery fits on it too, so ``shuffle`` is planned. A bad one is one line."""
    pytester.makepyfile(
        train="""
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
    """
    )
    result, cases = run_preflight(
        pytester,
        "--hypermodel",
        "train.py:build",
        "--hypermodel-search-data",
        "train.py:search_data",
        "--hypermodel-objective",
        "val_loss",
        "--hypermodel-boundaries",
        "off",
        "--hypermodel-strategy",
        "extremes",
        "--hypermodel-rehearsal",  # what discovery plans from the search's data is the subject
        "off",
        here=True,
    )
    assert result.ret == 0, result.stdout.str()
    assert set(cases) == {"build[defaults]", "build[units=4]", "build[shuffle=True]"}
    assert all(c.result == "passed" for c in cases.values())
    result, cases = run_preflight(
        pytester,
        "--hypermodel",
        "train.py:build",
        "--hypermodel-search-data",
        "train.py:nothing",
        "--hypermodel-boundaries",
        "off",
        "--hypermodel-strategy",
        "extremes",
        here=True,
    )
    assert cases and all("train.py defines no callable 'nothing'" in c.message for c in cases.values())
    assert "During handling" not in result.stdout.str()
    result, _ = run_preflight(
        pytester, "--hypermodel", "train.py:build", "--hypermodel-search-data", "tran.py:data", here=True
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.lines if line.strip()] == [
        f"ERROR: --hypermodel-search-data tran.py:data: no file {pytester.path / 'tran.py'}"
    ]
