"""The search's data, checked as ``tuner.search`` takes it before any case, and no value blamed for what fails
whatever the values (real Keras models, real fits; the real searches are in proofs/test_search_data_searches.py)."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from pytest_hypermodel import preflight
from pytest_hypermodel.engine import progress, settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.probe import data as data_mod
from pytest_hypermodel.probe import search_data
from pytest_hypermodel.space.target import Target
from tests.hypermodels.guide import guide_grid
from tests.hypermodels.health_examples import CLASSES, classifier

pytestmark = pytest.mark.usefixtures("no_memory_growth")


def _arrays(n: int = 64):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 8)).astype("float32"), rng.integers(0, CLASSES, size=(n,))


def _run(
    tmp_path: Path, data, build=classifier, boundaries: str = "on", tuner: str = "RandomSearch", strategy: str = ""
):
    """A whole preflight in this process: the payload, the findings, and the progress lines in order. ``strategy``:
    ``"default"`` where the search's data is the subject and the defaults case is enough to show it."""
    options = {
        "hypermodel_isolation": "off",
        "hypermodel_boundaries": boundaries,
        "hypermodel_epochs": "2",
        "hypermodel_tuner": tuner,
        **({"hypermodel_strategy": strategy} if strategy else {}),
    }
    lines: list[str] = []
    with Engine(settings.read(settings.MappingSource(options)), tmp_path) as engine:
        engine.progress = progress.Progress(lines.append)
        payload = engine.run([Target("models.py:build", tmp_path / "models.py", "build", build)], data)
    return payload, engine.findings, lines


def _no_value_blamed(payload) -> None:
    text = " ".join(c.get("message", "") for c in payload["cases"]) + payload["forecasts"][0]["message"]
    blames = ("lower max_value", "raise min_value", "remove it from the values", "fails alone", "constrain ")
    assert not any(blame in text for blame in blames) and not re.search(r"\w+ can be \S+:", text)
    assert not any(h.get("boundaries") or h.get("repair") for h in payload["hypermodels"])


def test_a_generator_as_search_data_is_used_up_by_the_first_trial_and_no_value_is_blamed(tmp_path):
    x, y = _arrays()

    def batches():
        for start in range(0, len(x), 16):
            yield x[start : start + 16], y[start : start + 16]

    payload, findings, lines = _run(tmp_path, {"x": batches(), "epochs": 2})
    [finding] = findings
    assert finding.check == "data_used_up" and finding.spec == "models.py:build"
    assert "x is a generator, which can be iterated once" in finding.message
    assert "keras.utils.PyDataset" in finding.fix and "a function (model, values)" in finding.fix
    # Told before any case: the line comes before discovery's planned line, which precedes the cases.
    told = next(i for i, line in enumerate(lines) if "[data_used_up]" in line)
    assert told < next(i for i, line in enumerate(lines) if "cases planned" in line)
    # The preflight's own cases show it: the first uses it up, the later ones fail, each blamed on the data.
    outcomes = [c["outcome"] for c in payload["cases"]]
    assert outcomes[0] == "ok" and set(outcomes[1:]) == {"error"}
    later = payload["cases"][1:]
    assert all("Likely fix: the search's data, not a hyperparameter" in c["message"] for c in later)
    _no_value_blamed(payload)
    forecast = payload["forecasts"][0]
    assert forecast["aborts"] and forecast["abort_probability"] == 1.0
    assert "the first case passes and the 3 after it all fail alike" in forecast["message"]
    assert any("no boundary searched" in line for line in lines)


def test_a_grid_search_over_a_generator_blames_no_value(tmp_path):
    x, y = _arrays()
    payload, findings, _ = _run(tmp_path, {"x": (b for b in [(x, y)]), "epochs": 1}, tuner="GridSearch")
    assert [f.check for f in findings] == ["data_used_up"]
    forecast = payload["forecasts"][0]
    assert forecast["aborts"] and "the first case passes and the 3 after it all fail alike" in forecast["message"]
    _no_value_blamed(payload)


def test_a_finite_dataset_shorter_than_its_steps_and_epochs_is_found(tmp_path):
    x, y = _arrays()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)  # 4 batches, no repeat()
    payload, findings, _ = _run(
        tmp_path, {"x": dataset, "epochs": 3, "steps_per_epoch": 3}, boundaries="off", strategy="default"
    )
    [finding] = findings
    assert finding.check == "data_too_short"
    assert "holds 4 batches" in finding.message and "Keras runs 7 of the 9 training steps" in finding.message
    assert ".repeat()" in finding.fix
    assert {c["outcome"] for c in payload["cases"]} == {"ok"}  # the cases' few batches do not show it

    repeated = {"x": dataset.repeat(), "epochs": 3, "steps_per_epoch": 3}
    assert search_data.examine(repeated) == []


def test_validation_split_with_a_dataset_is_an_argument_keras_rejects_and_every_case_blames_it(tmp_path):
    x, y = _arrays()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    payload, findings, _ = _run(tmp_path, {"x": dataset, "validation_split": 0.2})
    [finding] = findings
    assert finding.check == "data_arguments" and "validation_split=0.2 with x as a tf.data.Dataset" in finding.message
    assert "validation_data=" in finding.fix
    assert {c["outcome"] for c in payload["cases"]} == {"error"}  # Keras's ValueError, in every case
    assert all("validation_split" in c["message"] for c in payload["cases"])
    _no_value_blamed(payload)


def test_y_beside_a_dataset_is_an_argument_keras_rejects():
    x, y = _arrays()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    [issue] = search_data.examine({"x": dataset, "y": y})
    assert issue.check == "data_arguments" and "y= is given too" in issue.message
    with pytest.raises(ValueError, match="`y` should not be passed"):  # what Keras does with it
        classifier_model().fit(dataset, y, verbose=0)


def classifier_model():
    import keras_tuner as kt

    return classifier(kt.HyperParameters())


def test_class_ids_past_the_outputs_units_are_found_and_every_failure_is_the_data_s(tmp_path):
    x, y = _arrays()
    payload, findings, _ = _run(tmp_path, (x, y + CLASSES))
    [finding] = findings
    assert finding.check == "labels_outside_outputs"
    assert f"class ids from {CLASSES} to {2 * CLASSES - 1}" in finding.message
    assert f"{CLASSES} units" in finding.message and f"{2 * CLASSES} or more" in finding.fix
    assert {c["outcome"] for c in payload["cases"]} == {"error"}
    assert "fix the build function or the defaults" not in " ".join(c["message"] for c in payload["cases"])
    _no_value_blamed(payload)


def test_labels_that_the_outputs_take_raise_no_finding(tmp_path):
    """No false alarm: the guide's grid on its usual regression data, and the classifier on its class ids."""
    rng = np.random.default_rng(0)
    guide_data = (rng.normal(size=(32, 20)).astype("float32"), rng.normal(size=(32, 1)).astype("float32"))
    _, findings, _ = _run(
        tmp_path / "guide", guide_data, build=guide_grid(error=None), boundaries="off", strategy="default"
    )
    assert findings == []
    _, findings, _ = _run(tmp_path / "classifier", _arrays(), boundaries="off", strategy="default")
    assert findings == []


def test_one_hot_and_binary_labels_against_the_outputs():
    """The outputs as the probe describes a compiled model; labels of the wrong width, or outside [0, 1]."""
    inputs = keras.Input(shape=(4,))
    model = keras.Model(
        inputs,
        {
            "kind": layers.Dense(3, activation="softmax", name="kind")(inputs),
            "flag": layers.Dense(1, activation="sigmoid", name="flag")(inputs),
        },
    )
    model.compile(loss={"kind": "categorical_crossentropy", "flag": "binary_crossentropy"})
    outputs = data_mod.describe_outputs(model)
    assert outputs is not None and {(o.name, o.units, o.loss) for o in outputs} == {
        ("kind", 3, "onehot"),
        ("flag", 1, "binary"),
    }
    x = np.zeros((6, 4), "float32")
    good = {"kind": np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2]], "flag": np.array([0, 1, 0, 1, 1, 0])}
    assert search_data.examine((x, good), outputs) == []
    bad = {"kind": np.eye(4, dtype="float32")[[0, 1, 2, 3, 1, 2]], "flag": np.array([0, 1, 2, 1, 1, 0])}
    issues = search_data.examine((x, bad), outputs)
    assert [i.check for i in issues] == ["labels_outside_outputs"] * 2
    assert "one-hot labels 3 wide" in issues[0].message and "binary crossentropy" in issues[1].message
    with pytest.raises(ValueError):  # Keras's loss refuses the width
        model.fit(x, bad, epochs=1, verbose=0)


def test_the_api_preflight_of_a_generator_says_so_before_any_case(tmp_path, capsys):
    x, y = _arrays()

    def batches():
        for start in range(0, len(x), 16):
            yield x[start : start + 16], y[start : start + 16]

    report = preflight(classifier, batches(), isolation="off", boundaries="off", epochs=1, verbose=True)
    err = capsys.readouterr().err
    assert "[data_used_up] x is a generator" in err
    assert not any(re.search(r"\w+ can be \S+:", c.get("message", "")) for c in report.cases)


def test_hyperband_s_max_epochs_not_the_search_s_epochs_is_what_a_finite_dataset_must_last(tmp_path):
    """Hyperband sets each trial's epochs (up to max_epochs) over the search's ``epochs=1``: a dataset that lasts
    one epoch of its steps falls short of its longest trials (``proofs/test_search_data_searches.py``)."""
    import keras_tuner as kt

    x, y = _arrays()
    tuner = kt.Hyperband(classifier, objective="loss", max_epochs=3, directory=tmp_path, project_name="h")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)  # 4 batches, no repeat()
    data = {"x": dataset, "epochs": 1, "steps_per_epoch": 3}
    [finding] = [f for f in preflight(tuner, data=data, strategy="default", isolation="off").findings]
    assert finding.check == "data_too_short"
    assert "epochs=3 (Hyperband's max_epochs" in finding.message and "Keras runs 7 of the 9" in finding.message
    assert search_data.examine(data) == []  # the search's own epochs=1 would be long enough
