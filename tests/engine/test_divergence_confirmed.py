"""A loss that grew is followed further before it fails a case: a spike that passes is green, a divergence red.

The getting-started guide's model at ``units_0=512, dropout=True, lr=0.01`` spikes over the two batches a case
sees and recovers (tests/proofs/test_spike_search.py: a real KerasTuner search on the same data learns); plain
SGD at learning rate 3 on a regression keeps growing.
"""

from __future__ import annotations

import numpy as np

from pytest_hypermodel import preflight
from pytest_hypermodel.rules import outcomes
from tests.hypermodels.outcomes import diverging  # SGD at learning rate 3 on a linear regression
from tests.hypermodels.spike import SPIKING_LR, spiking_data, spiking_guide


def test_the_guide_s_spike_is_followed_until_it_recovers_and_the_case_is_green(tmp_path, capsys):
    x, y = spiking_data()
    report = preflight(
        spiking_guide,
        x,
        y,
        validation_data=(x, y),
        epochs=1,
        strategy="extremes",
        boundaries=False,
        rootpath=tmp_path,
        isolation="off",
        verbose=True,
    )
    spike = next(c for c in report.cases if c["values"]["lr"] == SPIKING_LR)
    losses, start = spike["losses"], spike["start_loss"]
    assert losses[-1] > outcomes.DIVERGENCE_RATIO * start  # the case's own fit saw only the spike
    followed = spike["confirmation_losses"]
    assert 1 <= len(followed) <= outcomes.CONFIRMATION_EPOCHS
    assert followed[-1] < outcomes.DIVERGENCE_RATIO * start  # back where it started
    assert spike["outcome"] == "ok", spike.get("message")
    assert {c["outcome"] for c in report.cases} == {"ok"}
    assert not report.forecast["fails_run"]
    said = capsys.readouterr()
    line = next(t for t in (said.out + said.err).splitlines() if "its loss grew" in t)
    assert f"up to {outcomes.CONFIRMATION_EPOCHS} more epochs of its data" in line and "it recovered" in line


def test_a_loss_that_keeps_growing_is_still_diverged_after_it_is_followed(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1))).astype("float32")
    report = preflight(diverging, x, y, epochs=2, boundaries=False, rootpath=tmp_path, isolation="off")
    case = next(c for c in report.cases if c["values"]["learning_rate"] == 3.0)
    assert case["outcome"] == "diverged"
    assert case["confirmation_losses"] and "did not recover" in case["message"]
