"""A hyperparameter that exists only under another's value is never named as that value's partner.

A conv stack whose blocks shrink a 28x28 image fails at ``conv_blocks=4`` with ``kernel_size=5``: ``filters_3``
exists only when ``conv_blocks=4``, so it cannot be conv_blocks's partner; ``kernel_size`` is. The cases, the
forecast, the HTML and the annotations name the same two (the boundaries: tests/unit/test_bystander_rules.py).
"""

from __future__ import annotations

import re

import keras
import pytest
from keras import layers

from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.space.target import Target
from pytest_hypermodel.views import github, html
from pytest_hypermodel.views import readback as report_view

pytestmark = pytest.mark.usefixtures("no_memory_growth")

IMAGE = 28
DEPENDENTS = ("filters_1", "filters_2", "filters_3")


def conv_stack(hp):
    """Per block two valid convolutions: each takes kernel_size - 1 pixels off twice, so four blocks of 5x5
    kernels take 32 from a 28x28 image (nothing is left), while 3x3 kernels leave 12."""
    kernel = hp.Choice("kernel_size", [3, 5])
    model = keras.Sequential([keras.Input((IMAGE, IMAGE, 1))])
    for i in range(hp.Int("conv_blocks", 1, 4)):
        filters = hp.Int(f"filters_{i}", 4, 8, step=4)
        model.add(layers.Conv2D(filters, kernel, activation="relu"))
        model.add(layers.Conv2D(filters, kernel, activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_a_conv_stack_names_conv_blocks_and_kernel_size_not_the_filters_that_exist_only_there(tmp_path):
    chosen = settings.read(
        settings.MappingSource(
            {
                "hypermodel_isolation": "off",
                "hypermodel_epochs": "1",
                "hypermodel_samples": "8",  # the failing builds fail before any fit: the fits' size is not the subject
                "hypermodel_boundaries": "off",  # the boundaries' own test is tests/unit/test_bystander_rules.py
                # The forecast aborts, and so says what to constrain.
                "hypermodel_max_consecutive_failed_trials": "1",
                # An eighth of the space fails: 10 trials abort with 74% probability (KerasTuner's oracle draws
                # 10 trials a seed here, not 30: a third of the draws to make and judge).
                "hypermodel_max_trials": "10",
                "hypermodel_max_abort_risk": "0.01",
                "hypermodel_rehearsal": "off",
            }
        )
    )
    with Engine(chosen, tmp_path) as engine:
        data = engine.run([Target("stack", tmp_path / "stack.py", "conv_stack", conv_stack)])
    failed = {c["case.id"]: c.get("message", "") for c in data["cases"] if c["test_outcome"] == "failed"}
    assert failed and all(case.startswith("kernel_size=5-conv_blocks=4") for case in failed)  # the image shrank
    for case, message in failed.items():
        fix = message.partition("Likely fix:")[2]
        assert "kernel_size, conv_blocks" in fix, (case, fix)
        assert not any(name in fix for name in DEPENDENTS), (case, fix)
    (forecast,) = data["forecasts"]
    assert "constrain kernel_size, conv_blocks together," in forecast["message"]
    assert not any(name in forecast["message"] for name in DEPENDENTS)
    (entry,) = data["hypermodels"]
    assert entry["requires"] == {name: ["conv_blocks"] for name in DEPENDENTS}
    (model,) = report_view.hypermodels(data)
    assert [c.names for c in model.culprits()] == [("kernel_size", "conv_blocks")]
    page = html.render(data)
    assert "kernel_size=5-conv_blocks=4 together" in page
    assert not re.search(r"filters_[123]=\d+ together|any of filters", page)
    notes = github.annotations(data, tmp_path)
    titles = [line.partition("title=")[2].partition("::")[0] for line in notes]
    assert any(title.startswith("stack%3A kernel_size=5-conv_blocks=4 together") for title in titles), titles
    # Case ids list every value a case moved; no culprit or fix names a filters_N beside conv_blocks.
    assert not any(
        re.search(r"filters_[123]=\d+ together|any of filters|constrain[^.]*filters", line) for line in notes
    )
