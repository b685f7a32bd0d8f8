"""Planning: corners cover every t-way combination of levels among co-active hyperparameters."""

from __future__ import annotations

import itertools
import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_hypermodel.space import plan
from pytest_hypermodel.space.hyperparameters import Condition, Param, SearchSpace


def _space(params: list[Param]) -> SearchSpace:
    return SearchSpace(tuple(params), {"space": [], "values": {}})


@st.composite
def spaces(draw):
    """Random spaces: numeric, choice and boolean factors, some conditional on an earlier one."""
    params: list[Param] = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["int", "choice", "boolean"]))
        if kind == "int":
            low = draw(st.integers(-5, 5))
            levels = (low, low + draw(st.integers(1, 9)))
        elif kind == "choice":
            levels = tuple(f"v{j}" for j in range(draw(st.integers(2, 4))))
        else:
            levels = (False, True)
        conditions = ()
        if params and draw(st.booleans()):
            parent = draw(st.sampled_from(params))
            allowed = draw(st.lists(st.sampled_from(parent.levels), min_size=1, unique=True))
            conditions = (Condition(parent.name, tuple(allowed)),)
        params.append(Param(f"p{i}", kind, levels[0], levels, conditions=conditions))
    return _space(params)


def _active_levels(space: SearchSpace, case: plan.Case) -> dict[str, object]:
    return {name: value for name, value in case.values.items() if space.is_active(name, case.values)}


def _reachable(space: SearchSpace, names: tuple[str, ...]) -> set[tuple]:
    """Every combination of levels of ``names`` some assignment of all levels makes co-active."""
    params = list(space)
    found = set()
    for combo in itertools.product(*(p.levels for p in params)):
        values = dict(zip((p.name for p in params), combo))
        if all(space.is_active(name, values) for name in names):
            found.add(tuple(values[name] for name in names))
    return found


@settings(max_examples=40, deadline=None)
@given(space=spaces(), strength=st.integers(1, 3))
def test_corners_cover_every_coactive_t_tuple(space, strength):
    strength = min(strength, len(space))
    result = plan.cases(space, (plan.CORNERS,), strength, budget=0.02)
    actives = [_active_levels(space, case) for case in result]
    for names in itertools.combinations([p.name for p in space], strength):
        for combo in _reachable(space, names):
            assert any(all(a.get(n, object()) == v for n, v in zip(names, combo)) for a in actives), (names, combo)
    keys = [frozenset(a.items()) for a in actives]
    assert len(keys) == len(set(keys))  # no two cases share their active values
    again = plan.cases(space, (plan.CORNERS,), strength, budget=0.02)
    assert [c.to_dict() for c in again] == [c.to_dict() for c in result]  # deterministic: same order, same ids


def _binary(k: int) -> SearchSpace:
    return _space([Param(f"x{i}", "int", 0, (0, 1)) for i in range(k)])


def test_corners_of_the_guides_grid_include_the_failing_pair():
    space = _space([Param("units_1", "int", 10, (10, 40)), Param("units_2", "int", 10, (10, 30))])
    ids = [case.id for case in plan.cases(space)]
    assert ids == ["defaults", "units_1=40", "units_2=30", "units_1=40-units_2=30"]


def test_pairwise_corners_stay_small():
    result = plan.cases(_binary(100), (plan.CORNERS,))
    # The Kleitman-Spencer optimum for 100 factors is 10 rows; its all-zeros row is the default case.
    assert len(result) == 10
    assert result.cases[0].kinds == ("default", "corner")


def test_grid_and_the_cap():
    result = plan.cases(_binary(4), (plan.GRID,))
    assert len(result) == 16
    with pytest.raises(
        plan.PlanError, match="grid of 12 hyperparameters has 4096 cases, over --hypermodel-max-cases 256"
    ):
        plan.cases(_binary(12), (plan.GRID,))
    capped = plan.cases(
        _binary(12), (plan.EXTREMES, plan.CORNERS), max_cases=len(plan.cases(_binary(12), (plan.CORNERS,)))
    )
    assert capped.dropped == capped.planned - len(capped) > 0
    corners = plan.cases(_binary(12), (plan.CORNERS,))
    # Every covering row is kept (corners before leftover extremes), labelled by whichever planned it first.
    assert [c.id for c in capped] == [c.id for c in corners]
    assert all("corner" in c.kinds for c in capped)


def test_three_levels_add_the_default():
    space = _space([Param("a", "int", 5, (0, 10)), Param("b", "int", 0, (0, 10))])
    values = {(c.values["a"], c.values["b"]) for c in plan.cases(space, (plan.GRID,), levels=3)}
    assert values == {(a, b) for a in (0, 5, 10) for b in (0, 10)}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strength": 0}, "strength 0: use 1 to 3"),
        ({"strength": 4}, "strength 4: use 1 to 3, the number of hyperparameters varied"),
        ({"levels": 4}, "levels 4: use 2"),
    ],
)
def test_bad_plan_options(kwargs, message):
    with pytest.raises(plan.PlanError, match=message):
        plan.cases(_binary(3), (plan.CORNERS,), **kwargs)


def _huge_choice_space() -> SearchSpace:
    """A Choice of 10,000 values beside a Boolean and an Int: three factors, as tests/hypermodels/hostile.py has."""
    return _space(
        [
            Param("seed", "choice", 0, tuple(range(10_000))),
            Param("flag", "boolean", False, (False, True)),
            Param("units", "int", 1, (1, 2), 1, 2),
        ]
    )


def test_a_huge_choice_is_planned_at_a_few_of_its_values_in_a_second_and_a_few_mib():
    """The covering builder once asked NumPy for 7 TiB here (every pair of 10,007 levels): the plan's memory must
    grow with the plan, not with the product of the levels."""
    space = _huge_choice_space()
    started = time.perf_counter()
    result = plan.cases(space)
    assert time.perf_counter() - started < 1.0
    tracemalloc.start()
    try:
        plan.cases(space)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20
    seeds = {c.values["seed"] for c in result if c.kind != plan.KIND_INTERIOR}
    assert {0, 9_999} <= seeds and len(seeds) == len(plan.plan_levels(space.by_name["seed"])) <= plan.MAX_LEVELS
    # The interior draws add a few values from the whole range, no more than they are.
    drawn = {c.values["seed"] for c in result if c.kind == plan.KIND_INTERIOR} - seeds
    assert 0 < len(drawn) <= plan.INTERIOR_DRAWS
    assert result.capped == {"seed": (len(seeds), 10_000)}
    assert result.notes() == [
        f"seed: {len(seeds)} of its 10000 values planned (evenly spread, its default among "
        f"them; at most {plan.MAX_LEVELS} per hyperparameter)"
    ]
    # The corners still cover every pair of the levels planned.
    corners = plan.cases(space, (plan.CORNERS,), max_cases=None)
    pairs = {(c.values["seed"], c.values["flag"]) for c in corners}
    assert pairs == {(s, f) for s in seeds for f in (False, True)}


def _heads_and_units() -> SearchSpace:
    return _space(
        [
            Param("heads", "int", 1, (1, 8), 1, 8),
            Param("units", "int", 16, (16, 64), 16, 64, 16),
            Param("lr", "float", 1e-3, (1e-4, 1e-1), 1e-4, 1e-1, sampling="log"),
            Param("decay", "float", 0.0, (0.0, 0.5), 0.0, 0.5, 0.1, conditions=(Condition("heads", (8,)),)),
        ]
    )


def test_interior_cases_hold_every_value_of_a_small_range_and_seeded_draws_within_the_ranges():
    """Heads 3, 5, 6 and 7 fail inside 1..8 (they do not divide the units): the extremes and corners never hold
    them; the interior cases do, each alone, and draw from inside every range, the same for a seed."""
    space = _heads_and_units()
    result = plan.cases(space)
    interior = [c for c in result if c.kind == plan.KIND_INTERIOR]
    alone = [(c.varied, c.values) for c in interior if len(c.varied) == 1]
    assert {(v["heads"], v["units"]) for k, v in alone if k == ("heads",)} == {(h, 16) for h in range(2, 8)}
    assert {v["units"] for k, v in alone if k == ("units",)} == {32, 48}
    drawn = [c for c in interior if len(c.varied) > 1]
    assert 0 < len(drawn) <= plan.INTERIOR_DRAWS
    for case in drawn:
        assert case.values["units"] in (16, 32, 48, 64) and 1 <= case.values["heads"] <= 8
        assert 1e-4 <= case.values["lr"] <= 1e-1
        assert ("decay" in case.values) == (case.values["heads"] == 8)  # only where its condition holds
    assert [c.values for c in plan.cases(space)] == [c.values for c in result]
    other = plan.cases(space, seed=1)
    assert [c.values for c in other if c.kind == plan.KIND_INTERIOR] != [c.values for c in interior]
    assert not [c for c in plan.cases(space, (plan.EXTREMES, plan.CORNERS)) if c.kind == plan.KIND_INTERIOR]


def test_interior_values_follow_kerastuner_s_steps():
    assert plan.int_values(Param("f", "int", 8, (8, 128), 8, 128, 2, "log")) == [8, 16, 32, 64, 128]
    assert plan.int_values(Param("u", "int", 10, (10, 40), 10, 45, 10)) == [10, 20, 30, 40]
    assert plan.int_values(Param("n", "int", 1, (1, 10**6), 1, 10**6)) is None  # too many to list: drawn only
    assert plan.int_values(Param("c", "choice", "a", ("a", "b"))) is None
    import random

    rng = random.Random(0)
    assert {plan.draw(Param("n", "int", 1, (1, 10**6), 1, 10**6, 5), rng) % 5 for _ in range(50)} == {1}
    assert {plan.draw(Param("x", "float", 0.0, (0.0, 1.0), 0.0, 1.0, 0.25), rng) for _ in range(50)} <= {
        0.0,
        0.25,
        0.5,
        0.75,
        1.0,
    }


def test_a_capped_choice_keeps_its_default():
    param = Param("lr", "choice", 0.5, tuple(i / 1000 for i in range(1, 1001)))
    levels = plan.plan_levels(param)
    assert 0.5 in levels and levels[0] == 0.001 and levels[-1] == 1.0 and len(levels) == plan.MAX_LEVELS
    assert levels == tuple(sorted(levels))  # in the Choice's own order


def test_values_that_spell_another_cases_id_get_a_suffix():
    """``a='y-b=2'`` alone and ``a='y'`` with ``b=2`` would both be ``a=y-b=2``: one id each, stable."""
    space = _space([Param("a", "choice", "x", ("x", "y", "y-b=2")), Param("b", "int", 1, (1, 2), 1, 2)])
    result = plan.cases(space, (plan.GRID,))
    ids = [c.id for c in result]
    assert len(set(ids)) == len(ids) == 6
    by_id = {c.id: dict(c.values) for c in result}
    assert sorted([by_id["a=y-b=2"], by_id["a=y-b=2~2"]], key=str) == [{"a": "y", "b": 2}, {"a": "y-b=2", "b": 1}]
    assert ids == [c.id for c in plan.cases(space, (plan.GRID,))]


@pytest.mark.parametrize("name", ["units\x07", "\x1b[31mred\x1b[0m", "tab\there", "back\\slash", "\\x07", "ünïcode"])
def test_printable_escapes_what_xml_and_terminals_cannot_hold_and_is_reversible(name):
    text = plan.printable(name)
    assert text.isprintable() and plan.unprintable(text) == name
    assert text == name if name == "ünïcode" else text != name
