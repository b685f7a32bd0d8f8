"""Counted nouns read right for one: every count the plugin prints goes through ``space.words``."""

from __future__ import annotations

from pytest_hypermodel.engine import progress
from pytest_hypermodel.space.words import noun, plural
from pytest_hypermodel.views import outputs


def test_one_is_singular_and_the_rest_plural():
    assert [plural(n, "case") for n in (0, 1, 2)] == ["0 cases", "1 case", "2 cases"]
    assert plural(1, "boundary", "boundaries") == "1 boundary"
    assert plural(3, "boundary", "boundaries") == "3 boundaries"
    assert plural(1, "batch", "batches") == "1 batch" and plural(2, "batch", "batches") == "2 batches"
    assert noun(1, "configuration") == "configuration" and noun(12, "configuration") == "configurations"


def test_the_progress_lines_count_with_the_same_helper():
    assert progress.plural is plural


def test_the_terminal_counts_of_one_case_and_one_run_are_singular():
    entries = [{"nodeid": "m.py::build_model[defaults]", "outcome": "ok", "disposition": "completed", "runs": 1}]
    assert outputs.summary_lines(entries) == ["1 case: 1 ok; KerasTuner would spend 1 run on them"]
