"""One culprit analysis: the cases' "Likely fix", the forecast, the boundaries and the renderers name the same values.

A corner that fails because one of its values fails alone used to be told "the combination of
conv_blocks, filters_1 fails", while the forecast and the boundaries named conv_blocks alone.
"""

from __future__ import annotations

import keras
import keras_tuner as kt
import pytest
from keras import layers

from pytest_hypermodel import HypermodelWarning
from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.probe import screen
from pytest_hypermodel.space.target import Target
from pytest_hypermodel.views import readback as report_view

#: The extremes and corners: these tests name the cases that fail.
OFF = {
    "hypermodel_isolation": "off",
    "hypermodel_epochs": "1",
    "hypermodel_boundaries": "off",
    "hypermodel_strategy": "extremes,corners",
    "hypermodel_rehearsal": "off",  # the cases' and the forecast's words are the subject, not a rehearsed search
}


def _too_large(limit: int):
    def build(hp):
        units_1 = hp.Int("units_1", 10, 40, step=10)
        units_2 = hp.Int("units_2", 10, 30, step=10)
        model = keras.Sequential(
            [keras.Input(shape=(20,)), layers.Dense(units_1), layers.Dense(units_2), layers.Dense(1)]
        )
        model.compile(loss="mse")
        if units_1 + units_2 > limit:
            raise ValueError(f"{units_1} + {units_2} units are too many")
        return model

    return build


def _run(tmp_path, build, **extra) -> dict:
    with Engine(settings.read(settings.MappingSource({**OFF, **extra})), tmp_path) as engine:
        return engine.run([Target("guide", tmp_path / "guide.py", "guide", build)])


def _messages(data: dict) -> dict[str, str]:
    return {c["case.id"]: c.get("message", "") for c in data["cases"] if c["test_outcome"] == "failed"}


def test_a_corner_that_a_failing_value_explains_blames_that_value_as_the_forecast_and_the_report_do(tmp_path):
    """The failed-trials guide's sizes: units_1=40 fails alone, so the corner units_1=40, units_2=30 says so."""
    data = _run(tmp_path, _too_large(limit=45), hypermodel_max_abort_risk="0.1")  # the forecast says ~25%
    messages = _messages(data)
    assert set(messages) == {"units_1=40", "units_1=40-units_2=30"}
    corner = messages["units_1=40-units_2=30"]
    assert corner.endswith("Likely fix: units_1=40 fails alone (lower max_value) (units_2 is not to blame).")
    (forecast,) = data["forecasts"]
    assert "constrain units_1," in forecast["message"]
    (model,) = report_view.hypermodels(data)
    assert [c.names for c in model.culprits()] == [("units_1",)]


def test_a_combination_is_blamed_only_when_each_of_its_values_passes_alone(tmp_path):
    data = _run(tmp_path, _too_large(limit=55))  # 40 + 10 and 10 + 30 pass; 40 + 30 does not
    messages = _messages(data)
    assert set(messages) == {"units_1=40-units_2=30"}
    assert (
        "Likely fix: the combination of units_1, units_2 fails: constrain them together"
        in messages["units_1=40-units_2=30"]
    )
    (model,) = report_view.hypermodels(data)
    assert [c.names for c in model.culprits()] == [("units_1", "units_2")]


def test_a_corner_probed_before_its_values_probes_them_once(tmp_path):
    """Under xdist a worker can run a corner before the extremes: it probes the one-value cases inside it then,
    and the planned extreme reuses that result instead of probing again."""
    options = settings.read(settings.MappingSource(OFF))
    with Engine(options, tmp_path) as engine:
        pre = engine.prepare([Target("guide", tmp_path / "guide.py", "guide", _too_large(limit=45))])[0]
        probed = []
        original = engine.probe

        def counting(pre, case, *args, **kwargs):
            probed.append(case.id)
            return original(pre, case, *args, **kwargs)

        engine.probe = counting
        by_id = {case.id: case for case in pre.plan}
        corner = engine.run_case(pre, by_id["units_1=40-units_2=30"])
        assert "units_1=40 fails alone" in corner.message
        assert sorted(probed) == ["units_1=40", "units_1=40-units_2=30", "units_2=30"]
        extreme = engine.run_case(pre, by_id["units_1=40"])
        assert extreme.verdict == "fail" and "units_1 can be 40: lower max_value" in extreme.message
        assert len(probed) == 3


def _stack(hp):
    """num_layers=3 with a wide layer after the first fails; each value alone, and the first layer, do not.

    Each width is 1 or 8 (the plan's extremes and corners of 1..8 are those two): a space of 24 configurations,
    which the screen builds whole rather than sampling 256 draws of it."""
    num_layers = hp.Int("num_layers", 1, 3)
    widths = [hp.Int(f"units_{i}", 1, 8, step=7) for i in range(num_layers)]
    if num_layers == 3 and max(widths[1:]) == 8:
        raise ValueError("too wide for three layers")
    model = keras.Sequential([keras.Input(shape=(20,)), *[layers.Dense(w) for w in widths], layers.Dense(1)])
    model.compile(loss="mse")
    return model


def test_a_corner_explained_by_smaller_combinations_is_told_as_the_forecast_tells_them(tmp_path, monkeypatch):
    # A quarter of the space fails (num_layers=3 with an 8 after the first layer) and one FAILED trial aborts this
    # search: the forecast fails the run once the screen has built the space, which its 3 seconds could cut short on
    # a loaded machine (then it may build none that fail).
    monkeypatch.setattr(screen, "SCREEN_SECONDS", 600.0)
    data = _run(tmp_path, _stack, hypermodel_max_consecutive_failed_trials="1")
    (forecast,) = data["forecasts"]
    assert "constrain num_layers together with any of units_1, units_2" in forecast["message"]
    messages = _messages(data)
    corners = [m for m in messages.values() if "units_0=8" in m.split(" -> ")[0]]
    assert corners and all(
        m.endswith("Likely fix: constrain num_layers together with any of units_1, units_2 (units_0 is not to blame).")
        for m in corners
    ), corners


def _broken_defaults(hp):
    units = hp.Int("units", 0, 8, step=4)
    if units == 0:  # the default (Keras 3.1 on TensorFlow 2.16 aborts the process on Dense(0) rather than raise)
        raise ValueError("units must be positive")
    model = keras.Sequential([keras.Input(shape=(20,)), layers.Dense(units), layers.Dense(1)])
    model.compile(loss="mse")
    return model


def test_defaults_that_fail_to_build_say_the_search_never_starts(tmp_path):
    """KerasTuner builds the defaults in the tuner's constructor, so no trial is marked FAILED."""
    with pytest.warns(HypermodelWarning, match="the build with the default values failed"):
        data = _run(tmp_path, _broken_defaults)
    (defaults,) = [c for c in data["cases"] if c["case.id"] == "defaults"]
    assert (
        "KerasTuner builds the defaults in the tuner's constructor, outside any trial: the tuner cannot be "
        "created, so the search never starts."
    ) in defaults["message"]
    assert "FAILED after one run" not in defaults["message"]
    with pytest.raises(ValueError):  # the tuner itself cannot be made
        kt.RandomSearch(_broken_defaults, objective="loss", max_trials=2, directory=tmp_path / "kt")
