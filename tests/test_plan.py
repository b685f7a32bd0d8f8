"""Planning: corners cover every t-way combination of levels among co-active hyperparameters."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_hypermodel import plan
from pytest_hypermodel.space import Condition, Param, SearchSpace


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
    with pytest.raises(plan.PlanError, match="grid of 12 hyperparameters has 4096 cases, over --hypermodel-max-cases 256"):
        plan.cases(_binary(12), (plan.GRID,))
    capped = plan.cases(_binary(12), (plan.EXTREMES, plan.CORNERS), max_cases=len(plan.cases(_binary(12), (plan.CORNERS,))))
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
