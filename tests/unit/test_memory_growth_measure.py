"""How the default case's further trials judge memory growth: a backend's warm-up step after the case's own trial
is confirmed away by more trials, a leak's steady growth is not (readings as measured; no Keras is built)."""

from __future__ import annotations

import platform

from pytest_hypermodel.probe import fit as probe
from pytest_hypermodel.rules import outcomes

MIB = 2**20

#: JAX, the getting-started model (which keeps nothing), in the probe process: one step of 8.5 MiB after the first
#: further trial, then flat. Three readings made it 4.3 MiB a trial: red against the 4 MiB limit.
JAX_WARM_UP = [939.1 * MIB, 947.6 * MIB, 947.6 * MIB, 947.8 * MIB, 947.7 * MIB, 947.9 * MIB]
#: A build that keeps each model and 24 MiB of its data (tests/hypermodels/memory.py).
LEAK = [900 * MIB + i * 24.3 * MIB for i in range(6)]


def measure(readings: list[float], *, fails_at: int | None = None) -> tuple[probe.Result, int]:
    """Run ``_measure_growth`` on these readings, one per further trial: the case's result and the trials run."""
    result = probe.Result("defaults", "default", {})
    trials = []

    def trial() -> probe.Result:
        trials.append(1)
        failed = fails_at is not None and len(trials) == fails_at
        return probe.Result("defaults", "default", {}, outcome=outcomes.ERROR if failed else outcomes.OK)

    def read() -> int:
        return round(readings[len(trials) - 1])

    settings = probe.FitSettings(growth_trials=probe.GROWTH_TRIALS)
    probe._measure_growth(result, trial, settings, None, read)
    return result, len(trials)


def test_three_readings_of_a_warm_up_step_are_over_the_limit_but_more_trials_confirm_it_flat():
    assert probe.rss_growth([round(r) for r in JAX_WARM_UP[:3]]) > probe.MAX_GROWTH  # the false red
    result, trials = measure(JAX_WARM_UP)
    assert trials == probe.GROWTH_TRIALS + probe.CONFIRM_TRIALS
    assert result.outcome == outcomes.OK and result.message is None
    assert abs(result.rss_growth_bytes) < probe.MAX_GROWTH / 4


def test_a_leak_stays_over_the_limit_through_every_confirming_trial():
    result, trials = measure(LEAK)
    assert trials == probe.GROWTH_TRIALS + probe.CONFIRM_TRIALS
    assert result.outcome == outcomes.MEMORY_GROWTH
    assert abs(result.rss_growth_bytes - 24.3 * MIB) < 0.1 * MIB
    assert "over 6 more trials" in result.message and "24.3 MiB more after each trial" in result.message


def test_a_flat_measure_costs_two_trials_and_one_under_the_limit_three():
    result, trials = measure([800 * MIB, 800.2 * MIB])
    assert (trials, result.outcome) == (2, outcomes.OK)
    result, trials = measure([800 * MIB, 803 * MIB, 804 * MIB])
    assert (trials, result.outcome) == (3, outcomes.OK)
    assert result.rss_growth_bytes == 2 * MIB


def test_a_further_trial_that_fails_stops_the_measure_and_the_case_stands():
    result, trials = measure(LEAK, fails_at=4)
    assert trials == 4 and result.outcome == outcomes.OK and result.rss_growth_bytes is None


def test_the_heap_is_trimmed_where_glibc_can():
    trimmed = probe.trim_heap()
    assert trimmed is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
