"""What the preflight keeps from the user's project, a real KerasTuner search writes there: a ModelCheckpoint with
a relative path overwrites the user's file of that name, a build's own save lands beside it, and a CSVLogger into a
missing directory fails every trial (as the case does, ``engine/test_project_files_engine.py``)."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np

from tests.engine.test_project_files_engine import search_callbacks, writes_beside_itself


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")


def test_a_real_search_writes_over_the_user_s_files_where_the_preflight_does_not(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "best_model.keras").write_bytes(b"last night's search")
    (tmp_path / "logs").mkdir()
    tuner = kt.RandomSearch(
        writes_beside_itself, objective="loss", max_trials=2, directory=tmp_path / "kt", project_name="p"
    )
    tuner.search(*_data(), epochs=1, callbacks=search_callbacks(), verbose=0)
    assert (tmp_path / "best_model.keras").read_bytes() != b"last night's search"
    assert (tmp_path / "built_with.txt").exists() and (tmp_path / "logs" / "training.csv").exists()


def test_a_real_search_s_csv_logger_into_a_missing_directory_fails_its_trials(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tuner = kt.RandomSearch(
        writes_beside_itself, objective="loss", max_trials=3, max_consecutive_failed_trials=2,
        directory=tmp_path / "kt", project_name="p",
    )  # fmt: skip
    try:
        tuner.search(*_data(), epochs=1, callbacks=[keras.callbacks.CSVLogger("logs/training.csv")], verbose=0)
    except RuntimeError as exc:  # KerasTuner's abort after max_consecutive_failed_trials
        assert "FileNotFoundError" in str(exc)
    else:
        raise AssertionError("the search ran its trials")
    assert all(t.status == "FAILED" for t in tuner.oracle.trials.values())
