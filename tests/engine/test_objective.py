"""The search's objective (issue 20, first failure class): each case's fit must log it, as KerasTuner's trial needs.

KerasTuner reads the objective from each trial's logs after the whole fit: a History without it is a KeyError, an
ordinary exception, so every trial trains, fails, and three in a row abort the search. Each test runs the real
search beside the preflight on the same code.
"""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras import layers

from conftest import run_preflight  # tests/ is on sys.path
from pytest_hypermodel import preflight
from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.engine.settings import SettingError
from pytest_hypermodel.space.target import Target


def build(hp):
    model = keras.Sequential([keras.Input(shape=(20,)), layers.Dense(hp.Int("units", 4, 64, step=4)), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")  # no metrics: the logs hold loss (and val_loss with validation data)
    return model


def _data(n: int = 32):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 20)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _search_error(tmp_path, objective: str, **fit) -> tuple[BaseException, list[str]]:
    tuner = kt.RandomSearch(build, objective=objective, max_trials=4, directory=tmp_path, project_name=objective,
                            overwrite=True)
    x, y = _data()
    with pytest.raises(RuntimeError, match="consecutive failures exceeded the limit of 3") as raised:
        tuner.search(x, y, epochs=1, verbose=0, **fit)
    return raised.value, [t.message or "" for t in tuner.oracle.trials.values()]


@pytest.mark.proof  # a real KerasTuner search: with the proofs, after the default suite
def test_an_objective_the_metrics_lack_fails_every_trial_as_the_tuner_s_preflight_says(tmp_path):
    x, y = _data()
    _, messages = _search_error(tmp_path / "kt", "val_accuracy", validation_data=(x, y))
    assert messages and all("KeyError: 'val_accuracy'" in m for m in messages)  # KerasTuner's own failure

    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=4, directory=tmp_path / "p",
                            project_name="p")
    report = preflight(tuner, x, y, validation_data=(x, y), epochs=1, isolation="off", boundaries=False,
                       rootpath=tmp_path)
    assert not report.green
    assert {c["exception"] for c in report.cases} == {"KeyError"}
    assert {c["disposition"] for c in report.cases} == {"failed"}
    fix = ("Likely fix: KerasTuner's objective val_accuracy is not among the fit's logs (loss, val_loss): compile "
           "the metric it names (metrics=[...]) and log it from fit(), or give the tuner an objective the logs have")
    assert all(fix in c["message"] for c in report.cases)
    assert report.forecast["fails_run"] and "make each trial's fit log the objective" in report.forecast["message"]


@pytest.mark.proof  # a real KerasTuner search: with the proofs, after the default suite
def test_a_val_objective_without_validation_data_names_the_missing_data(tmp_path):
    """KerasTuner's usual objective, val_loss, with search(x, y) and no validation data."""
    _, messages = _search_error(tmp_path / "kt", "val_loss")
    assert messages and all("KeyError: 'val_loss'" in m for m in messages)

    x, y = _data()
    report = preflight(build, x, y, objective="val_loss", epochs=1, isolation="off", boundaries=False,
                       rootpath=tmp_path)
    assert not report.green
    assert all("objective val_loss is not among the fit's logs (loss): pass validation data to the search "
               "(validation_data=, or validation_split=)" in c["message"] for c in report.cases)
    green = preflight(build, x, y, validation_data=(x, y), objective="val_loss", epochs=1, isolation="off",
                      boundaries=False, rootpath=tmp_path)
    assert green.green, green.reasons()


def test_synthesized_data_carries_validation_data_for_a_val_objective(tmp_path):
    options = settings.MappingSource({"hypermodel_isolation": "off", "hypermodel_epochs": "1",
                                      "hypermodel_boundaries": "off", "hypermodel_objective": "val_loss"})
    with Engine(settings.read(options), tmp_path) as engine:
        data = engine.run([Target("build", tmp_path / "m.py", "build", build)])
    assert {c["outcome"] for c in data["cases"]} == {"ok"}


@pytest.mark.parametrize("text", ["val_auc:best", ":max"])
def test_a_malformed_objective_is_one_line_naming_the_form(text):
    with pytest.raises(SettingError, match="give the tuner's objective as NAME or NAME:min / NAME:max"):
        settings.read(settings.MappingSource({"hypermodel_objective": text}))


def test_the_command_line_objective_fails_the_cases_with_the_fix(hypermodel_dir):
    result, cases = run_preflight(hypermodel_dir, "--hypermodel", "outcomes.py:healthy", "--hypermodel-objective",
                                  "val_accuracy", "--hypermodel-boundaries", "off")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert cases and all(c.properties["exception"] == "KeyError" for c in cases.values())
    result.stdout.fnmatch_lines(["*Likely fix: KerasTuner's objective val_accuracy is not among the fit's logs "
                                 "(loss, val_loss): compile the metric it names*"])


class TunedBatch(kt.HyperModel):
    """keras-io's pattern: ``batch_size`` tuned in ``fit``."""

    def build(self, hp):
        return build(hp)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 8192]), **kwargs)


def test_the_memory_estimate_uses_the_batch_size_fit_receives(tmp_path):
    """The estimate used to assume batch 32 (and 32 synthesized samples cap any real batch): a tuned batch_size
    of 8192 passed. Now the case with it is a predicted out-of-memory that names the hyperparameter."""
    x, y = _data()
    report = preflight(TunedBatch(), x, y, memory_budget="1MiB", epochs=1, isolation="off", boundaries=False,
                       rootpath=tmp_path)
    by_id = {c["case.id"]: c for c in report.cases}
    assert by_id["batch_size=8192"]["outcome"] == "oom"
    assert ("at batch_size 8192 (the hyperparameter batch_size), over the memory budget of 1.0 MiB"
            in by_id["batch_size=8192"]["message"])
    assert "Likely fix: batch_size can be 8192: remove it from the values." in by_id["batch_size=8192"]["message"]
    assert by_id["defaults"]["outcome"] == "ok"


def test_the_gated_search_refuses_an_objective_other_than_the_one_preflighted(hypermodel_dir, monkeypatch, capsys):
    """The preflight proved the cases log val_loss: a search for another objective is another question."""
    from pytest_hypermodel.__main__ import main

    result, cases = run_preflight(hypermodel_dir, "--hypermodel", "outcomes.py:healthy", "--hypermodel-objective",
                                  "val_loss", "--hypermodel-report", "r.json", "--hypermodel-boundaries", "off")
    assert result.ret == pytest.ExitCode.OK
    assert {c.properties["case.objective"] for c in cases.values()} == {"val_loss"}
    monkeypatch.chdir(hypermodel_dir.path)
    capsys.readouterr()
    assert main(["search", "outcomes.py:healthy", "--report", "r.json", "--objective", "loss", "--verbose", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "pytest_hypermodel search: the preflight of outcomes.py:healthy in r.json checked the objective val_loss, "
        "and this search's is loss: pass --objective val_loss, or rerun the preflight with --hypermodel-objective loss"
    ]
    assert main(["search", "outcomes.py:healthy", "--report", "r.json", "--objective", "val_loss", "--verbose", "0",
                 "--samples", "8", "--synthesize"]) == 0
