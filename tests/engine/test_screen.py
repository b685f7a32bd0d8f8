"""The cheap checks: configurations built without a fit, and how the forecast judges KerasTuner's draws by them."""

from __future__ import annotations

import itertools
import random

import pytest

pytest.importorskip("keras_tuner")

from hypermodels.thresholds import MAX_MODEL_SIZE, heads_and_units, oversized_widths
from keras_tuner.src.engine.hypermodel import get_hypermodel

from pytest_hypermodel.probe import screen
from pytest_hypermodel.probe.discovery import discover
from pytest_hypermodel.rules.culprits import off_defaults
from pytest_hypermodel.rules.forecasts.judging import predicate
from pytest_hypermodel.rules.policy import Policy
from pytest_hypermodel.rules.record import records

pytestmark = pytest.mark.usefixtures("frozen_heap")


@pytest.fixture(scope="module")
def heads_space():
    """heads_and_units and its discovered space, discovered once for the module's tests."""
    hypermodel = get_hypermodel(heads_and_units)
    return hypermodel, discover(hypermodel)


@pytest.fixture(scope="module")
def widths_space():
    """oversized_widths and its discovered space, discovered once for the module's tests."""
    hypermodel = get_hypermodel(oversized_widths)
    return hypermodel, discover(hypermodel)


def _every(space, **ranges):
    names = list(ranges)
    return [space.complete(dict(zip(names, combo))) for combo in itertools.product(*ranges.values())]


def test_every_build_that_raises_is_found_with_its_size_and_the_rate_is_measured(heads_space):
    hypermodel, space = heads_space
    every = _every(space, heads=range(1, 9), units=(16, 32, 48, 64))
    found = screen.check(hypermodel, space, every, whole=True)
    failing = sorted((r.values["heads"], r.values["units"]) for r in found.failures)
    assert failing == [(h, u) for h in (3, 5, 6, 7) for u in (16, 32, 48, 64) if u % h]
    assert all(r.outcome == "error" and r.exception == "ValueError" for r in found.failures)
    assert all(r.params is None and r.size is None for r in found.failures)  # a build that raised has no model
    passing = [r for r in found.results if r.outcome is None]
    assert len(passing) == 18 and all(r.size and r.params and r.params >= r.size and r.memory_bytes for r in passing)
    assert found.whole and found.rate > 0 and found.to_dict()["built"] == 32 and found.to_dict()["failed"] == 14


def test_the_budget_leaves_the_rest_unbuilt_and_the_space_not_whole(heads_space):
    hypermodel, space = heads_space
    every = _every(space, heads=range(1, 9), units=(16, 32, 48, 64))
    found = screen.check(hypermodel, space, every, most=5, whole=True)
    assert len(found.results) == 5 and found.skipped == 27 and not found.whole


def test_a_drawn_configuration_no_build_saw_fails_with_the_share_of_the_sample(widths_space):
    """77% of oversized_widths is over max_model_size, but of its extremes and corners only the widest corner:
    the forecast judges a draw outside the sample with the sample's share, not with the cases' rule."""
    hypermodel, space = widths_space
    widths = range(16, 513, 16)
    every = _every(space, width_1=widths, width_2=widths)
    chosen = set(random.Random(0).sample(range(len(every)), 64))  # as a random tuner draws
    sample, rest = [every[i] for i in sorted(chosen)], [v for i, v in enumerate(every) if i not in chosen]
    found = screen.check(hypermodel, space, sample, seconds=600)
    policy = Policy(max_model_size=MAX_MODEL_SIZE)
    oversized = [r for r in found.results if (r.size or 0) > MAX_MODEL_SIZE]
    assert len(found.results) == len(sample) and 0.6 < len(oversized) / len(sample) < 0.9
    # The cases: the defaults and the extremes pass, the widest corner fails.
    cases = records(
        {"values": space.complete(v), "disposition": d, "params": 1}
        for v, d in [
            ({}, "completed"),
            ({"width_1": 512}, "completed"),
            ({"width_2": 512}, "completed"),
            ({"width_1": 512, "width_2": 512}, "failed"),
        ]
    )
    judge = predicate(cases, space, found, policy)
    assert all(judge(off_defaults(r.values, space)) == "failed" for r in oversized)  # built: as built
    judged = [judge(off_defaults(v, space)) for v in rest]
    assert judged == [judge(off_defaults(v, space)) for v in rest]  # the same each time
    assert abs(judged.count("failed") / len(rest) - len(oversized) / len(sample)) < 0.05
    # Without the builds, only the cases' rule: near no draw but the widest.
    cases_only = predicate(cases, space, None, policy)
    assert [cases_only(off_defaults(v, space)) for v in rest].count("failed") / len(rest) < 0.2


def test_a_sample_with_no_failure_stops_early_and_one_with_failures_goes_on(widths_space):
    """A healthy space pays MIN_SCREENED builds, not the whole budget; a failing one is sampled on."""
    hypermodel, space = widths_space
    widths = range(16, 513, 16)
    sample = random.Random(1).sample(_every(space, width_1=widths, width_2=widths), 40)
    calm = screen.check(hypermodel, space, sample, seconds=600, limits=screen.Limits())
    assert len(calm.results) == screen.MIN_SCREENED and calm.skipped == len(sample) - screen.MIN_SCREENED
    busy = screen.check(hypermodel, space, sample, seconds=600, limits=screen.Limits(max_model_size=MAX_MODEL_SIZE))
    assert len(busy.results) == len(sample) and not busy.skipped
    whole = screen.check(hypermodel, space, sample, seconds=600, limits=screen.Limits(), whole=True)
    assert len(whole.results) == len(sample)  # every configuration of a small space is built, failing or not


def test_the_memory_is_estimated_at_the_search_s_batch(widths_space):
    """A search at batch_size 1024 needs more memory a configuration than Keras's default 32 says."""
    hypermodel, space = widths_space
    widest = [space.complete({"width_1": 512, "width_2": 512})]
    default = screen.check(hypermodel, space, widest, whole=True).results[0]
    large = screen.check(hypermodel, space, widest, whole=True, batch_size=1024).results[0]
    assert default.memory_bytes and large.memory_bytes and large.memory_bytes > default.memory_bytes > 0
    budget = (default.memory_bytes + large.memory_bytes) // 2  # what the default's batch fits and the search's not
    assert not screen.Limits(memory_budget=budget).fails(default)
    assert screen.Limits(memory_budget=budget).fails(large)
