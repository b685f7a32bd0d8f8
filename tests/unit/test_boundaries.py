"""Failure boundaries and verified repairs, on spaces whose true boundary is known by construction."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys

import pytest
from conftest import HYPERMODELS

from pytest_hypermodel.engine import refine
from pytest_hypermodel.rules import boundaries, repair
from pytest_hypermodel.space import plan
from pytest_hypermodel.space.hyperparameters import Condition, Param, SearchSpace

sys.path.insert(0, str(HYPERMODELS))
import guide
import realistic

# ----------------------------------------------------------------------------------- the search, on arithmetic


def _conv_space() -> SearchSpace:
    params = [
        Param("kernel_size", "choice", 3, (3, 5, 7)),
        Param("conv_blocks", "int", 1, (1, 4), 1, 4, None, "linear"),
    ]
    params += [
        Param(
            f"filters_{i}",
            "int",
            4,
            (4, 8),
            4,
            8,
            4,
            "linear",
            (Condition("conv_blocks", tuple(range(i + 1, 5))),) if i else (),
            dynamic=bool(i),
        )
        for i in range(4)
    ]
    return SearchSpace(tuple(params), {"space": []})


def _known(space: SearchSpace, fails) -> dict:
    return {frozenset(case.values.items()): fails(case.values) for case in plan.cases(space)}


def _grid(space: SearchSpace) -> list[dict]:
    import itertools

    return [
        dict(zip(space.by_name, values))
        for values in itertools.product(*(boundaries.values_between(p, p.min_value, p.max_value) for p in space))
    ]


def _by_given(found: boundaries.Findings) -> dict:
    return {tuple(sorted(b.given.items())): (b.hyperparameter, b.last_ok, b.first_failing) for b in found.boundaries}


def test_the_conv_stack_boundary_per_kernel_size_is_what_its_arithmetic_says():
    space = _conv_space()
    probed = []
    found = boundaries.find(
        space,
        _known(space, realistic.conv_stack_fails),
        lambda values: probed.append(values) or realistic.conv_stack_fails(values),
    )
    expected = {}
    for kernel in (3, 5, 7):
        blocks = [b for b in range(1, 5) if not realistic.conv_stack_fails({"conv_blocks": b, "kernel_size": kernel})]
        given = () if kernel == 3 else (("kernel_size", kernel),)
        expected[given] = ("conv_blocks", max(blocks), max(blocks) + 1)
    assert (
        _by_given(found)
        == expected
        == {
            (): ("conv_blocks", 3, 4),
            (("kernel_size", 5),): ("conv_blocks", 2, 3),
            (("kernel_size", 7),): ("conv_blocks", 2, 3),
        }
    )
    assert found.probes == len(probed) <= 12  # about log2(4) per boundary, plus the checks that filters do not matter
    assert repair.propose(space, found) == [repair.Change("conv_blocks", "max_value", 4, 2)]


def test_the_guide_grid_frontier_gives_the_largest_passing_units_1_for_each_units_2():
    space = SearchSpace(
        (
            Param("units_1", "int", 10, (10, 40), 10, 40, 10, "linear"),
            Param("units_2", "int", 10, (10, 30), 10, 30, 10, "linear"),
        ),
        {"space": []},
    )

    def params(v):
        return 21 * v["units_1"] + v["units_1"] * v["units_2"] + 2 * v["units_2"] + 1

    found = boundaries.find(space, _known(space, lambda v: params(v) > guide.LIMIT), lambda v: params(v) > guide.LIMIT)
    frontier = found.frontiers()[("units_1", "units_2")]
    truth = {
        u2: max(u1 for u1 in (10, 20, 30, 40) if params({"units_1": u1, "units_2": u2}) <= guide.LIMIT)
        for u2 in (10, 20, 30)
    }
    assert {b.given["units_2"]: b.last_ok for b in frontier} == truth == {10: 30, 20: 20, 30: 20}
    # The narrower alternative for the interaction: units_1 up to 30, and FailedTrialError past the frontier.
    cut = repair.propose(space, found)
    assert cut == [repair.Change("units_1", "max_value", 40, 20)]
    narrower = repair.propose_guarded(space, found, cut)
    assert narrower == [
        repair.Change("units_1", "max_value", 40, 30),
        repair.Change("units_1", "guard", "units_2", (True, ((10, 30), (20, 20), (30, 20)))),
    ]
    assert narrower[1].condition() == 'hp.get("units_1") > {10: 30, 20: 20, 30: 20}[hp.get("units_2")]'
    assert all(narrower[1].crossed(v) == (params(v) > guide.LIMIT) for v in _grid(space) if v["units_1"] <= 30)


@pytest.mark.parametrize("sampling", ["linear", "log"])
def test_a_continuous_range_is_bisected_to_a_128th_of_it(sampling):
    space = SearchSpace((Param("lr", "float", 1e-3, (1e-3, 10.0), 1e-3, 10.0, None, sampling),), {"space": []})
    found = boundaries.find(space, _known(space, lambda v: v["lr"] > 0.5), lambda v: v["lr"] > 0.5)
    (b,) = found.boundaries
    assert b.last_ok <= 0.5 < b.first_failing and found.probes == boundaries.CONTINUOUS_STEPS
    width = (
        (math.log(b.first_failing / b.last_ok) / math.log(1e4))
        if sampling == "log"
        else (b.first_failing - b.last_ok) / 10
    )
    assert width <= 1 / 2**boundaries.CONTINUOUS_STEPS + 1e-9
    (change,) = repair.propose(space, found)
    assert change.kind == "max_value" and change.new <= b.last_ok  # a short literal, on the passing side


def test_values_between_are_only_those_kerastuner_can_produce():
    stepped = Param("units", "int", 8, (8, 64), 8, 64, 8, "linear")
    assert list(boundaries.values_between(stepped, 8, 64)) == [8, 16, 24, 32, 40, 48, 56, 64]
    assert list(boundaries.values_between(stepped, 64, 40)) == [64, 56, 48, 40]
    logged = Param("units", "int", 2, (2, 64), 2, 64, 2, "log")
    assert list(boundaries.values_between(logged, 2, 64)) == [2, 4, 8, 16, 32, 64]
    assert boundaries.values_between(Param("lr", "float", 0.1, (0.1, 1.0), 0.1, 1.0), 0.1, 1.0) is None


def test_the_probe_budget_stops_the_search_and_says_so():
    space = SearchSpace((Param("n", "int", 0, (0, 10**6), 0, 10**6, None, "linear"),), {"space": []})
    found = boundaries.find(space, _known(space, lambda v: v["n"] > 5), lambda v: v["n"] > 5, budget=4)
    assert found.probes == 4 and found.boundaries == [] and "budget" in found.note


def test_failing_defaults_are_searched_from_the_value_the_error_names_that_passes():
    """units=0 fails, and so the defaults: the search starts from units' other extreme (the error names units,
    so it is tried before kernel_size), and the failing default is then a boundary like any other."""
    space = SearchSpace(
        (
            Param("kernel_size", "int", 3, (3, 7), 3, 7, 2, "linear"),
            Param("units", "int", 0, (0, 64), 0, 64, 16, "linear"),
        ),
        {"space": []},
        default_error="ValueError: Received an invalid value for `units`: units=0",
    )
    asked = []

    def failed(values):
        asked.append(dict(values))
        return values["units"] == 0

    found = boundaries.find(space, {frozenset(space.complete({}).items()): True}, failed)
    assert found.moved_default == ("units", 0, 64) and asked[0] == {"kernel_size": 3, "units": 64}
    assert [(b.hyperparameter, b.last_ok, b.first_failing, b.given) for b in found.boundaries] == [("units", 16, 0, {})]
    assert repair.propose(space, found) == [repair.Change("units", "min_value", 0, 16)]
    # No value of one hyperparameter passes alone: said, and nothing proposed.
    stuck = boundaries.find(space, {}, lambda values: True)
    assert stuck.boundaries == [] and "no hyperparameter moved alone from its default passes" in stuck.note


def test_a_declared_default_moves_with_the_bound_the_repair_moves(tmp_path):
    """KerasTuner takes an Int's default outside its range without a word, and builds it first: the diff and the
    enforced hp move it to the new bound (or a Choice's to the first value kept)."""
    source = tmp_path / "m.py"
    source.write_text(
        'def build(hp):\n    return hp.Int("units", 0, 64, step=16, default=0), '
        'hp.Choice("act", ["bad", "relu"], default="bad")\n'
    )
    sites = {"units": (str(source), 2), "act": (str(source), 2)}
    space = SearchSpace(
        (Param("units", "int", 0, (0, 64), 0, 64, 16), Param("act", "choice", "bad", ("bad", "relu"))),
        {"space": []},
        sites=sites,
    )
    changes = (repair.Change("units", "min_value", 0, 16), repair.Change("act", "values", ("bad", "relu"), ("relu",)))
    text, _, unplaced = repair.diff(space, changes, tmp_path)
    assert unplaced == {}
    assert (
        "+    return hp.Int(\"units\", 16, 64, step=16, default=16), hp.Choice(\"act\", ['relu'], default='relu')"
        in text
    )
    assert repair.rewrite("Int", "units", (0, 64), {"step": 16, "default": 0}, changes) == (
        "Int",
        {"min_value": 16, "max_value": 64, "step": 16, "default": 16},
    )


def test_a_range_of_ten_million_steps_is_bisected_without_listing_it():
    """Every Int has a step (KerasTuner's default is 1): the values between were once listed, 10^7 of them here."""
    import time
    import tracemalloc

    space = SearchSpace((Param("n", "int", 0, (0, 10**7), 0, 10**7, 1, "linear"),), {"space": []})
    started = time.perf_counter()
    tracemalloc.start()
    try:
        found = boundaries.find(space, _known(space, lambda v: v["n"] > 123_456), lambda v: v["n"] > 123_456)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2 and peak < 8 * 2**20
    assert [(b.last_ok, b.first_failing) for b in found.boundaries] == [(123_456, 123_457)] and found.probes < 30
    steps = boundaries.values_between(Param("f", "float", 0.0, (0.0, 3.0), 0.0, 3.0, 1e-4, "linear"), 2.0, 0.3)
    assert (len(steps), steps[0], steps[1], steps[-1]) == (17_001, 2.0, 1.9999, 0.3)


def test_a_search_cut_short_finds_the_same_boundary_in_every_process():
    """Which interaction is bisected first must not hang on string hashes, which differ per process."""
    script = (
        "from pytest_hypermodel.rules import boundaries\n"
        "from pytest_hypermodel.space import plan\n"
        "from pytest_hypermodel.space.hyperparameters import Param, SearchSpace\n"
        "space = SearchSpace(tuple(Param(n, 'int', 1, (1, 10), 1, 10, 1, 'linear') for n in ('layers', 'a', 'b', 'c')),"
        " {'space': []})\n"
        "fails = lambda v: v['layers'] * max(v['a'], v['b'], v['c']) > 50\n"
        "known = {frozenset(c.values.items()): fails(c.values) for c in plan.cases(space)}\n"
        "print([(b.hyperparameter, b.given) for b in boundaries.find(space, known, fails, budget=4).boundaries])\n"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in range(6)
    }
    assert len(runs) == 1, runs
    assert runs.pop().startswith("[('layers', ")  # the first declared of the pair


@pytest.mark.parametrize(
    ("second", "placed"),
    [
        ('    units_2 = hp.Int("units_2", 10, 30, step=10)\n', True),
        ('    model.add(Dense(hp.Int("units_2", 10, 30, step=10)))\n', False),  # the statement itself may fail first
    ],
)
def test_a_guard_is_placed_only_where_it_runs_as_soon_as_its_values_are_known(tmp_path, second, placed):
    path = tmp_path / "build.py"
    path.write_text(
        'def build(hp):\n    units_1 = hp.Int("units_1", 10, 40, step=10)\n' + second + "    return model\n"
    )
    space = SearchSpace(
        (
            Param("units_1", "int", 10, (10, 40), 10, 40, 10, "linear"),
            Param("units_2", "int", 10, (10, 30), 10, 30, 10, "linear"),
        ),
        {"space": []},
        sites={"units_1": (str(path), 2), "units_2": (str(path), 3)},
    )
    guard = repair.Change("units_1", "guard", "units_2", (True, ((10, 30), (20, 20), (30, 20))))
    _diff, texts, unplaced = repair.diff(space, [guard], tmp_path)
    assert list(unplaced) == ([] if placed else ["units_1"])
    if placed:
        assert (
            texts[path].splitlines()[3] == '    if hp.get("units_1") > {10: 30, 20: 20, 30: 20}[hp.get("units_2")]:  '
            "# the frontier the preflight found"
        )
        compile(texts[path], "build.py", "exec")


def test_the_enforced_hp_applies_the_changes_to_the_users_own_declarations():
    import keras_tuner as kt

    changes = (
        repair.Change("units", "max_value", 64, 40),
        repair.Change("activation", "values", ("relu", "tanh"), ("relu",)),
    )
    hp = kt.HyperParameters()
    enforced = repair.Enforced(hp, changes)
    enforced.Int("units", 8, 64, step=8)
    enforced.Choice("activation", ["relu", "tanh"])
    enforced.Int("other", 1, 3)
    units, activation, other = hp.space
    assert (units.name, units.max_value, units.step) == ("units", 40, 8)
    assert (activation.name, list(activation.values)) == ("activation", ["relu"])
    assert (other.name, other.max_value) == ("other", 3)


# ----------------------------------------------------------------------------------- the repair's diff


@pytest.mark.parametrize("name", ['f"units_{i}"', '"units_" + str(i)', '"units_{}".format(i)', '"units_%d" % i'])
def test_a_line_that_declares_several_names_is_edited_only_when_all_get_the_change(tmp_path, name):
    """A name built at run time gets a diff when every name from its line takes the same change, and
    otherwise one line that says why there is none."""
    source = tmp_path / "loop.py"
    source.write_text(f"def build(hp):\n    for i in range(2):\n        hp.Int({name}, 8, 64)\n")
    sites = {"units_0": (str(source), 3), "units_1": (str(source), 3)}
    space = SearchSpace(
        (Param("units_0", "int", 8, (8, 64), 8, 64), Param("units_1", "int", 8, (8, 64), 8, 64)),
        {"space": []},
        sites=sites,
    )
    one = [repair.Change("units_1", "max_value", 64, 32)]
    assert repair.diff(space, one, tmp_path) == (
        "",
        {},
        {
            "units_1": (
                "loop.py:3 also declares units_0, which the repair does not change the same way: one edit there would "
                "change them all"
            )
        },
    )
    both = [repair.Change("units_0", "max_value", 64, 32), repair.Change("units_1", "max_value", 64, 32)]
    text, _files, unplaced = repair.diff(space, both, tmp_path)
    assert unplaced == {} and f"+        hp.Int({name}, 8, 32)\n" in text
    found = refine.Refinement(
        "loop.py:build", boundaries.Findings(), one, unplaced=repair.diff(space, one, tmp_path)[2]
    )
    assert (
        "  not in the diff: units_1: loop.py:3 also declares units_0, which the repair does not change the same "
        "way: one edit there would change them all" in found.lines()
    )


def test_the_distributed_tuning_guides_pooling_names_get_one_edit(tmp_path):
    """keras-io's distributed-tuning model declares ``"pooling" + str(i)`` in its loop: the repair that removes
    "avg" from every pooling{i} (what its preflight proposes) is one edit of that line."""
    path = tmp_path / "distributed_guide.py"
    shutil.copy(HYPERMODELS / "distributed_guide.py", path)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if 'hp.Choice("pooling" + str(i)' in text)
    names = [f"pooling{i}" for i in range(3)]
    space = SearchSpace(
        tuple(Param(n, "choice", "max", ("max", "avg")) for n in names),
        {"space": []},
        sites={n: (str(path), line) for n in names},
    )
    changes = [repair.Change(n, "values", ("max", "avg"), ("max",)) for n in names]
    text, _files, unplaced = repair.diff(space, changes, tmp_path)
    assert unplaced == {}
    assert text.count("\n-        if hp.Choice(") == 1
    assert '+        if hp.Choice("pooling" + str(i), [\'max\']) == "max":\n' in text


def test_the_safety_cap_on_the_clock_is_reported_as_such(monkeypatch):
    """Hit only by a runaway: then the note says the result depends on the machine, unlike the probe budget's."""
    clock = [0.0]
    monkeypatch.setattr(boundaries.time, "monotonic", lambda: clock[0])

    def slow(values):
        clock[0] += 20.0
        return values["n"] > 5

    space = SearchSpace((Param("n", "int", 0, (0, 10**6), 0, 10**6, None, "linear"),), {"space": []})
    found = boundaries.find(space, _known(space, lambda v: v["n"] > 5), slow, seconds=50)
    assert found.probes == 3 and found.boundaries == []
    assert found.note.startswith("stopped at the safety cap of 50 s on the wall clock")
    unhurried = boundaries.find(space, _known(space, lambda v: v["n"] > 5), slow, seconds=boundaries.safety_cap(0))
    assert [(b.last_ok, b.first_failing) for b in unhurried.boundaries] == [(5, 6)] and unhurried.note is None
