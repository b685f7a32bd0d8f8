"""Tests for t-way covering arrays: exact optima, reached sizes, and properties on random spaces."""

from __future__ import annotations

import itertools
import math
import time
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_hypermodel.space import covering
from pytest_hypermodel.space.covering import Condition, covering_array, is_active, lower_bound, uncovered


@pytest.fixture(autouse=True)
def _no_wall_clock_cap(monkeypatch):
    """Sizes must not depend on machine load: disable the wall-clock safety cap."""
    monkeypatch.setattr(covering, "_CAP_FACTOR", math.inf)


def _ks_optimum(k: int) -> int:
    n = 1
    while math.comb(n - 1, math.ceil(n / 2)) < k:
        n += 1
    return n


# --------------------------------------------------------------------------- independent reference


def _brute_required(levels, t, conds) -> set[frozenset]:
    """Required patterns by enumerating every configuration (independent of the module's code)."""
    k = len(levels)
    t = min(t, k)
    required = set()
    for F in itertools.combinations(range(k), t):
        pats = set()
        for row in itertools.product(*(range(n) for n in levels)):
            pats.add(frozenset((f, row[f]) for f in F if is_active(row, f, conds)))
        required |= {p for p in pats if not any(p < q for q in pats)}
    return required


def _brute_uncovered(rows, levels, t, conds) -> set[frozenset]:
    missing = set()
    for p in _brute_required(levels, t, conds):
        if not any(all(is_active(r, f, conds) and r[f] == v for f, v in p) for r in rows):
            missing.add(p)
    return missing


@st.composite
def spaces(draw, max_factors: int = 8, max_levels: int = 4):
    """Random factor levels, strength and a random condition forest (parents have smaller index)."""
    k = draw(st.integers(1, max_factors))
    levels = draw(st.lists(st.integers(1, max_levels), min_size=k, max_size=k))
    t = draw(st.integers(1, 3))
    conds = {}
    for f in range(1, k):
        if draw(st.booleans()):
            p = draw(st.integers(0, f - 1))
            chosen = draw(st.sets(st.integers(0, levels[p] - 1), min_size=1))
            conds[f] = Condition(p, frozenset(chosen))
    return levels, t, conds


# --------------------------------------------------------------------------- the checker itself


def test_uncovered_reports_a_missing_pair():
    rows = [(0, 0), (0, 1), (1, 0)]
    assert uncovered(rows, [2, 2], 2) == [((0, 1), (1, 1))]
    assert uncovered([*rows, (1, 1)], [2, 2], 2) == []
    assert len(uncovered([], [2, 3, 2], 2)) == 6 + 4 + 6


def test_uncovered_with_conditions():
    conds = {1: Condition(0, frozenset({1}))}  # factor 1 only when factor 0 is 1
    # (0=0, 1=x) is never required; (0=1, 1=x) is, for x in 0..2
    assert sorted(uncovered([], [2, 3], 2, conds)) == [((0, 0),), ((0, 1), (1, 0)), ((0, 1), (1, 1)), ((0, 1), (1, 2))]
    assert uncovered([(0, 0), (1, 0), (1, 1), (1, 2)], [2, 3], 2, conds) == []
    # inactive values do not count: factor 1 = 2 while factor 0 = 0 covers nothing
    assert uncovered([(0, 2), (1, 0), (1, 1)], [2, 3], 2, conds) == [((0, 1), (1, 2))]


def test_mutually_exclusive_children_are_never_paired():
    conds = {1: Condition(0, frozenset({0})), 2: Condition(0, frozenset({1}))}
    missing = uncovered([], [2, 2, 2], 2, conds)
    assert not any({f for f, _ in p} == {1, 2} for p in missing)
    rows = covering_array([2, 2, 2], 2, conditions=conds)
    assert uncovered(rows, [2, 2, 2], 2, conds) == []
    assert len(rows) == 4


def test_strength_larger_than_co_active_set_still_covers_what_exists():
    """At t=3, (parent, child_a, child_b) is never co-active; every reachable pattern is still shown."""
    conds = {1: Condition(0, frozenset({0})), 2: Condition(0, frozenset({1}))}
    rows = covering_array([2, 3, 3], 3, conditions=conds)
    assert sorted(rows) == [(0, 0, 0), (0, 1, 0), (0, 2, 0), (1, 0, 0), (1, 0, 1), (1, 0, 2)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spaces(max_factors=6, max_levels=3), st.data())
def test_uncovered_matches_brute_force(space, data):
    levels, t, conds = space
    rows = data.draw(st.lists(st.tuples(*(st.integers(0, n - 1) for n in levels)), max_size=6))
    got = {frozenset(p) for p in uncovered(rows, levels, t, conds)}
    assert got == _brute_uncovered(rows, levels, t, conds)


# --------------------------------------------------------------------------- sizes


def test_two_level_pairwise_is_optimal_up_to_200_factors():
    for k in range(2, 201):
        rows = covering_array([2] * k, 2)
        assert len(rows) == _ks_optimum(k), k
        assert uncovered(rows, [2] * k, 2) == [], k


def test_two_level_pairwise_is_fast():
    start = time.perf_counter()
    rows = covering_array([2] * 100, 2)
    assert time.perf_counter() - start < 0.5
    assert len(rows) == 10


@pytest.mark.parametrize(
    "levels, t, reached",
    [
        ([2] * 6 + [3] * 3 + [5] * 2, 2, 25),  # optimum; PICT gives 26
        ([2] * 6 + [3] * 3 + [5] * 2, 3, 75),  # the lower bound; PICT 89..95
        ([2] * 5, 3, 10),  # best known
        ([2] * 10, 3, 12),  # best known (PICT 19)
        ([2] * 12, 3, 15),  # best known
        ([2] * 20, 3, 18),  # best known (PICT 25)
        ([3] * 13, 2, 15),  # best known
        ([3] * 6, 3, 33),  # best known
        ([4] * 5, 2, 16),  # Bush orthogonal array, the lower bound
        ([5] * 4, 3, 125),  # Bush orthogonal array, the lower bound
    ],
)
def test_reached_sizes(levels, t, reached):
    rows = covering_array(levels, t, time_budget=0.5)
    assert uncovered(rows, levels, t) == []
    assert len(rows) <= reached
    assert len(rows) >= lower_bound(levels, t)


def test_twenty_mixed_factors_at_strength_three():
    levels = [2] * 10 + [3] * 6 + [4] * 4
    start = time.process_time()  # this process's CPU, which a loaded machine's other processes do not inflate
    rows = covering_array(levels, 3, time_budget=1.0)
    assert time.process_time() - start < 5
    assert uncovered(rows, levels, 3) == []
    assert len(rows) <= 85  # lower bound 64


def test_conditional_space_size():
    """Optimizer-style space; 42 is optimal (f5=2: 20 rows with f0>0, 8 with f0=0; f5<2: 10 + 4)."""
    C = Condition
    levels = [3, 2, 4, 3, 2, 3, 4]
    conds = {1: C(0, frozenset({0})), 2: C(0, frozenset({1, 2})), 3: C(2, frozenset({0, 1})), 6: C(5, frozenset({2}))}
    rows = covering_array(levels, 2, conditions=conds, time_budget=0.5)
    assert uncovered(rows, levels, 2, conds) == []
    assert len(rows) <= 42


def test_construction_alone_is_valid():
    for levels, t in [([2] * 6 + [3] * 3 + [5] * 2, 3), ([3] * 7, 2), ([2] * 30, 3), ([4, 1, 3, 2], 2)]:
        rows = covering_array(levels, t, time_budget=0)
        assert uncovered(rows, levels, t) == []


@pytest.mark.parametrize("q, t", [(2, 2), (3, 2), (3, 3), (5, 2), (5, 3), (5, 4), (7, 2), (7, 3)])
def test_bush_orthogonal_array(q, t):
    A = covering._bush_oa(q, t, q + 1)
    assert A.shape == (q**t, q + 1)
    assert uncovered(A.tolist(), [q] * (q + 1), t) == []


def test_binary_strength_three_constructions():
    assert uncovered(covering._pb12().tolist(), [2] * 11, 3) == []
    for k in [4, 5, 12, 20, 22, 23, 40, 64, 65]:
        A = covering._binary_t3(k)
        assert uncovered(A.tolist(), [2] * k, 3) == [], k


# --------------------------------------------------------------------------- semantics


def test_strength_clamped_to_number_of_factors():
    rows = covering_array([2, 3], 5)
    assert sorted(rows) == [(a, b) for a in range(2) for b in range(3)]
    assert lower_bound([2, 3], 5) == 6


def test_edge_shapes():
    assert covering_array([], 2) == [()]
    assert covering_array([1, 1, 1], 2) == [(0, 0, 0)]
    assert sorted(covering_array([3, 1, 2], 1)) == [(0, 0, 0), (1, 0, 1), (2, 0, 0)]
    assert lower_bound([4, 2, 5, 3], 3) == 60


def test_invalid_input():
    with pytest.raises(ValueError, match="strength"):
        covering_array([2, 2], 0)
    with pytest.raises(ValueError, match="strength"):
        lower_bound([2, 2], 0)
    with pytest.raises(ValueError, match="cycle"):
        covering_array([2, 2, 2], 2, conditions={1: Condition(2, frozenset({0})), 2: Condition(1, frozenset({0}))})
    with pytest.raises(ValueError, match="cycle"):
        covering_array([2, 2], 2, conditions={0: Condition(0, frozenset({0}))})
    with pytest.raises(ValueError):
        covering_array([2, 0], 2)
    with pytest.raises(ValueError):
        covering_array([2, 2], 2, conditions={1: Condition(5, frozenset({0}))})


def test_is_active_follows_the_chain():
    conds = {1: Condition(0, frozenset({1})), 2: Condition(1, frozenset({0, 2}))}
    assert is_active((1, 2, 0), 2, conds)
    assert not is_active((1, 1, 0), 2, conds)
    assert not is_active((0, 2, 0), 2, conds)  # parent inactive
    assert is_active((0, 0, 0), 0, conds)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spaces(), st.integers(0, 3))
def test_random_spaces(space, seed):
    levels, t, conds = space
    with mock.patch.object(covering, "_CAP_FACTOR", math.inf):
        rows = covering_array(levels, t, conditions=conds, seed=seed, time_budget=0.02)
        again = covering_array(levels, t, conditions=conds, seed=seed, time_budget=0.02)
    assert rows == again
    assert uncovered(rows, levels, t, conds) == []
    assert len(set(rows)) == len(rows)
    for row in rows:
        assert len(row) == len(levels)
        for f, v in enumerate(row):
            assert 0 <= v < levels[f]
            assert is_active(row, f, conds) or v == 0
    if not conds:
        assert len(rows) >= lower_bound(levels, t)
