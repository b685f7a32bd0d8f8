"""A preflight of one case fitted for one epoch, forecast over one trial, reads right: no "1 cases", "1 runs",
"1 epochs", "1 trials" or "1 hypermodels" in its terminal lines, its forecast or its HTML report."""

from __future__ import annotations

import re
import warnings

import keras

from pytest_hypermodel.api import preflight


def one_case_model(hp):
    units = hp.Fixed("units", 4)  # one value: the plan is the defaults alone
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    return model


def test_one_case_one_epoch_one_trial_reads_singular():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # epochs=1 is warned about: a diverging loss is seen diluted
        report = preflight(one_case_model, epochs=1, max_trials=1, isolation="off", rehearsal=False)
    text = str(report)
    assert "1 case: 1 ok; KerasTuner would spend 1 run on them" in text, text
    assert "one_case_model: RandomSearch would abort within 1 trial: 0% ±0%\n" in text, text
    assert report.forecast["message"].startswith("RandomSearch would abort within 1 trial with probability 0%")
    assert "one_case_model: 1 trial as small as the cases: about " in text, text  # the terminal's short line
    assert "; 1 trial as small as the cases (a build, 1 epoch of a few batches)" in report.forecast["timing"]["line"]
    html = report.html()
    assert "1 hypermodel, 0 red; 1 case (1 ok); KerasTuner would spend 1 run on them." in html
    wrong = re.compile(r"\b1 (cases|runs|epochs|trials|hypermodels|builds|configurations|seeds|batches)\b")
    assert not wrong.search(text + html), wrong.search(text + html)
