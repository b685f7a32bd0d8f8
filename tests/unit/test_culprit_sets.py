"""Culprits: a failing set is explained by the smaller failing sets inside it, and the forecast's predicate judges a
draw by the runs nearest to it."""

from __future__ import annotations

from pytest_hypermodel.rules import culprits


def test_a_failing_set_is_explained_by_the_smaller_failing_sets_inside_it():
    failing = [{"a": 5}, {"a": 5, "b": 16}, {"b": 16, "c": 1}, {"a": 5, "b": 16, "c": 1}]
    assert culprits.explaining({"a": 5, "b": 16}, failing) == [{"a": 5}]
    assert culprits.explaining({"a": 5, "b": 16, "c": 1}, failing) == [{"a": 5}, {"b": 16, "c": 1}]
    assert culprits.explaining({"b": 16, "c": 1}, failing) == []
    groups = culprits.analyse(failing, order=["a", "b", "c"].index)
    assert [(g.names, g.members) for g in groups] == [(("a",), (0, 1, 3)), (("b", "c"), (2,))]
    assert culprits.text(failing, ["a", "b", "c"].index) == "a; b, c together"
    assert culprits.text([{}, {"a": 5}]) == ""  # the defaults fail: every other failure may be theirs


def test_combinations_that_share_a_hyperparameter_are_one_culprit():
    failing = [{"num_layers": 10, f"units_{i}": 2000} for i in range(3)]
    assert culprits.text(failing, lambda n: n) == "num_layers together with any of units_0, units_1, units_2"


def test_the_forecast_s_predicate_judges_a_draw_by_the_runs_nearest_to_it():
    """What a random tuner's draw would do: a run's own result; else a failing set it holds (a numeric value nearer
    the failing one than any passing one counts), unless a completed run held that set with one of its values."""
    from pytest_hypermodel.rules.culprits import Predicate

    runs = [
        ({}, "completed"),
        ({"units": 40}, "failed"),
        ({"pooling2": "avg"}, "stops_search"),
        ({"layers": 1, "pooling2": "avg"}, "completed"),
    ]
    judge = Predicate.from_runs(
        runs, "completed", {"units": float}, {"units": 10, "layers": 3}, exact=[({"units": 20, "layers": 2}, "failed")]
    )
    assert judge({}) is None and judge({"units": 40}) == "failed"
    assert judge({"units": 30}) == "failed" and judge({"units": 20}) is None  # nearer 40 than 10; nearer 10
    assert judge({"units": 20, "layers": 2}) == "failed"  # known for itself ...
    assert judge({"units": 15, "layers": 2}) is None  # ... and only for itself
    assert judge({"pooling2": "avg", "layers": 2}) == "stops_search"
    assert judge({"pooling2": "avg", "layers": 1, "units": 20}) is None  # layers=1 masks it: pooling2 is unread
