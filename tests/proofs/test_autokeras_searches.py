"""AutoKeras's own search, proved against the preflight: ``preflight(clf, x, y)`` says what ``clf.fit(x, y)`` does.

AutoKeras 3 is built on KerasTuner: its ``AutoModel.fit`` adapts and analyses the data, and its tuner's own
``search()`` sets the hypermodel's input and output shapes from it and builds the defaults before KerasTuner's
trials, which read ``kwargs["x"]``. The preflight runs that code itself. With AutoKeras 3.0 and this Keras, the head's
``Dense`` is given a NumPy integer (the output shape AutoKeras reads from the data) and refuses it: ``clf.fit`` raises
before its first trial, and the preflight is red for that reason. With that one line of AutoKeras fixed (the shapes
given as Python ints, as ``Graph.set_io_shapes`` would need), ``clf.fit`` completes and the preflight is green.
"""

from __future__ import annotations

import numpy as np
import pytest

import pytest_hypermodel as ph

ak = pytest.importorskip("autokeras")

#: What Keras says of the NumPy integer AutoKeras 3.0 gives the head's Dense.
DENSE_UNITS = "Received an invalid value for `units`"


def _python_int_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """AutoKeras's ``Graph.set_io_shapes``, with the shapes as Python ints (its one-line fix)."""
    import tree
    from autokeras import graph

    def set_io_shapes(self, shapes):
        for node, shape in zip(self.inputs, tree.flatten(shapes[0])):
            node.shape = tuple(int(d) for d in shape[1:])
        for node, shape in zip(self.outputs, tree.flatten(shapes[1])):
            node.in_blocks[0].shape = tuple(int(d) for d in shape[1:])

    monkeypatch.setattr(graph.Graph, "set_io_shapes", set_io_shapes)


def _structured(directory, name):
    return ak.StructuredDataClassifier(max_trials=2, directory=str(directory), project_name=name, seed=1)


def _image(directory, name):
    """AutoKeras's ``ImageClassifier``, its image block held to plain convolutions without normalization or
    augmentation by the tuner's own hyperparameters (KerasTuner's "Tailor the search space", which AutoKeras passes
    to its tuner): its whole space builds ResNets, Xceptions and EfficientNets, many minutes of discovery on a CPU,
    and its pretrained weights would be downloads. One trial: its second draws a conv stack that fits for a minute."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    hp.Fixed("image_block_1/block_type", "vanilla")
    hp.Fixed("image_block_1/normalize", False)
    hp.Fixed("image_block_1/augment", False)
    return ak.ImageClassifier(
        max_trials=1, directory=str(directory), project_name=name, seed=1, hyperparameters=hp, tune_new_entries=True
    )


def _data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if kind == "structured":
        return rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, 64)
    return rng.normal(size=(32, 8, 8, 1)).astype("float32"), rng.integers(0, 2, 32)


CLASSIFIERS = [
    pytest.param(_structured, "structured", id="StructuredDataClassifier"),
    pytest.param(_image, "image", id="ImageClassifier"),
]


@pytest.mark.parametrize(("make", "kind"), CLASSIFIERS)
def test_red_where_fit_breaks_for_the_reason_it_breaks(tmp_path, make, kind):
    x, y = _data(kind)
    with pytest.raises(ValueError, match=DENSE_UNITS):
        make(tmp_path, "fit").fit(x, y, epochs=1, verbose=0)

    report = ph.preflight(make(tmp_path, "preflight"), x, y, epochs=2, max_cases=1)

    assert not report.green
    assert any(DENSE_UNITS in line for line in report.reasons()), report.reasons()
    forecast = report.forecast["message"]
    assert "before its first trial" in forecast and DENSE_UNITS in forecast
    default = next(c for c in report.cases if c["nodeid"].endswith("[defaults]"))
    assert "cannot be created" not in default["message"]  # the tuner exists: its search() builds the defaults
    assert "search() builds the defaults before its first trial" in default["message"]


@pytest.mark.parametrize(("make", "kind"), CLASSIFIERS)
def test_green_where_fit_works(tmp_path, monkeypatch, make, kind):
    _python_int_shapes(monkeypatch)
    x, y = _data(kind)
    make(tmp_path, "fit").fit(x, y, epochs=1, verbose=0)  # completes: the search and the best model's fit

    clf = make(tmp_path, "preflight")
    report = ph.preflight(clf, x, y, epochs=2, max_cases=1)

    assert report.green, report.reasons()
    assert [c["outcome"] for c in report.cases] == ["ok"]
    # The forecast names AutoKeras's tuner, and says that KerasTuner's random oracle stands in for its GreedyOracle
    # (its initial values first, then the best trial's values changed a group at a time).
    forecast = report.forecast
    assert forecast["tuner"] == type(clf.tuner).__name__ != "RandomSearch"
    assert forecast["approximation"] == "its GreedyOracle simulated as RandomSearch's"
    trials = clf.tuner.oracle.max_trials
    within = f"{trials} trials" if trials > 1 else "1 trial"
    assert forecast["message"].startswith(f"{forecast['tuner']} would abort within {within} with probability ")
    assert forecast["approximation"] in forecast["message"]


@pytest.mark.parametrize("classifier", ["StructuredDataClassifier", "ImageClassifier"])
def test_its_tuner_alone_is_refused_with_one_line_naming_the_auto_model(tmp_path, classifier):
    x, y = _data("structured" if classifier == "StructuredDataClassifier" else "image")
    clf = getattr(ak, classifier)(max_trials=2, directory=str(tmp_path), project_name="alone")
    with pytest.raises(ph.PreflightError, match=r"preflight\(clf, x, y\)") as refused:
        ph.preflight(clf.tuner, x, y)
    assert "\n" not in str(refused.value)
