"""Memory a trial leaves behind: the growth is the median slope, and the message names the causes and what
KerasTuner does."""

from __future__ import annotations

from pytest_hypermodel.probe import fit as probe
from pytest_hypermodel.rules import hints, outcomes

MIB = 2**20


def test_the_growth_is_the_median_slope_so_an_allocator_giving_memory_back_once_does_not_move_it():
    assert probe.rss_growth([100 * MIB, 125 * MIB, 150 * MIB]) == 25 * MIB
    # A clean model: malloc trims 1.8 MiB once, then the arena grows back.
    assert abs(probe.rss_growth([700 * MIB, 698.2 * MIB, 699.9 * MIB])) < 0.1 * MIB
    assert probe.rss_growth([10, 12]) == 2


def test_the_message_names_the_causes_and_what_kerastuner_does():
    from pytest_hypermodel.rules.policy import Policy
    from pytest_hypermodel.space.hyperparameters import SearchSpace
    from pytest_hypermodel.space.plan import Case

    result = probe.Result(
        "defaults",
        "default",
        {},
        outcome=outcomes.MEMORY_GROWTH,
        rss_growth_bytes=25 * MIB,
        message="the process kept 25.0 MiB more after each trial of the defaults",
    )
    policy = Policy()
    text = hints.failure_message(
        Case("defaults", "default", {}), result, policy.disposition(result), policy, SearchSpace((), {"space": []})
    )
    assert "memory grows from trial to trial" in text and "hours in" in text
    assert "keras.backend.clear_session()" in text and "callback" in text
