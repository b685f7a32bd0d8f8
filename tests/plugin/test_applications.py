"""keras_tuner.applications as users pass them, at small input shapes.

Slow (every case builds a full ResNet or Xception: about 7 minutes with -n 2 on a 2-core CPU), so not in the
default run: ``tox -e applications`` or ``python -m pytest -m slow tests``.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_preflight

pytestmark = pytest.mark.slow

APPLICATIONS = """
import keras_tuner as kt

resnet = kt.applications.HyperResNet(input_shape=(32, 32, 3), classes=10)
xception = kt.applications.HyperXception(input_shape=(32, 32, 3), classes=10)
augment = kt.applications.HyperImageAugment(input_shape=(32, 32, 3))
"""


def test_keras_tuner_applications_get_their_true_verdict(hypermodel_dir):
    """ResNet and Xception: every case completes and no forecast aborts (no false alarm). HyperImageAugment returns
    an uncompiled model: its defaults fail, so the forecast blames the defaults, not the values."""
    hypermodel_dir.makepyfile(applications=APPLICATIONS)
    report = hypermodel_dir.path / "preflight.json"
    _result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "applications.py:resnet",
        "--hypermodel",
        "applications.py:xception",
        "--hypermodel",
        "applications.py:augment",
        "--hypermodel-epochs",
        "1",
        "--hypermodel-samples",
        "8",
        "--hypermodel-report",
        str(report),
        "-n",
        "2",
    )
    data = json.loads(report.read_text())
    outcomes = {}
    for entry in data["cases"]:
        outcomes.setdefault(entry["case.spec"].partition(":")[2], set()).add((entry["outcome"], entry["exception"]))
    assert outcomes == {"resnet": {("ok", "")}, "xception": {("ok", "")}, "augment": {("error", "ValueError")}}
    forecasts = {f["spec"].partition(":")[2]: f for f in data["forecasts"]}
    assert not forecasts["resnet"]["aborts"] and not forecasts["xception"]["aborts"]
    assert "the defaults among them" in forecasts["augment"]["message"]  # every case fails alike: no value blamed
    assert "no hyperparameter is to blame" in forecasts["augment"]["message"]
    assert len(cases) == len(data["cases"]) and all(h["complete"] for h in data["hypermodels"])
