"""Bystanders and the narrowest repair, on spaces whose truth is known by construction.

A hyperparameter that exists only under another's value (``filters_3`` only when ``conv_blocks=4``) is never
named as that value's partner. A repair keeps every value that passed: ``rows=3`` failing in 2..5 is repaired by
a Choice of 2, 4, 5, beside the range cut to 2.
"""

from __future__ import annotations

from pytest_hypermodel.rules import boundaries, culprits, repair
from pytest_hypermodel.space import plan
from pytest_hypermodel.space.hyperparameters import Condition, Param, SearchSpace
from pytest_hypermodel.views import readback

IMAGE = 28


def _conv_space() -> SearchSpace:
    """The conv stack of tests/engine/test_bystanders.py: filters_1..3 are read only when conv_blocks=4."""
    params = [
        Param("kernel_size", "choice", 3, (3, 5)),
        Param("conv_blocks", "int", 1, (1, 4), 1, 4, None, "linear"),
        Param("filters_0", "int", 4, (4, 8), 4, 8, 4, "linear"),
    ]
    params += [
        Param(f"filters_{i}", "int", 4, (4, 8), 4, 8, 4, "linear", (Condition("conv_blocks", (4,)),), dynamic=True)
        for i in (1, 2, 3)
    ]
    return SearchSpace(tuple(params), {"space": []})


def _conv_fails(values: dict) -> bool:
    """Two valid convolutions a block: 2 * (kernel_size - 1) pixels off per block."""
    return IMAGE - values.get("conv_blocks", 1) * 2 * (values.get("kernel_size", 3) - 1) < 1


REQUIRES = {"filters_1": ("conv_blocks",), "filters_2": ("conv_blocks",), "filters_3": ("conv_blocks",)}


def test_the_space_says_which_hyperparameters_exist_only_under_another():
    assert culprits.requires_of(_conv_space()) == REQUIRES


def test_a_value_that_exists_only_under_conv_blocks_is_not_its_partner():
    failing = [
        {"kernel_size": 5, "conv_blocks": 4, "filters_0": 8, "filters_1": 8, "filters_2": 8},
        {"kernel_size": 5, "conv_blocks": 4, "filters_0": 8, "filters_3": 8},
        {"kernel_size": 5, "conv_blocks": 4, "filters_1": 8, "filters_2": 8, "filters_3": 8},
    ]
    order = culprits.space_order(_conv_space())
    assert culprits.text(failing, order) == (
        "kernel_size, conv_blocks together with any of filters_0, filters_1, filters_2, filters_3"
    )
    assert culprits.text(failing, order, REQUIRES) == "kernel_size, conv_blocks together"
    (group,) = culprits.analyse(failing, order, REQUIRES)
    assert group.names == ("kernel_size", "conv_blocks") and sorted(group.members) == [0, 1, 2]


def test_the_planned_cases_of_the_conv_stack_name_kernel_size_and_conv_blocks():
    space = _conv_space()
    cases = plan.cases(space).cases
    failing = [culprits.off_defaults(c.values, space) for c in cases if _conv_fails(c.values)]
    passing = [culprits.off_defaults(c.values, space) for c in cases if not _conv_fails(c.values)]
    assert failing and all(m["kernel_size"] == 5 and m["conv_blocks"] == 4 for m in failing)
    requires = culprits.requires_of(space)
    assert culprits.text(failing, culprits.space_order(space), requires, passing) == "kernel_size, conv_blocks together"


def test_a_dependent_value_stays_the_culprit_where_the_rest_passes_without_it():
    """large_units exists only when model_type="large"; model_type="large" passing alone leaves large_units=128 to
    blame, and conv_blocks=4 beside filters_3 alone has no partner to stand by."""
    requires = {"large_units": ("model_type",)}
    moved = {"model_type": "large", "large_units": 128}
    assert culprits.attributed(moved, requires, [{"model_type": "large"}]) == moved
    assert culprits.attributed({"conv_blocks": 4, "filters_3": 8}, REQUIRES) == {"conv_blocks": 4, "filters_3": 8}
    assert culprits.attributed({"kernel_size": 5, "conv_blocks": 4, "filters_3": 8}, REQUIRES) == {
        "kernel_size": 5,
        "conv_blocks": 4,
    }


def test_the_boundaries_of_the_conv_stack_take_no_filters_as_a_partner():
    space = _conv_space()
    known = {frozenset(case.values.items()): _conv_fails(case.values) for case in plan.cases(space)}
    found = boundaries.find(space, known, _conv_fails)
    assert [(b.hyperparameter, b.given, b.last_ok, b.first_failing) for b in found.boundaries] == [
        ("conv_blocks", {"kernel_size": 5}, 3, 4)
    ]


# ------------------------------------------------------------------------------------------- the narrowest repair


def _rows(low: int = 2, high: int = 5, default: int = 2) -> SearchSpace:
    return SearchSpace((Param("rows", "int", default, (low, high), low, high, None, "linear"),), {"space": []})


def _found(space: SearchSpace, fails) -> boundaries.Findings:
    known = {frozenset(case.values.items()): fails(case.values) for case in plan.cases(space)}
    return boundaries.find(space, known, fails)


def test_a_failing_value_between_passing_ones_is_repaired_by_a_choice_of_every_value_that_passed():
    space = _rows()
    found = _found(space, lambda values: values["rows"] == 3)
    assert found.surveyed == {"rows": {2: False, 3: True, 4: False, 5: False}}
    cut = repair.propose(space, found)
    assert cut == [repair.Change("rows", "max_value", 5, 2)]
    assert repair.kept_values(space, found, cut, "rows") == [2]
    assert repair.kept_values(space, found, [repair.Change("rows", "min_value", 2, 4)], "rows") == [4, 5]
    widest = repair.propose_widest(space, found, cut)
    assert widest == [repair.Change("rows", "choice", (2, 5), (2, 4, 5))]
    assert repair.kept_values(space, found, widest, "rows") == [2, 4, 5]
    assert widest[0].describe() == "rows: a Choice of 2, 4, 5"
    assert readback.change_text(widest[0].to_dict()) == "declare rows as a Choice of 2, 4, 5, the values that passed"


def test_a_raised_min_value_is_the_repair_when_it_keeps_every_value_that_passed():
    """The default 4 of 2..6 passes; 2 and 3 fail: no value below the boundary passes, so the range is not
    surveyed (no probe more) and the cut, which keeps 4, 5, 6, stays the repair."""
    space = _rows(2, 6, default=4)
    found = _found(space, lambda values: values["rows"] < 4)
    cut = repair.propose(space, found)
    assert cut == [repair.Change("rows", "min_value", 2, 4)]
    assert found.surveyed == {} and repair.propose_widest(space, found, cut) == []
    found.surveyed["rows"] = {2: True, 3: True, 4: False, 5: False, 6: False}
    assert repair.widest(space, found, "rows") == cut


def test_the_longest_run_of_passing_values_is_a_range_when_it_holds_them_all():
    """Where the passing values make one run (4..6 after 2 and 3 fail), the repair is that range; a Choice only
    where the longest run leaves passing values out (2 passing below the failing 3)."""
    space = _rows(2, 6, default=6)
    found = boundaries.Findings(surveyed={"rows": {2: True, 3: True, 4: False, 5: False, 6: False}})
    assert repair.widest(space, found, "rows") == [repair.Change("rows", "min_value", 2, 4)]
    found.surveyed["rows"] = {2: False, 3: True, 4: False, 5: False, 6: True}
    assert repair.widest(space, found, "rows") == [repair.Change("rows", "choice", (2, 6), (2, 4, 5))]


def test_a_choice_repair_rewrites_the_declaration_and_keeps_its_default(tmp_path):
    build = tmp_path / "grid.py"
    build.write_text('def build(hp):\n    rows = hp.Int("rows", 2, 5, default=2)\n    return rows\n')
    space = SearchSpace(_rows().params, {"space": []}, sites={"rows": (str(build), 2)})
    change = repair.Change("rows", "choice", (2, 5), (2, 4, 5))
    text, _, unplaced = repair.diff(space, [change], tmp_path)
    assert not unplaced
    assert '+    rows = hp.Choice("rows", [2, 4, 5], default=2)' in text
    assert repair.rewrite("Int", "rows", (2, 5), {"default": 2}, [change]) == (
        "Choice",
        {"values": [2, 4, 5], "default": 2},
    )


def test_a_corner_that_a_dependent_culprit_explains_keeps_it():
    """num_layers=3 with units_1=8 fails (units_1 exists only from num_layers=2): the corner that also moved units_0
    is explained by it, so units_1 is not dropped from it, and units_0 is not blamed."""
    requires = {"units_1": ("num_layers",), "units_2": ("num_layers",)}
    failing = [
        {"num_layers": 3, "units_1": 8},
        {"num_layers": 3, "units_2": 8},
        {"num_layers": 3, "units_0": 8, "units_1": 8},
    ]
    order = ["num_layers", "units_0", "units_1", "units_2"].index
    assert culprits.text(failing, order, requires) == "num_layers together with any of units_1, units_2"
