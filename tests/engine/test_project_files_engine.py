"""A preflight leaves the user's project as it found it: the search's callbacks (a ModelCheckpoint, a CSVLogger
with relative paths, as users write them) write into the throwaway directory, and what the build itself writes in
the project is removed and told. Its proof: ``proofs/test_project_files_search.py``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

from pytest_hypermodel import preflight
from pytest_hypermodel.space.hyperparameters import HypermodelWarning


def writes_beside_itself(hp):
    """A build that saves a note in the working directory, as a user's logging might."""
    Path("built_with.txt").write_text(f"units={hp.Int('units', 2, 4, step=2)}\n")
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(hp.get("units")), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def search_callbacks() -> list:
    return [
        keras.callbacks.ModelCheckpoint("best_model.keras", monitor="loss"),
        keras.callbacks.CSVLogger("logs/training.csv"),
    ]


def test_the_callbacks_write_elsewhere_and_what_the_build_wrote_is_removed_and_told(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "best_model.keras").write_bytes(b"last night's search")
    (tmp_path / "logs").mkdir()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    with pytest.warns(
        HypermodelWarning, match=r"your code wrote in the project during the preflight: built_with\.txt"
    ) as told:
        report = preflight(
            writes_beside_itself,
            data={"x": x, "y": y, "callbacks": search_callbacks()},
            strategy="default",
            boundaries=False,
            isolation="off",
        )
    [wrote] = [w for w in told if "your code wrote in the project" in str(w.message)]
    assert report.green and wrote.filename == __file__  # at the user's preflight() call, not in the package
    assert (tmp_path / "best_model.keras").read_bytes() == b"last night's search"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["best_model.keras", "logs"]  # logs/ left empty
    assert report.data["project_files"] == [{"path": "built_with.txt", "change": "created", "restored": True}]


def test_a_callback_writing_into_a_missing_directory_fails_as_in_the_search(tmp_path, monkeypatch):
    """The throwaway directory mirrors which of the user's directories exist: no ``logs/``, no log file, in the
    case as in the real search (``proofs/test_project_files_search.py``)."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    logger = keras.callbacks.CSVLogger("logs/training.csv")
    report = preflight(
        writes_beside_itself, data={"x": x, "y": y, "callbacks": [logger]}, strategy="default", boundaries=False,
        isolation="off",
    )  # fmt: skip
    [case] = report.cases
    assert not report.green and "FileNotFoundError" in case["message"] and "CSVLogger.on_train_begin" in case["message"]
    assert not (tmp_path / "logs").exists()


def test_the_probe_process_s_writing_is_put_back_and_another_process_s_edit_is_kept(tmp_path, monkeypatch):
    """The build runs in the probe process, which notes what it writes; a file another program (an editor) changes
    during the preflight is the user's edit, and stays."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.py").write_text(
        "import keras\nfrom pathlib import Path\n\n\ndef build(hp):\n"
        "    Path('built_with.txt').write_text('units')\n"
        "    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(hp.Int('units', 2, 4, step=2))])\n"
        "    model.compile(loss='mse', optimizer='sgd')\n    return model\n"
    )
    (tmp_path / "notes.txt").write_text("before")
    editor = subprocess.Popen(["sh", "-c", "sleep 2; echo edited > notes.txt"], cwd=tmp_path)
    with pytest.warns(HypermodelWarning, match="built_with.txt"):
        report = preflight("models.py:build", strategy="default", boundaries=False, rootpath=tmp_path)
    editor.wait(30)
    assert report.green and not (tmp_path / "built_with.txt").exists()
    assert (tmp_path / "notes.txt").read_text() == "edited\n"
    assert [c["path"] for c in report.data["project_files"]] == ["built_with.txt"]
