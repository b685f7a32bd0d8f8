"""Models as users pass them to KerasTuner: the keras-io guides as published, with no keras.Input."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import HYPERMODELS, run_preflight

NO_INPUT = (
    "ERROR: --hypermodel guides.py:build_model: the model declares no input shape (no keras.Input), so no data can be "
    "synthesized for it: pass --hypermodel-input-shape (e.g. 28,28; ini hypermodel_input_shape), start the model with "
    "keras.Input(shape=...), or override the hypermodel_data fixture in conftest.py"
)


def test_a_model_without_input_is_one_line_naming_the_fixes_not_failing_cases(hypermodel_dir):
    """The getting-started guide's model is fine: its missing Input is the harness's problem, said once."""
    result = hypermodel_dir.runpytest_subprocess("-p", "no:cacheprovider", "--hypermodel", "guides.py:build_model",
                                                 "--junitxml=out.xml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([NO_INPUT])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not (hypermodel_dir.path / "out.xml").exists()  # no case ran, so none failed


def test_guide_models_with_their_input_shape_are_green(hypermodel_dir):
    """With the shape of one MNIST image every case completes, and no forecast says the search would abort (under
    xdist, as users run it; test_xdist_report_equals_the_serial_one holds the two modes to one report)."""
    report = hypermodel_dir.path / "preflight.json"
    result, cases = run_preflight(
        hypermodel_dir, "--hypermodel", "guides.py:build_model", "--hypermodel", "guides.py:MyHyperModel",
        "--hypermodel-input-shape", "28,28", "--hypermodel-epochs", "1", "--hypermodel-report", str(report), "-n", "2",
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert cases and {c.properties["outcome"] for c in cases.values()} == {"ok"}
    assert {"MyHyperModel[shuffle=True]", "build_model[num_layers=3]"} <= set(cases)  # fit()'s own hyperparameter
    assert result.stdout.str().count("each case fits one epoch") == 1  # --hypermodel-epochs 1: said once
    data = json.loads(report.read_text())
    assert [f["aborts"] for f in data["forecasts"]] == [False, False]


def test_the_input_shape_comes_from_the_ini_and_the_user_s_data_needs_none(hypermodel_dir):
    (hypermodel_dir.path / "pytest.ini").write_text("[pytest]\nhypermodel_input_shape = 28,28\n")
    result, cases = run_preflight(hypermodel_dir, "--hypermodel", "guides.py:MyHyperModel", "--hypermodel-epochs", "1")
    assert result.ret == pytest.ExitCode.OK and len(cases) == 4
    (hypermodel_dir.path / "pytest.ini").unlink()
    hypermodel_dir.makeconftest(
        "import numpy as np, pytest\n\n@pytest.fixture\ndef hypermodel_data():\n"
        "    return np.zeros((16, 28, 28), 'float32'), np.eye(10, dtype='float32')[np.arange(16) % 10]\n"
    )
    result, cases = run_preflight(hypermodel_dir, "--hypermodel", "guides.py:MyHyperModel", "--hypermodel-epochs", "1")
    assert result.ret == pytest.ExitCode.OK and {c.properties["outcome"] for c in cases.values()} == {"ok"}
    # Discovery fits on the fixture's data (issue 21): the fit()'s own hyperparameter is planned, and no warning.
    assert "MyHyperModel[shuffle=True]" in cases
    assert "did not run during discovery" not in result.stdout.str()


def test_a_hyperparameter_shared_by_build_and_fit_is_discovered_on_the_fixture_s_data(hypermodel_dir, tmp_path):
    """The getting-started guide's HyperModel that crops the search's images in fit() to the size its build
    tunes: on data synthesized from its input its fit() cannot run, and discovery once blamed the defaults
    ("RandomSearch would crash before its first trial"). With conftest.py's hypermodel_data fixture (one that
    needs another fixture, as users write them), discovery fits on that data: every hyperparameter fit()
    declares is planned, every case completes, as every trial of a real RandomSearch on the same data does."""
    import keras_tuner as kt
    import numpy as np

    sys.path.insert(0, str(HYPERMODELS))
    from guides import CroppingHyperModel

    hypermodel_dir.makeconftest(
        "import numpy as np, pytest\n\n@pytest.fixture\ndef hypermodel_data(tmp_path):\n"
        "    (tmp_path / 'set-up').write_text('')\n"
        "    return np.zeros((16, 28, 28, 1), 'float32'), np.eye(10, dtype='float32')[np.arange(16) % 10]\n"
    )
    report = hypermodel_dir.path / "r.json"
    result, cases = run_preflight(hypermodel_dir, "--hypermodel", "guides.py:CroppingHyperModel",
                                  "--hypermodel-epochs", "1", f"--hypermodel-report={report}")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert {c.properties["outcome"] for c in cases.values()} == {"ok"}
    planned = {name for c in json.loads(report.read_text())["cases"] for name in c["values"]}
    assert planned == {"image_size", "units", "normalize", "shuffle"}

    x, y = np.zeros((16, 28, 28, 1), "float32"), np.eye(10, dtype="float32")[np.arange(16) % 10]
    tuner = kt.RandomSearch(CroppingHyperModel(), objective="loss", max_trials=4, directory=tmp_path,
                            project_name="cropping", seed=3)
    tuner.search(x, y, epochs=1, verbose=0)
    assert {hp.name for hp in tuner.oracle.hyperparameters.space} == planned
    assert [t.status for t in tuner.oracle.trials.values()] == ["COMPLETED"] * 4


@pytest.mark.parametrize(
    ("shape", "message"),
    [("28x28", "--hypermodel-input-shape '28x28': write the shape of one example without the batch dimension*"),
     ("0,3", "--hypermodel-input-shape '0,3': write the shape of one example*")],
)
def test_a_bad_input_shape_is_one_usage_error(hypermodel_dir, shape, message):
    result = hypermodel_dir.runpytest_subprocess("-p", "no:cacheprovider", "--hypermodel", "guides.py:build_model",
                                                 "--hypermodel-input-shape", shape)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_the_message_is_the_error_keras_wrapped_not_its_argument_dump():
    """An error inside a layer's call() reaches the user as Keras's wrapper; the message names what went wrong."""
    import keras
    from keras_tuner.src.engine.hypermodel import DefaultHyperModel

    from pytest_hypermodel.space import plan
    from pytest_hypermodel.probe import fit as probe
    from pytest_hypermodel.probe.discovery import discover

    class CreatesVariablesInCall(keras.layers.Layer):  # what KerasTuner's RandAugment does under Keras 3
        def call(self, inputs):
            raise ValueError("tf.function only supports singleton tf.Variables created on the first call.\n"
                             "Make sure the tf.Variable is only created once")

    def build(hp):
        layers = [keras.Input((4,)), keras.layers.Dense(hp.Int("units", 1, 2))]
        model = keras.Sequential(layers + ([CreatesVariablesInCall()] if hp.get("units") == 2 else []))
        model.compile(loss="mse")
        return model

    hypermodel = DefaultHyperModel(build)
    space = discover(hypermodel)
    [case] = [c for c in plan.cases(space) if c.values == {"units": 2}]
    result = probe.run(hypermodel, space, case, settings=probe.FitSettings(epochs=1, samples=4))
    assert result.outcome == "error" and result.exception in ("ValueError", "RuntimeError")  # RuntimeError: Keras 3.1
    assert result.message == "tf.function only supports singleton tf.Variables created on the first call"
    assert "Arguments received by" in result.traceback  # the whole text is kept for -v
    assert probe.meaningful_line("Model too large! It contains 1261 params.") == "Model too large! It contains 1261 params"
    assert probe.meaningful_line(
        "Graph execution error:\n\nDetected at node foo\nIncompatible shapes: [32,10] vs. [32,1]"
    ) == "Incompatible shapes: [32,10] vs. [32,1]"


@pytest.mark.proof
def test_user_style_models_get_their_true_verdict(hypermodel_dir):
    """A conv stack fails exactly where its arithmetic says; a conditional_scope space and an LSTM text model (no
    keras.Input, token ids from --hypermodel-input-shape) raise no false alarm."""
    sys.path.insert(0, str(HYPERMODELS))
    try:
        from realistic import conv_stack_fails
    finally:
        sys.path.remove(str(HYPERMODELS))
    report = hypermodel_dir.path / "preflight.json"
    result, cases = run_preflight(
        hypermodel_dir, "--hypermodel", "realistic.py:conv_stack", "--hypermodel", "realistic.py:conditional",
        "--hypermodel", "realistic.py:lstm_text", "--hypermodel-input-shape", "20", "--hypermodel-epochs", "1",
        "--hypermodel-report", str(report), "-n", "2",
        # The forecast measures the space: 44% of the conv stack's draws fail, a 38% risk for 10 trials; under a
        # lower accepted risk its message names the culprit.
        "--hypermodel-max-abort-risk", "0.2",
    )
    data = json.loads(report.read_text())
    conv = [e for e in data["cases"] if e["case.spec"] == "realistic.py:conv_stack"]
    failing = {e["case.id"] for e in conv if e["outcome"] != "ok"}
    expected = {e["case.id"] for e in conv if conv_stack_fails({k: int(v) for k, v in e["values"].items()
                                                                  if k in ("conv_blocks", "kernel_size")})}
    assert expected and failing == expected
    assert {e["exception"] for e in conv if e["outcome"] != "ok"} == {"ValueError"}
    others = [e for e in data["cases"] if e["case.spec"] != "realistic.py:conv_stack"]
    assert others and {e["outcome"] for e in others} == {"ok"}
    # The culprit alone, not the filters and dropout its failing corners also moved.
    [conv_forecast] = [f for f in data["forecasts"] if f["spec"] == "realistic.py:conv_stack"]
    assert "constrain conv_blocks, or raise max_consecutive_failed_trials" in conv_forecast["message"]
    assert {f["spec"]: f["aborts"] for f in data["forecasts"]} == {
        "realistic.py:conv_stack": True, "realistic.py:conditional": False, "realistic.py:lstm_text": False,
    }
    # conditional_scope: a branch's hyperparameters only ever appear with their branch.
    for e in others:
        if "large_units" in e["values"]:
            assert e["values"]["model_type"] == "large"
        if "small_units" in e["values"]:
            assert e["values"].get("model_type", "small") == "small"
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_nothing_is_downloaded_and_a_download_is_not_blamed_on_a_value(hypermodel_dir):
    """Every build downloading (HyperEfficientNet's ImageNet weights) is one setup line; one value downloading is told
    so, and left out of the forecast."""
    result = hypermodel_dir.runpytest_subprocess("-p", "no:cacheprovider", "--hypermodel", "realistic.py:downloads_at_defaults")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: --hypermodel realistic.py:downloads_at_defaults: the build downloads "
        "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5: pass weights=None in the build, or "
        "provide the file locally (nothing is downloaded during a preflight)"
    ])
    result, cases = run_preflight(hypermodel_dir, "--hypermodel", "realistic.py:downloads_for_one_value")
    downloading = {name for name, c in cases.items() if c.properties.get("download")}
    assert downloading == {"downloads_for_one_value[weights=imagenet]", "downloads_for_one_value[weights=imagenet-units=4]"}
    assert all("Likely fix: the build downloads https://storage.googleapis.com/" in cases[n].message for n in downloading)
    assert "remove it from the values" not in result.stdout.str()
    result.stdout.fnmatch_lines(["realistic.py:downloads_for_one_value: RandomSearch would abort within 10 trials with "
                                 "probability 0% *(2 cases left out: their build downloads https://*"])


def test_when_the_defaults_fail_at_fit_time_no_value_is_blamed(hypermodel_dir):
    """KerasTuner's HyperImageAugment returns an uncompiled model: the defaults fail, and so does everything else."""
    report = hypermodel_dir.path / "preflight.json"
    result, cases = run_preflight(hypermodel_dir, "--hypermodel", "outcomes.py:uncompiled", "--hypermodel-report",
                                  str(report))
    assert {c.properties["outcome"] for c in cases.values()} == {"error"}
    assert "the default values already fail" in cases["uncompiled[defaults]"].message
    others = [c for name, c in cases.items() if name != "uncompiled[defaults]"]
    assert others and all("it fails as the defaults already do: fix the defaults first" in c.message for c in others)
    assert "lower max_value" not in result.stdout.str() and "remove it from the values" not in result.stdout.str()
    [forecast] = json.loads(report.read_text())["forecasts"]
    assert forecast["message"].endswith("fix the build function or its defaults: the defaults already fail, or raise "
                                        "max_consecutive_failed_trials above 3")
