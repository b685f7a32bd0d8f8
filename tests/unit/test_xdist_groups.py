"""The suite's xdist groups, read from the modules' ``pytestmark`` lines (tests/conftest.py's scheduler)."""

from __future__ import annotations

from pathlib import Path

from conftest import module_groups

ROOT = Path(__file__).parents[2]


def test_the_modules_that_share_a_run_share_a_group_and_the_others_have_none():
    groups = module_groups(ROOT)
    assert groups["tests/plugin/test_github.py"] == groups["tests/plugin/test_html_report.py"] == "renderers"
    assert groups["tests/engine/test_rehearsal.py"] == "rehearsal"
    assert groups["tests/proofs/test_boundaries_found.py"] == "boundaries"
    assert "tests/engine/test_forecast.py" not in groups
