"""The docs' console blocks run and print what they show: the tutorial's four pages in one project, whose red
report has every documented key, and the README's and the how-tos' commands (minutes of real runs: with the
proofs)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from conftest import once_per_run
from doc_blocks import DOCS, ROOT, TUTORIAL, blocks, run_blocks, workspace  # tests/ is on sys.path

# --------------------------------------------------------------------------- console blocks, run


def tutorial_run(tmp_path_factory) -> dict:
    """The tutorial's four pages, in order, in one project (a red preflight, its report, the repair, the gate),
    once per test run; with the red report its first command wrote, for the schema's test."""

    def make(folder: Path) -> dict:
        work = workspace(folder)
        red = {}

        def keep_red(n: int) -> None:
            if n == 1:
                red.update(json.loads((work / "preflight.json").read_text()))

        problems = run_blocks([DOCS / "tutorial" / name for name in TUTORIAL], work, keep_red)
        green = json.loads((work / "preflight.json").read_text())["hypermodels"][0]["green"]
        return {"problems": problems, "red": red, "green_after_repair": green}

    return once_per_run(tmp_path_factory, "docs-tutorial", make)


@pytest.mark.proof  # minutes of real runs: after the default suite, as CI runs it
def test_the_tutorial_s_commands_print_what_it_shows_and_its_report_is_documented(tmp_path_factory):
    """One test for the tutorial's one run (two would leave an xdist worker waiting for the other's run)."""
    run = tutorial_run(tmp_path_factory)
    assert not run["problems"], "\n\n".join(run["problems"])
    assert run["green_after_repair"] and not run["red"]["hypermodels"][0]["green"]
    documented_schema_is_the_report_s(run["red"])


@pytest.mark.proof  # minutes of real runs: after the default suite, as CI runs it
def test_the_readme_and_the_how_to_commands_print_what_they_show(tmp_path):
    pages = [ROOT / "README.md", *sorted((DOCS / "how-to").glob("*.md")), *sorted((DOCS / "reference").glob("*.md"))]
    pages = [p for p in pages if any(b.language == "console" for b in blocks(p))]
    assert ROOT / "README.md" in pages
    problems, cache = [], {}
    for page in pages:  # each page in a project of its own
        problems += run_blocks([page], workspace(tmp_path / page.stem), cache=cache)
    assert not problems, "\n\n".join(problems)


def documented_keys() -> dict[str, dict[str, bool]]:
    """Per heading of json-report.md, its first table: key -> required (not marked optional)."""
    sections: dict[str, dict[str, bool]] = {}
    heading, ended = None, False
    for line in (DOCS / "reference" / "json-report.md").read_text().splitlines():
        if line.startswith("## "):
            heading, ended = line[3:].strip().strip("`"), False
        elif heading and not ended and line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            sections.setdefault(heading, {})[cells[0].strip("`")] = not cells[2].startswith("optional")
        elif heading in sections and not line.startswith("|"):
            ended = True  # a later table under the same heading is another object's (the GridSearch forecast's)
    return sections


def check(section: str, records: list[dict], docs: dict[str, dict[str, bool]]) -> None:
    assert records, f"the real report has no {section}"
    keys = docs[section]
    for record in records:
        assert set(record) <= set(keys), f"{section}: undocumented {set(record) - set(keys)}"
        missing = {k for k, required in keys.items() if required} - set(record)
        assert not missing, f"{section}: documented but absent {missing}"


def documented_schema_is_the_report_s(report: dict) -> None:
    """The tutorial's red report, with boundaries, a repair and its narrower alternative: every key documented,
    every required one present."""
    assert report, "the tutorial's first command wrote no report"
    docs = documented_keys()
    forecast = docs["forecasts[]"]
    check("Top level", [report], docs)
    check("summary", [report["summary"]], docs)
    check("hypermodels[]", report["hypermodels"], docs)
    model = report["hypermodels"][0]
    check("hypermodels[].boundaries[]", model["boundaries"], docs)
    check("hypermodels[].repair", [model["repair"]], docs)
    check("hypermodels[].repair.alternative", [model["repair"]["alternative"]], docs)
    check("changes[]", model["repair"]["changes"] + model["repair"]["alternative"]["changes"], docs)
    check("forecasts[]", report["forecasts"], docs)
    check("cases[]", report["cases"], docs)
    # A GridSearch forecast: the spec, the Forecast dataclass's fields, abort_id and fails_run.
    from pytest_hypermodel.rules.abort_rules import Forecast

    grid = {f.name for f in dataclasses.fields(Forecast)} | {"spec", "abort_id", "fails_run"}
    documented = set(forecast) | documented_grid_keys()
    assert grid <= documented, grid - documented
    assert documented_grid_keys() - set(forecast) <= grid  # nothing documented that the dataclass lacks


def documented_grid_keys() -> set[str]:
    """The keys of the table that follows "A GridSearch forecast" in the forecasts section."""
    text = (DOCS / "reference" / "json-report.md").read_text()
    part = text.split("A GridSearch forecast", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)`", part, re.M))
