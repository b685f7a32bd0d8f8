"""The judgement of a loss that grew and was followed further (``outcomes.recovered``): only one back where it
started is a spike that passed."""

from __future__ import annotations

import math

import pytest

from pytest_hypermodel.rules import outcomes

# The guide's units_0=512, dropout, lr=0.01 on random images (tests/hypermodels/spike.py), and the seed article's
# Adam at learning rate 10 under TensorFlow: it falls, but stays a thousand times over where it started.
GUIDE = ([10.98, 10.98], [11.06, 12.43, 8.68, 4.21, 2.475], 2.493)
FALLING = ([2.38, 5571.5, 3400.4], [4077.2, 3904.8, 2381.3, 1659.6, 1102.5, 589.3, 315.1, 73.3], 2.38)


@pytest.mark.parametrize(
    ("losses", "confirmation", "start", "expected"),
    [
        (*GUIDE, "ok"),
        (GUIDE[0], GUIDE[1][:-1], GUIDE[2], "diverged"),  # under three times its start is not back
        (*FALLING, "diverged"),
        (GUIDE[0], [11.0, math.nan], GUIDE[2], "diverged"),  # not finite: it never recovered
        (GUIDE[0], [], GUIDE[2], "diverged"),  # not followed: the loss as it was
        ([2.4, math.nan], [2.0], 2.4, "nan"),  # a NaN of the case's own fit needs no confirming
    ],
)
def test_a_grown_loss_is_ok_only_once_it_is_back_where_it_started(losses, confirmation, start, expected):
    assert outcomes.classify_losses(losses, start, start, confirmation) == expected


def test_without_a_reference_the_absolute_rule_s_jump_is_what_it_must_come_back_under():
    losses = [1.0, 5000.0]
    assert outcomes.classify_losses(losses) == "diverged"
    assert outcomes.classify_losses(losses, confirmation=[2000.0, 900.0]) == "ok"
    assert outcomes.classify_losses(losses, confirmation=[2000.0, 3000.0]) == "diverged"
