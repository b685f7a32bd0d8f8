"""A divergence is judged against where the default case started on the same data, so the seed
article's Adam example gets the same verdict on every backend."""

from __future__ import annotations

import math

import pytest

from pytest_hypermodel.probe import fit as probe
from pytest_hypermodel.rules import outcomes


@pytest.mark.parametrize(
    ("losses", "start", "reference", "outcome"),
    [
        ([2.55, 13.1, 13.1], 2.55, 2.55, "diverged"),  # JAX at learning rate 10: 5x, never 1000x
        ([2.38, 5571.0, 3400.0], 2.38, 2.38, "diverged"),  # TensorFlow, the same case
        ([2.38, 1.28, 0.84], 2.38, 2.38, "ok"),
        ([2.78, 1.91, 1.56], 3.1, 2.40, "ok"),  # a first epoch above the start, then learning
        ([1.536, 1.389, 1.262], 1.536, 0.665, "ok"),  # starts above the default (a wider model): held to its own start
        ([0.5, 1.2, 1.4], 0.5, 2.4, "ok"),  # grew from a low start, but not above where the default started
        ([2.4, 7.3], 2.4, 2.4, "diverged"),
        ([2.4, 7.1], 2.4, 2.4, "ok"),
        ([2.4, math.nan], 2.4, 2.4, "nan"),
        ([2.4, math.inf], 2.4, 2.4, "nan"),
    ],
)
def test_a_loss_is_judged_against_where_the_case_and_the_default_started(losses, start, reference, outcome):
    assert outcomes.classify_losses(losses, start, reference) == outcome


@pytest.mark.parametrize(("start", "reference"), [(None, 2.4), (2.4, None), (-1.0, 2.4), (2.4, 0.0), (math.nan, 2.4)])
def test_without_a_positive_reference_the_absolute_rule_judges(start, reference):
    """The default did not fit, or a loss that can be negative (no ratio): a 1000-fold jump, as before."""
    assert outcomes.classify_losses([2.5, 13.1, 13.1], start, reference) == "ok"
    assert outcomes.classify_losses([1.0, 55.0, 2858.0], start, reference) == "diverged"


def test_only_a_case_whose_loss_grew_asks_for_the_default_s_start():
    """So an xdist worker whose cases learn never probes the default case it was not given."""

    def fitted(losses, start, outcome="ok"):
        return probe.Result("c", "extreme", {}, outcome=outcome, fitted=True, losses=losses, start_loss=start)

    assert not probe.needs_reference(fitted([2.38, 1.28, 0.84], 2.38))
    assert probe.needs_reference(fitted([2.55, 13.1, 13.1], 2.55))
    assert probe.needs_reference(fitted([1.0, 5000.0, 2.0], 1.0, "diverged"))  # the absolute rule's verdict
    assert not probe.needs_reference(fitted([2.55, math.nan], 2.55, "nan"))
    result = fitted([2.55, 13.1, 13.1], 2.55)
    probe.judge_fit(result, 2.4)
    assert (result.outcome, result.reference_loss) == ("diverged", 2.4)
    assert "over 3 times where it started (2.55, its first batch)" in result.message
    probe.judge_fit(result, 5.0)  # the default started higher: this is no divergence
    assert (result.outcome, result.message) == ("ok", None)
    result.checkpoint = False
    probe.judge_fit(result, 5.0)
    assert result.outcome == "no_checkpoint"
