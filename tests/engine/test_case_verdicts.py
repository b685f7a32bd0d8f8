"""What the engine makes of a case that stops the search, of failing defaults, of a huge or hostile space, of a
fit() that returns nothing and of an objective the fit does not log: in this process, on the hypermodels the
plugin's tests run (their pytester runs keep what only a pytest run shows)."""

from __future__ import annotations

import re
import textwrap

import keras
import keras_tuner as kt
import numpy as np
import pytest
from in_process import by_name, preflight_here  # tests/ is on sys.path
from keras import layers

from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.space.target import Target

STOPPERS = {"exits": "SystemExit", "interrupts": "KeyboardInterrupt", "raises_base_exception": "StopsTheSearch"}


def test_a_build_that_exits_or_interrupts_itself_is_a_fatal_case_and_the_run_goes_on(tmp_path):
    """KerasTuner catches Exception only: the search would end there, so the case fails as a search stopper (a
    BaseException subclass of the user's own too, named by its class)."""
    data = preflight_here(tmp_path, *[f"hazards.py:{name}" for name in STOPPERS], "outcomes.py:healthy")
    cases = by_name(data)
    for name, exception in STOPPERS.items():
        bad = cases.pop(f"{name}[size=2]")
        assert (bad["test_outcome"], bad["outcome"], bad["exception"]) == ("failed", "error", exception)
        assert (bad["disposition"], bad["runs"]) == ("fatal", 1)
        assert f"this {exception} would end the whole search process here" in bad["message"]
        [forecast] = [f for f in data["forecasts"] if f["spec"] == f"hazards.py:{name}"]
        assert f"a {exception} stops the search at the first trial that raises it" in forecast["message"]
    assert {n: c["test_outcome"] for n, c in cases.items()} == {
        **{f"{name}[defaults]": "passed" for name in STOPPERS},
        "healthy[defaults]": "passed",
        "healthy[size=2]": "passed",
    }
    assert len(data["cases"]) == 8 and all(h["complete"] for h in data["hypermodels"])


def test_when_the_defaults_fail_at_fit_time_no_value_is_blamed(tmp_path):
    """KerasTuner's HyperImageAugment returns an uncompiled model: the defaults fail, and so does everything else."""
    data = preflight_here(tmp_path, "outcomes.py:uncompiled")
    cases = by_name(data)
    assert {c["outcome"] for c in cases.values()} == {"error"}
    # Told once every case is known: the same failure whatever the values is no value's.
    assert "no hyperparameter is to blame" in cases["uncompiled[defaults]"]["message"]
    others = [c for name, c in cases.items() if name != "uncompiled[defaults]"]
    assert others and all("no hyperparameter is to blame" in c["message"] for c in others)
    [forecast] = data["forecasts"]
    said = " ".join([forecast["message"], *(c["message"] for c in cases.values())])
    assert "lower max_value" not in said and "remove it from the values" not in said
    # Every case fails alike, the defaults among them: no value to constrain, no limit to raise.
    assert "all " in forecast["message"] and "cases fail alike, the defaults among them" in forecast["message"]
    assert forecast["message"].endswith(
        "no hyperparameter is to blame; look at the search's data, its arguments and the code, where the traceback "
        "points, not at the search space"
    )


def _broken_defaults(hp):
    """The article's model has units = -10 by default."""
    units = hp.Int("units", -10, 10, step=20)
    width = hp.Int("width", 1, 3)
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(width), layers.Dense(units)])
    model.compile(loss="mse")
    return model


def test_failing_defaults_are_a_failing_case_not_a_setup_error(tmp_path):
    options = settings.MappingSource(
        {"hypermodel_isolation": "off", "hypermodel_boundaries": "off", "hypermodel_strategy": "extremes,corners"}
    )
    with Engine(settings.read(options), tmp_path) as engine:  # no SpecError: the run is not a usage error
        data = engine.run([Target("broken.py:build", tmp_path / "broken.py", "build", _broken_defaults)])
    cases = by_name(data)
    assert cases["build[defaults]"]["outcome"] == "error"
    assert "the default values already fail" in cases["build[defaults]"]["message"]
    assert cases["build[units=10]"]["test_outcome"] == "passed"  # the rest of the plan still ran
    assert cases["build[width=3]"]["outcome"] == "error"  # units stays at its failing default


def test_a_choice_of_ten_thousand_values_is_planned_at_a_few_and_reported(tmp_path):
    """Its covering array once asked for 7 TiB (the plugin's run ended in an INTERNALERROR, with no JSON and no
    JUnit), and the Int of a billion values beside it was listed whole to find its last value."""
    data = preflight_here(tmp_path, "hostile.py:huge_choice", hypermodel_strategy="corners", hypermodel_max_cases="6")
    assert len(data["cases"]) == 6 and all(c["test_outcome"] == "passed" for c in data["cases"])
    [hypermodel] = data["hypermodels"]
    assert hypermodel["complete"]
    assert hypermodel["capped"] == {"seed": {"planned": 31, "values": 10_000}}


FIT_RETURNS = textwrap.dedent(
    """
    import keras
    import keras_tuner as kt


    class Returns(kt.HyperModel):
        value = None

        def build(self, hp):
            model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(hp.Choice("units", [1, 2]))])
            model.compile(loss="mse", optimizer="sgd")
            return model

        def fit(self, hp, model, *args, **kwargs):
            model.fit(*args, **kwargs)
            return self.value


    class ReturnsNone(Returns):
        pass


    class ReturnsText(Returns):
        value = "done"
    """
)
FIT_SAYS = {
    "ReturnsNone": "The return value of HyperModel.fit() is None",
    "ReturnsText": "Expected the return value of HyperModel.fit() to be",
}


def test_fit_returning_none_or_text_stops_the_search_as_kerastuner_does(tmp_path):
    """KerasTuner's FatalTypeError at the end of the first trial, found by the preflight."""
    namespace: dict = {}
    exec(compile(FIT_RETURNS, "returns.py", "exec"), namespace)
    options = settings.MappingSource(
        {"hypermodel_isolation": "off", "hypermodel_boundaries": "off", "hypermodel_epochs": "1"}
    )
    with Engine(settings.read(options), tmp_path) as engine:
        data = engine.run(
            [Target(f"returns.py:{name}", tmp_path / "returns.py", name, namespace[name]()) for name in FIT_SAYS]
        )
    for name, says in FIT_SAYS.items():
        cases = [c for c in data["cases"] if c["case.spec"] == f"returns.py:{name}"]
        assert cases
        for case in cases:
            assert (case["outcome"], case["exception"]) == ("fatal", "FatalTypeError")
            assert says in case["message"] and "make HyperModel.fit return" in case["message"]
        [forecast] = [f for f in data["forecasts"] if f["spec"] == f"returns.py:{name}"]
        assert "FatalTypeError" in forecast["message"]

        # The same code, in a real search.
        tuner = kt.RandomSearch(namespace[name](), objective="loss", max_trials=3, directory=tmp_path / name)
        x, y = np.zeros((8, 4), "float32"), np.zeros((8, 1), "float32")
        with pytest.raises(kt.errors.FatalTypeError, match=re.escape(says)):
            tuner.search(x, y, epochs=1, verbose=0)
        assert len(tuner.oracle.trials) == 1  # stopped at the end of its first trial


def test_an_objective_the_fit_does_not_log_fails_the_cases_with_the_fix(tmp_path):
    """``--hypermodel-objective val_accuracy`` on a model compiled without metrics."""
    data = preflight_here(tmp_path, "outcomes.py:healthy", hypermodel_objective="val_accuracy")
    assert data["cases"] and all(c["exception"] == "KeyError" for c in data["cases"])
    assert all(c["test_outcome"] == "failed" for c in data["cases"])
    assert all(
        "Likely fix: KerasTuner's objective val_accuracy is not among the fit's logs (loss, val_loss): compile the "
        "metric it names" in c["message"]
        for c in data["cases"]
    )
