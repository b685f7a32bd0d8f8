"""Models as users pass them to KerasTuner: the keras-io guides as published, with no keras.Input."""

from __future__ import annotations

import json
import signal
import sys

import pytest
from conftest import HYPERMODELS, run_here, run_preflight

NO_INPUT = (
    "ERROR: --hypermodel guides.py:build_model: the model declares no input shape (no keras.Input), so no data can be "
    "synthesized for it: pass --hypermodel-input-shape (e.g. 28,28; ini hypermodel_input_shape), start the model with "
    "keras.Input(shape=...), or override the hypermodel_data fixture in conftest.py"
)


def test_a_model_without_input_is_one_line_naming_the_fixes_not_failing_cases(hypermodel_dir):
    """The getting-started guide's model is fine: its missing Input is the harness's problem, said once."""
    result = run_here(
        hypermodel_dir, "-p", "no:cacheprovider", "--hypermodel", "guides.py:build_model", "--junitxml=out.xml"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([NO_INPUT])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not (hypermodel_dir.path / "out.xml").exists()  # no case ran, so none failed


def test_guide_models_with_their_input_shape_from_the_ini_are_green(hypermodel_dir):
    """With the shape of one MNIST image (from pytest.ini: the xdist workers read it too; the option
    --hypermodel-input-shape has test_trial_specs.py's guide run) every case completes, and no forecast says the
    search would abort (under xdist, as users run it; test_xdist_report_equals_the_serial_one holds the two modes
    to one report)."""
    (hypermodel_dir.path / "pytest.ini").write_text("[pytest]\nhypermodel_input_shape = 28,28\n")
    report = hypermodel_dir.path / "preflight.json"
    result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "guides.py:build_model",
        "--hypermodel",
        "guides.py:MyHyperModel",
        "--hypermodel-epochs",
        "1",
        # each hyperparameter at its extreme is what the input shape must serve: the corners (21 of build_model's
        # 7 hyperparameters) add fits, not shapes
        "--hypermodel-strategy",
        "extremes",
        "--hypermodel-report",
        str(report),
        "-n",
        "2",
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert cases and {c.properties["outcome"] for c in cases.values()} == {"ok"}
    assert {"MyHyperModel[shuffle=True]", "build_model[num_layers=3]"} <= set(cases)  # fit()'s own hyperparameter
    assert {name for name in cases if name.startswith("MyHyperModel[")} == {
        "MyHyperModel[defaults]",
        "MyHyperModel[units=512]",
        "MyHyperModel[shuffle=True]",
    }
    assert result.stdout.str().count("each case fits one epoch") == 1  # --hypermodel-epochs 1: said once
    data = json.loads(report.read_text())
    assert [f["aborts"] for f in data["forecasts"]] == [False, False]


def test_a_hyperparameter_shared_by_build_and_fit_is_discovered_on_the_fixture_s_data(hypermodel_dir, tmp_path):
    """The user's data needs no input shape: with conftest.py's hypermodel_data fixture (one that needs another
    fixture, as users write them), discovery fits on that data, so the hyperparameters fit() declares are planned
    with no warning (the guide's MyHyperModel, which has no keras.Input).

    The getting-started guide's HyperModel that crops the search's images in fit() to the size its build
    tunes: on data synthesized from its input its fit() cannot run, and discovery once blamed the defaults
    ("RandomSearch would crash before its first trial"). On the fixture's data every hyperparameter fit()
    declares is planned, every case completes, as every trial of a real RandomSearch on the same data does (the
    proof below). One run preflights both models: the same fixture, the same data."""
    hypermodel_dir.makeconftest(
        "import numpy as np, pytest\n\n@pytest.fixture\ndef hypermodel_data(tmp_path):\n"
        "    (tmp_path / 'set-up').write_text('')\n"
        "    return np.zeros((16, 28, 28, 1), 'float32'), np.eye(10, dtype='float32')[np.arange(16) % 10]\n"
    )
    report = hypermodel_dir.path / "r.json"
    result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "guides.py:MyHyperModel",
        "--hypermodel",
        "guides.py:CroppingHyperModel",
        "--hypermodel-epochs",
        "1",
        "--hypermodel-strategy",
        "extremes",  # each hyperparameter planned in a case of its own: the corners add fits, not names
        f"--hypermodel-report={report}",
        here=True,
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert {c.properties["outcome"] for c in cases.values()} == {"ok"}
    # Discovery fits on the fixture's data: the fit()'s own hyperparameters are planned, and no warning.
    assert "MyHyperModel[shuffle=True]" in cases
    assert "did not run during discovery" not in result.stdout.str()
    planned = {
        name
        for c in json.loads(report.read_text())["cases"]
        if c["case.spec"].endswith(":CroppingHyperModel")
        for name in c["values"]
    }
    assert planned == CROPPING_TUNED


#: What KerasTuner tunes of the guide's cropping HyperModel: build()'s and fit()'s names.
CROPPING_TUNED = {"image_size", "units", "normalize", "shuffle"}


@pytest.mark.proof  # a real KerasTuner search
def test_a_real_search_of_the_cropping_model_tunes_what_the_preflight_plans_and_completes(tmp_path):
    """The real search on the fixture's data of the test above: every trial completes, and the names it tunes are
    those the preflight planned there."""
    import keras_tuner as kt
    import numpy as np

    sys.path.insert(0, str(HYPERMODELS))
    from guides import CroppingHyperModel

    x, y = np.zeros((16, 28, 28, 1), "float32"), np.eye(10, dtype="float32")[np.arange(16) % 10]
    tuner = kt.RandomSearch(
        CroppingHyperModel(), objective="loss", max_trials=4, directory=tmp_path, project_name="cropping", seed=3
    )
    tuner.search(x, y, epochs=1, verbose=0)
    assert {hp.name for hp in tuner.oracle.hyperparameters.space} == CROPPING_TUNED
    assert [t.status for t in tuner.oracle.trials.values()] == ["COMPLETED"] * 4


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ("28x28", "--hypermodel-input-shape '28x28': write the shape of one example without the batch dimension*"),
        ("0,3", "--hypermodel-input-shape '0,3': write the shape of one example*"),
    ],
)
def test_a_bad_input_shape_is_one_usage_error(hypermodel_dir, shape, message):
    result = hypermodel_dir.runpytest_inprocess(
        "-p", "no:cacheprovider", "--hypermodel", "guides.py:build_model", "--hypermodel-input-shape", shape
    )  # stops at start-up
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_nothing_is_downloaded_and_a_download_is_not_blamed_on_a_value(hypermodel_dir):
    """Every build downloading (HyperEfficientNet's ImageNet weights) is one setup line; one value downloading is told
    so, and left out of the forecast."""
    sigterm = signal.getsignal(signal.SIGTERM)  # the plugin's handler is that run's, not this one's
    try:  # stops at start-up, in this process; the download guard is the probe process's (forked from the warm one)
        result = hypermodel_dir.runpytest_inprocess(
            "-p", "no:cacheprovider", "--hypermodel", "realistic.py:downloads_at_defaults"
        )
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --hypermodel realistic.py:downloads_at_defaults: the build downloads "
            "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5: pass weights=None in the build, or "
            "provide the file locally (nothing is downloaded during a preflight)"
        ]
    )
    result, cases = run_preflight(hypermodel_dir, "--hypermodel", "realistic.py:downloads_for_one_value")
    downloading = {name for name, c in cases.items() if c.properties.get("download")}
    assert downloading == {
        "downloads_for_one_value[weights=imagenet]",
        "downloads_for_one_value[weights=imagenet-units=4]",
    }
    assert all(
        "Likely fix: the build downloads https://storage.googleapis.com/" in cases[n].message for n in downloading
    )
    assert "remove it from the values" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "realistic.py:downloads_for_one_value: RandomSearch would abort within 10 trials: 0% ±0% (2 cases left "
            "out: their build downloads https://*"
        ]
    )
