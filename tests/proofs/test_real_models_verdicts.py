"""Models as users write them get their true verdict through the plugin (with the proofs)."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import HYPERMODELS, run_preflight


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
    result, _cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "realistic.py:conv_stack",
        "--hypermodel",
        "realistic.py:conditional",
        "--hypermodel",
        "realistic.py:lstm_text",
        "--hypermodel-input-shape",
        "20",
        "--hypermodel-epochs",
        "1",
        "--hypermodel-report",
        str(report),
        "-n",
        "2",
        # The forecast measures the space: 44% of the conv stack's draws fail, a 38% risk for 10 trials; under a
        # lower accepted risk its message names the culprit.
        "--hypermodel-max-abort-risk",
        "0.2",
    )
    data = json.loads(report.read_text())
    conv = [e for e in data["cases"] if e["case.spec"] == "realistic.py:conv_stack"]
    failing = {e["case.id"] for e in conv if e["outcome"] != "ok"}
    expected = {
        e["case.id"]
        for e in conv
        if conv_stack_fails({k: int(v) for k, v in e["values"].items() if k in ("conv_blocks", "kernel_size")})
    }
    assert expected and failing == expected
    assert {e["exception"] for e in conv if e["outcome"] != "ok"} == {"ValueError"}
    others = [e for e in data["cases"] if e["case.spec"] != "realistic.py:conv_stack"]
    assert others and {e["outcome"] for e in others} == {"ok"}
    # The culprit alone, not the filters and dropout its failing corners also moved.
    [conv_forecast] = [f for f in data["forecasts"] if f["spec"] == "realistic.py:conv_stack"]
    assert "constrain conv_blocks, or raise max_consecutive_failed_trials" in conv_forecast["message"]
    assert {f["spec"]: f["aborts"] for f in data["forecasts"]} == {
        "realistic.py:conv_stack": True,
        "realistic.py:conditional": False,
        "realistic.py:lstm_text": False,
    }
    # conditional_scope: a branch's hyperparameters only ever appear with their branch.
    for e in others:
        if "large_units" in e["values"]:
            assert e["values"]["model_type"] == "large"
        if "small_units" in e["values"]:
            assert e["values"].get("model_type", "small") == "small"
    assert result.ret == pytest.ExitCode.TESTS_FAILED
