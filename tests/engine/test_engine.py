"""The engine and the Python API, without pytester: a whole preflight from Python, checked against KerasTuner.

The pytest face's own tests (test_plugin and the others) run the same engine through pytester.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras import layers

import pytest_hypermodel
from pytest_hypermodel import Policy, PreflightError, PreflightFailed, preflight
from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.space.target import Target
from tests.hypermodels.guide import LIMIT, guide_grid

pytestmark = pytest.mark.usefixtures("no_memory_growth", "frozen_heap")

ROOT = Path(__file__).parents[2]


def _data(n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 20)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def test_the_engine_forecasts_the_grid_search_abort_that_kerastuner_then_has(tmp_path):
    """DESIGN.md's example: the guide's grid under the default policy; a real GridSearch aborts where forecast."""
    options = settings.MappingSource(
        {
            "hypermodel_tuner": "GridSearch",
            "hypermodel_isolation": "off",
            "hypermodel_boundaries": "off",
            "hypermodel_epochs": "1",
            "hypermodel_strategy": "extremes,corners",  # the widest corner fails; the forecast builds the grid
        }
    )
    build = guide_grid(run_eagerly=True)  # the same grid, fit without tracing
    with Engine(settings.read(options), tmp_path) as engine:
        data = engine.run([Target("guide", tmp_path / "guide.py", "guide", build)])
    (forecast,) = data["forecasts"]
    assert forecast["aborts"] and forecast["fails_run"]
    assert "trial 0009" in forecast["message"]
    failing = {(c["values"]["units_1"], c["values"]["units_2"]) for c in data["cases"] if c["outcome"] != "ok"}
    assert failing and all(20 * u1 + u1 + u1 * u2 + u2 + u2 + 1 > LIMIT for u1, u2 in failing)

    x, y = _data()
    tuner = Policy().tuner(
        kt.GridSearch,
        hypermodel=guide_grid(run_eagerly=True),
        objective="loss",
        directory=tmp_path / "kt",
        project_name="guide",
    )
    with pytest.raises(RuntimeError, match="consecutive failures exceeded the limit of 3"):
        tuner.search(x, y, epochs=1, verbose=0)
    assert max(tuner.oracle.trials) == "0009"  # the search died in the trial the forecast names


def _notebook_build(hp):
    """Defined in a test module but not reachable by its name (see the test): runs in this process."""
    units = hp.Int("units", 8, 64, step=8)
    model = keras.Sequential([keras.Input(shape=(20,)), layers.Dense(units), layers.Dense(1)])
    if units > 32:
        raise ValueError(f"{units} units do not fit")
    model.compile(loss="mse", optimizer="sgd")
    return model


def test_preflight_from_python_returns_a_report_and_guards_the_search(tmp_path):
    build = lambda hp: _notebook_build(hp)  # noqa: E731  a lambda: not importable, as in a notebook
    x, y = _data()
    report = preflight(
        build, x, y, validation_data=(x, y), epochs=1, boundaries=False, rootpath=tmp_path, strategy="extremes,corners"
    )
    assert isinstance(report, pytest_hypermodel.Report)
    assert not report.green
    assert {c["values"]["units"]: c["outcome"] for c in report.cases} == {8: "ok", 64: "error"}
    assert report.failing[0]["exception"] == "ValueError"
    assert report.forecast is not None and report.forecast["tuner"] == "RandomSearch"
    assert json.loads(report.to_json())["summary"]["cases"] == 2
    html = report.html()
    assert "<html" in html and "units" in html
    assert report._repr_html_().startswith('<div class="hypermodel-report"')  # a notebook's: a fragment
    assert "red: fix the space" in str(report)
    assert report.save_html(tmp_path / "r.html").read_text() == html

    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=2, directory=tmp_path, project_name="red")
    report.guard(tuner)
    with pytest.raises(PreflightFailed, match="units=64"):
        tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0)
    assert not tuner.oracle.trials  # refused before the first trial


def test_a_green_preflight_lets_the_guarded_search_run(tmp_path):
    def build(hp):
        model = keras.Sequential(
            [keras.Input(shape=(20,)), layers.Dense(hp.Int("units", 4, 8, step=4)), layers.Dense(1)]
        )
        model.compile(loss="mse", optimizer="sgd")
        return model

    x, y = _data()
    tuner = kt.RandomSearch(
        build,
        objective="val_loss",
        max_trials=1,
        max_consecutive_failed_trials=5,
        directory=tmp_path,
        project_name="green",
    )
    report = preflight(tuner, x, y, validation_data=(x, y), epochs=1, rootpath=tmp_path)
    assert report.green, report.reasons()
    (case, *_) = report.cases
    assert json.loads(case["case.policy"])["max_consecutive_failed_trials"] == 5  # the tuner's, not the default
    assert report.forecast is not None and report.forecast["max_trials"] == 1
    report.guard(tuner).search(x, y, epochs=1, validation_data=(x, y), verbose=0)
    assert len(tuner.oracle.trials) == 1


def test_an_importable_build_runs_in_the_probe_process_and_a_crash_is_its_case(tmp_path):
    from tests.hypermodels.hazards import aborts

    report = preflight(aborts, epochs=1, boundaries=False, rootpath=tmp_path)
    outcomes = {c["values"]["size"]: (c["outcome"], c.get("exception")) for c in report.cases}
    assert outcomes[1] == ("ok", "")
    assert outcomes[2][0] == "crash"
    assert not report.green


class _SlowToCollect:
    def __del__(self):  # a SIGALRM here raises CaseTimeout where Python only prints it ("Exception ignored in")
        time.sleep(0.6)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_time_limit_that_strikes_where_its_error_is_swallowed_still_times_the_case_out(tmp_path):
    """CI once saw a 0.01 s case come out ok: the alarm's CaseTimeout had been raised inside a __del__."""

    def build(hp):
        _SlowToCollect()  # collected at once: the 0.3 s limit strikes inside its __del__
        model = keras.Sequential(
            [keras.Input(shape=(20,)), layers.Dense(hp.Int("units", 4, 8, step=4)), layers.Dense(1)]
        )
        model.compile(loss="mse", optimizer="sgd")
        return model

    x, y = _data()
    report = preflight(build, x, y, epochs=1, timeout=0.3, boundaries=False, rootpath=tmp_path)
    assert {c["outcome"] for c in report.cases} == {"timeout"}


def test_one_epoch_is_said_once_to_be_unable_to_show_a_divergence(tmp_path):
    """A loss that explodes shows from one epoch's loss to the next; with one epoch no case can be
    `diverged`, and the preflight says so once, with the fix."""
    x, y = _data()
    with pytest.warns(pytest_hypermodel.HypermodelWarning) as caught:
        preflight(
            _notebook_build, x, y, epochs=1, strategy="extremes", boundaries=False, rootpath=tmp_path, isolation="off"
        )
    said = [str(w.message) for w in caught if "each case fits one epoch" in str(w.message)]
    assert said == [pytest_hypermodel.engine.engine.ONE_EPOCH] and "use 2 or more" in said[0]
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always")
        preflight(
            _notebook_build, x, y, epochs=2, strategy="extremes", boundaries=False, rootpath=tmp_path, isolation="off"
        )
    assert not [w for w in quiet if "each case fits one epoch" in str(w.message)]


def test_without_a_budget_the_memory_of_the_device_predicts_the_oom(tmp_path):
    """With no --hypermodel-memory-budget a case is held to its device's memory (here the CPU's: half the
    host's), so a corner whose training would not fit is an `oom` predicted before its fit, with no flag."""
    from pytest_hypermodel.probe import devices

    budget, where = devices.memory_budget()
    wide = budget // (4 * 2 * 32) + 1  # activations per example that take the estimate at batch 32 over it

    def build(hp):
        width = hp.Choice("width", [1, wide])
        model = keras.Sequential(
            [keras.Input(shape=(20,)), layers.Dense(1), layers.RepeatVector(width), layers.GlobalAveragePooling1D()]
        )  # no weights of its own: only its activations
        model.compile(loss="mse", optimizer="sgd")
        return model

    x, y = _data()
    report = preflight(build, x, y, epochs=2, boundaries=False, rootpath=tmp_path, isolation="off")
    by_width = {c["values"]["width"]: c for c in report.cases}
    assert by_width[1]["outcome"] == "ok" and by_width[1]["memory_budget"] == budget
    assert (by_width[wide]["outcome"], by_width[wide]["predicted"]) == ("oom", True)
    assert where in by_width[wide]["message"] and "--hypermodel-memory-budget sets another" in by_width[wide]["message"]


def _slow_when_wide(hp):
    units = hp.Choice("units", [4, 64])
    if units == 64:  # what a wide corner costs on a CPU: time, no error
        time.sleep(1.5)
    model = keras.Sequential([keras.Input(shape=(20,)), layers.Dense(units), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def test_a_case_past_the_time_limit_is_time_to_kerastuner_not_a_failed_trial(tmp_path):
    """KerasTuner (and the gated search) sets no time limit on a trial, so a slow corner is a `timeout`
    case that fails the preflight with its own hint, but KerasTuner completes it: no FAILED trial, no abort
    forecast, and a slow default build is no "crash before the first trial". A real GridSearch completes it."""
    x, y = _data()
    report = preflight(
        _slow_when_wide,
        x,
        y,
        epochs=1,
        timeout=1,
        boundaries=False,
        rootpath=tmp_path,
        tuner="GridSearch",
        isolation="off",
    )
    (slow,) = [c for c in report.cases if c["values"]["units"] == 64]
    assert (slow["outcome"], slow["disposition"]) == ("timeout", "completed") and not report.green
    assert "KerasTuner sets no time limit on a trial" in slow["message"]
    assert "raise --hypermodel-timeout" in slow["message"]
    assert not report.forecast["aborts"]
    tuner = kt.GridSearch(_slow_when_wide, objective="loss", directory=tmp_path, project_name="slow")
    tuner.search(x, y, epochs=1, verbose=0)
    assert sorted(t.status for t in tuner.oracle.trials.values()) == ["COMPLETED", "COMPLETED"]
    declared = Policy(on={"timeout": "fail_trial"})
    assert declared.disposition(type("R", (), {"outcome": "timeout", "exception_bases": ()})()).name == "failed"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: preflight(_notebook_build, stratgy="extremes"), "unknown settings stratgy"),
        (lambda: preflight(_notebook_build, strategy="edges", isolation="off"), "strategy: unknown strategy edges"),
        (lambda: preflight(lambda hp: _notebook_build(hp), isolation="process"), "not importable from a module"),
        (
            lambda: preflight(lambda hp: keras.Sequential([layers.Dense(hp.Int("u", 1, 2))]), epochs=1),
            "pass input_shape=(28, 28)",
        ),
        (lambda: preflight(_notebook_build, data=_data(), x=_data()[0], isolation="off"), "either data= or x"),
    ],
)
def test_bad_input_to_the_api_is_one_line_naming_the_fix(call, message):
    with pytest.raises(PreflightError, match=None) as info:
        call()
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.proof  # a process of its own, importing the backend; import-linter's contract checks the imports statically
def test_the_engine_runs_where_pytest_cannot_be_imported(tmp_path):
    """The engine and the API import no pytest: a preflight in a process where importing it fails."""
    script = textwrap.dedent("""
        import sys
        sys.modules["pytest"] = sys.modules["_pytest"] = None  # any import of pytest now raises ImportError
        import keras
        import pytest_hypermodel

        def build(hp):
            model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(hp.Choice("u", [1, 2]))])
            model.compile(loss="mse", optimizer="sgd")
            return model

        report = pytest_hypermodel.preflight(build, epochs=1, isolation="off", rehearsal=False)
        print("GREEN" if report.green else "RED", len(report.cases))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-2:] == ["GREEN", "2"]


@pytest.mark.parametrize(("name", "read"), [("subclass_reads_hp_in_call", "scale"), ("lambda_reads_hp", "gain")])
def test_a_hyperparameter_read_when_the_model_runs_is_planned_as_kerastuner_tunes_it(tmp_path, name, read):
    """KerasTuner's constructor never runs the model; its first trial does, and the search tunes what registers
    then. Discovery runs the defaults' model once (it runs code of its own), so the plan varies it too."""
    from tests.hypermodels import runtime

    build = getattr(runtime, name)
    report = preflight(
        build, epochs=1, boundaries=False, input_shape=(4,), rootpath=tmp_path, isolation="off", strategy="extremes"
    )
    assert {c["values"][read]: c["outcome"] for c in report.cases if c["case.kind"] != "corner"} == {
        1.0: "ok",
        1e30: "nan",
    }

    x, y = np.ones((8, 4), "float32"), np.ones((8, 1), "float32")
    tuner = kt.RandomSearch(build, objective="loss", max_trials=6, seed=3, directory=tmp_path, project_name=name)
    assert read not in [hp.name for hp in tuner.oracle.hyperparameters.space]  # the constructor did not run it
    with contextlib.suppress(RuntimeError):  # three NaN trials in a row end the search
        tuner.search(x, y, epochs=1, verbose=0)
    assert read in [hp.name for hp in tuner.oracle.hyperparameters.space]
    assert 1e30 in {t.hyperparameters.values.get(read) for t in tuner.oracle.trials.values()}


def test_what_fit_declares_is_found_on_the_search_s_data(tmp_path):
    """The getting-started guide's MyHyperModel declares ``shuffle`` in fit() and has no keras.Input: discovery
    fits it on the data given (once it could only on synthesized data, which needs an input shape), so the plan
    varies ``shuffle``, which KerasTuner tunes from its first trial on."""
    from tests.hypermodels.guides import MyHyperModel

    x = np.random.default_rng(0).random((32, 28, 28)).astype("float32")
    y = keras.utils.to_categorical(np.arange(32) % 10, 10)
    report = preflight(
        MyHyperModel(), x, y, epochs=1, boundaries=False, rootpath=tmp_path, isolation="off", strategy="extremes"
    )
    assert {c["values"]["shuffle"] for c in report.cases} == {False, True}

    tuner = kt.RandomSearch(MyHyperModel(), objective="loss", max_trials=1, directory=tmp_path, project_name="fit")
    assert "shuffle" not in [hp.name for hp in tuner.oracle.hyperparameters.space]
    tuner.search(x, y, epochs=1, verbose=0)
    assert "shuffle" in [hp.name for hp in tuner.oracle.hyperparameters.space]


def test_a_script_without_a_main_guard_runs_its_preflight_in_a_probe_process(tmp_path):
    """``python train.py`` whose top level calls preflight(): the probe process is spawned, and spawn imports the
    main script again in it; without ``if __name__ == "__main__":`` its preflight would start there once more (the
    child died, and the message sent the user to import the model file)."""
    (tmp_path / "model.py").write_text(
        textwrap.dedent("""
        import keras

        def build(hp):
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 1, 4)),
                                      keras.layers.Dense(1)])
            model.compile(loss="mse")
            return model
        """)
    )
    (tmp_path / "train.py").write_text(
        textwrap.dedent("""
        import os, pathlib
        from pytest_hypermodel import preflight

        pathlib.Path(os.environ["RAN_LOG"]).open("a").write("ran\\n")  # beside the project, which is put back
        report = preflight("model.py:build", epochs=1, boundaries=False, rehearsal=False, strategy="extremes")
        print("green" if report.green else "red", report.hypermodels[0]["cases"])
        """)
    )
    package_root = str(Path(pytest_hypermodel.__file__).parents[1])
    done = subprocess.run(
        [sys.executable, "train.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": package_root, "RAN_LOG": str(tmp_path.parent / f"{tmp_path.name}-ran.log")},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "green 2"  # the defaults and units=4
    assert (
        tmp_path.parent / f"{tmp_path.name}-ran.log"
    ).read_text() == "ran\n"  # the script's body ran once: not again in the child
