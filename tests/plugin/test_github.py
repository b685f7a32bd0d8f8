"""GitHub Actions annotations and step summary, from a real preflight report."""

from __future__ import annotations

import copy

import pytest
from conftest import once_per_run
from report_payloads import ROOT, line_of, many_culprits, parse, run_preflight, with_locations  # tests/ is on sys.path

from pytest_hypermodel.views import github

#: One xdist worker runs this module (with ``--dist loadgroup``, pyproject.toml): its tests share one real run
#: (``once_per_run``), which another worker would otherwise sit waiting for.
pytestmark = pytest.mark.xdist_group("renderers")


@pytest.fixture(scope="module")
def payload(tmp_path_factory) -> dict:
    return once_per_run(tmp_path_factory, "renderers", run_preflight)


def test_the_fatal_hyperparameter_is_annotated_on_its_declaration(payload):
    lines = github.annotations(with_locations(payload), ROOT)
    errors = [parse(line) for line in lines if line.startswith("::error")]
    culprit = next((p, m) for _, p, m in errors if "units_1=40 -> FatalError" in m)
    props, message = culprit
    assert props["file"] == "example_project/models.py"  # relative to the repository root
    assert int(props["line"]) == line_of('hp.Int("units_1"')
    assert "stop the whole search" in message
    assert "units_1=40-units_2=30" in message  # the corner it explains
    assert props["title"].startswith(
        "example_project/models.py%3Aguide_fatal%3A units_1=40"
    )  # ':' escaped in a property
    # The abort forecast has no hyperparameter: it goes on the build function's line.
    forecast = next((p, m) for _, p, m in errors if "would abort" in m)
    assert int(forecast[0]["line"]) == line_of("def guide_fatal")
    assert "100%25" in forecast[1]  # '%' escaped in the message
    # The healthy model says nothing.
    assert not any("build_model" in line for line in lines)


def test_the_plugin_s_own_report_points_at_the_declaring_line(payload):
    """The real report carries each declaration's file and line: no hand-added locations needed."""
    lines = github.annotations(payload, ROOT)
    declared = line_of('hp.Int("units_1"')
    assert any(line.startswith(f"::error file=example_project/models.py,line={declared},") for line in lines)


def test_without_locations_there_is_no_file(payload):
    bare = copy.deepcopy(payload)
    for entry in bare["hypermodels"]:
        entry.pop("declarations", None)
        entry.pop("definition", None)
    lines = github.annotations(bare, ROOT)
    assert lines and all(line.startswith("::error title=") for line in lines)


def test_a_file_outside_the_root_stays_absolute(payload, tmp_path):
    moved = with_locations(payload)
    for entry in moved["hypermodels"]:
        for spot in entry.get("declarations", {}).values():
            spot["file"] = "/elsewhere/models.py"
    errors = [parse(line) for line in github.annotations(moved, ROOT)]
    assert any(props.get("file") == "/elsewhere/models.py" for _, props, _ in errors)


def test_repair_and_boundaries_are_mentioned(payload):
    fixed = with_locations(payload)
    entry = next(e for e in fixed["hypermodels"] if e["spec"].endswith("guide_fatal"))
    entry["boundaries"] = [{"hyperparameter": "units_1", "last_ok": 30, "first_failing": 40, "given": {"units_2": 10}}]
    entry["repair"] = {
        "changes": [{"hyperparameter": "units_1", "kind": "max_value", "old": 40, "new": 30}],
        "diff": '--- a/models.py\n+++ b/models.py\n@@ -14 +14 @@\n-    units_1 = hp.Int("units_1", 10, 40, step=10)\n'
        '+    units_1 = hp.Int("units_1", 10, 30, step=10)\n',
        "verified": True,
        "cases": 4,
    }
    message = next(m for _, _, m in map(parse, github.annotations(fixed, ROOT)) if "-> FatalError" in m)
    assert "units_1: last ok 30, fails from 40 (with units_2=10)" in message
    assert "proposed: lower max_value of units_1 to 30 (was 40) (verified)" in message
    summary = github.step_summary(fixed)
    assert "**Proposed repair** (verified over 4 cases):" in summary
    assert "- lower max_value of units_1 to 30 (was 40)" in summary
    assert "<details><summary>The repair as a diff</summary>" in summary
    assert "```diff\n--- a/models.py" in summary
    assert "- units_1: last ok 30, fails from 40 (with units_2=10)" in summary


def test_step_summary_status_and_tables(payload):
    summary = github.step_summary(payload)
    lines = summary.splitlines()
    assert lines[0] == "## 🔴 Hypermodel preflight: red"
    assert (
        "| `example_project/models.py:guide_fatal` | 🔴 red | 🔴 RandomSearch: aborts (100% within 10 trials) |"
        in lines
    )
    assert "| `example_project/models.py:build_model` | 🟢 green | 🟢 RandomSearch: no abort |" in lines
    # The red hypermodel's section comes first, with its culprit and one row per case.
    assert summary.index("### `example_project/models.py:guide_fatal`") < summary.index(
        "### `example_project/models.py:build_model`"
    )
    declared = line_of('hp.Int("units_1"')
    assert f"- units_1=40 → FatalError, stops the search (models.py:{declared})" in lines
    assert "| `units_1=40` | units_1=40 | ❌ failed (fatal: FatalError) | stop the search (1 run) |" in lines
    assert "| `defaults` | units_1=10, units_2=10 | ✅ passed (ok) | complete it (1 run) |" in lines
    for case in payload["cases"]:
        assert f"| `{case['case.id']}` |" in summary
    # 4 and 9 cases: short tables stay open; only the repairs' diffs (the plugin found and verified them) are folded.
    assert summary.count("<details>") == 2 and "<details><summary>The repair as a diff</summary>" in summary
    # The interaction's narrower repair, from the real run: units_1 up to 30, FailedTrialError past the frontier.
    assert "<details><summary>The narrower repair as a diff</summary>" in summary
    assert (
        "**Narrower, for the interaction** (verified: 3 cases pass, 1 ends in its FailedTrialError (FAILED trials "
        "to KerasTuner)):"
    ) in lines
    assert (
        '- raise FailedTrialError in the build when hp.get("units_1") &gt; {10: 30, 20: 20, 30: 20}[hp.get("units_2")]'
    ) in lines  # Markdown's own escape of >
    assert "- units_1: last ok 30, fails from 40" in lines


def test_green_summary_and_long_tables_fold(payload):
    healthy = copy.deepcopy(payload)
    healthy["hypermodels"] = [e for e in healthy["hypermodels"] if e["spec"].endswith("build_model")]
    healthy["cases"] = [c for c in healthy["cases"] if c["case.spec"].endswith("build_model")]
    healthy["forecasts"] = [f for f in healthy["forecasts"] if f["spec"].endswith("build_model")]
    assert github.step_summary(healthy).startswith("## 🟢 Hypermodel preflight: green\n")
    assert github.annotations(healthy, ROOT) == []
    wide = github.step_summary(many_culprits(15))
    assert "<details><summary>16 cases, 15 not clean</summary>" in wide


def test_write_step_summary_appends_where_github_says(payload, tmp_path):
    target = tmp_path / "summary.md"
    target.write_text("earlier step\n")
    assert github.write_step_summary(payload, {"GITHUB_STEP_SUMMARY": str(target)}) == target
    assert target.read_text().startswith("earlier step\n## 🔴 Hypermodel preflight: red")
    assert github.write_step_summary(payload, {}) is None
