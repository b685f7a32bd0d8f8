"""The docs cannot lie: their options match the code, their workflow is real (their commands run with the proofs).

- Every fenced ``console`` block of the README and docs/ is one that tests/proofs/test_docs_commands.py runs
  (tests/doc_blocks.py: how a block is read, run and compared); the matcher masks what changes between runs.
- ``bash`` blocks are recipes (your files, a remote host, an install): every ``--hypermodel-*`` option they use
  must exist. The README's two commands must be the ones .ci/run and example_project promise.
- The GitHub workflow file parses, and each command it runs takes the options it is given.
- The Python examples compile, and the names they import from pytest_hypermodel exist.
"""

from __future__ import annotations

import argparse
import ast
import re
import shlex
import sys

import pytest
from doc_blocks import DOCS, ROOT, TUTORIAL, all_blocks, blocks, matches, normalize  # tests/ is on sys.path

sys.path.insert(0, str(DOCS / "hooks"))
import reference

# --------------------------------------------------------------------------- console blocks: each one is run


def test_every_console_block_is_run_by_one_of_the_tests():
    run = {
        ROOT / "README.md",
        *(DOCS / "tutorial" / n for n in TUTORIAL),
        *(DOCS / "how-to").glob("*.md"),
        *(DOCS / "reference").glob("*.md"),
    }
    assert {b.path for b in all_blocks("console")} <= run
    assert sorted(p.name for p in (DOCS / "tutorial").glob("*.md")) == sorted(TUTORIAL)


def test_the_matcher_masks_timings_and_takes_ellipses():
    assert matches(
        normalize("a\n...\n=== 2 passed in 3.72s ==="), normalize("a\nb\nc\n===== 2 passed in 10.86s ======")
    )
    assert matches("x ... z", "x y z") and not matches("x ... z", "x y")
    assert not matches("4 passed", normalize("5 passed"))
    assert (
        normalize("[100%]WARNING:tensorflow:5 out of the last 13 calls\nWARNING:tensorflow:6\n\n\nF") == "[100%]\n\nF"
    )


# --------------------------------------------------------------------------- recipes: the options they use exist


def test_every_option_in_a_recipe_exists():
    options = {row["flags"] for row in reference.options_rows() if row["flags"]}
    search = {s for a in reference.search_parser()._actions for s in a.option_strings}
    text = "\n".join(b.text for lang in ("bash", "console", "yaml", "ini") for b in all_blocks(lang))
    used = set(re.findall(r"(--hypermodel[\w-]*)", text))
    assert used and used <= options, used - options
    ini_keys = {row["ini"] for row in reference.options_rows() if row["ini"]}
    used_ini = set(re.findall(r"^\s*(hypermodel\w*)\s*=", text, re.M))
    assert used_ini <= ini_keys, used_ini - ini_keys
    for line in re.findall(r"pytest_hypermodel search (.*)", text):
        flags = set(re.findall(r"(?<!\S)(--[\w-]+)", line))
        assert flags <= search, flags - search


def test_the_readme_s_two_commands_are_the_promised_ones():
    readme = [b.text.strip() for b in blocks(ROOT / "README.md") if b.language == "bash"]
    [ci] = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("python3 -m venv")]
    assert ci in readme  # exactly what .ci/run runs (then it runs the release checks)
    preflight = (
        "python3 -m venv .venv && . .venv/bin/activate && python3 -m pip install -e . && "
        "python3 -m pytest -c example_project/pytest.ini --junitxml=preflight.xml"
    )
    assert preflight in readme and (ROOT / "example_project" / "pytest.ini").exists()
    assert len(ROOT.joinpath("README.md").read_text().splitlines()) <= 150


def test_the_readme_s_links_resolve():
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(((?!https?:)[^)#]+)", text)
    assert targets and all((ROOT / t).exists() for t in targets), [t for t in targets if not (ROOT / t).exists()]


# --------------------------------------------------------------------------- the GitHub workflow


def test_the_workflow_runs_the_documented_commands():
    import yaml

    path = ROOT / "example_project" / ".github" / "workflows" / "preflight.yml"
    workflow = yaml.safe_load(path.read_text())
    assert set(workflow["jobs"]) == {"preflight", "search"} and workflow["jobs"]["search"]["needs"] == "preflight"
    runs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    options = {row["flags"] for row in reference.options_rows() if row["flags"]}
    search = reference.search_parser()
    pytest_runs = [r for r in runs if r.split()[0] == "pytest"]
    search_runs = [r for r in runs if "pytest_hypermodel search" in r]
    assert pytest_runs and search_runs
    for run in pytest_runs:
        words = shlex.split(run)
        ini = words[words.index("-c") + 1]
        assert (ROOT / ini).exists(), ini
        assert {w.split("=")[0] for w in words if w.startswith("--hypermodel")} <= options
        report = words[words.index("--hypermodel-report") + 1]
    for run in search_runs:
        words = shlex.split(run)
        args = search.parse_args(words[words.index("search") + 1 :])  # exits on an unknown option
        assert args.report == report  # the search reads the report the preflight wrote
        spec_file = args.spec.rsplit(":", 1)[0]
        assert (ROOT / spec_file).exists(), spec_file
        # The policy must be the preflight's: example_project/pytest.ini sets the memory budget.
        assert args.memory_budget == "160MiB" and "hypermodel_memory_budget = 160MiB" in (ROOT / ini).read_text()
    # The how-to page shows the file itself (generated), not a copy that could drift.
    assert (
        "<!-- generated: file example_project/.github/workflows/preflight.yml -->"
        in (DOCS / "how-to" / "github-actions.md").read_text()
    )


# --------------------------------------------------------------------------- the generated reference


def test_the_options_reference_is_every_option_with_its_ini_twin_and_default():
    rows = {row["flags"] or row["ini"]: row for row in reference.options_rows()}
    assert rows["--hypermodel-epochs"] == {**rows["--hypermodel-epochs"], "ini": "hypermodel_epochs", "default": "3"}
    assert rows["--hypermodel-strength"]["default"] == "2"  # from the help text: the ini default is empty
    assert rows["--hypermodel-plan"]["default"] == "off" and rows["--hypermodel-plan"]["value"] == ""
    assert rows["hypermodel_on"]["flags"] == ""  # ini only
    assert rows["--hypermodel"]["repeatable"] is False  # its help already says repeatable
    assert rows["--hypermodel-input-shape"]["ini_type"] == "linelist"
    table = reference.options_markdown()
    assert all(f"`{flag}" in table for flag in rows if flag.startswith("--"))
    assert "--hypermodel-on" not in table and "| (ini only) | `hypermodel_on` (one per line) |" in table
    search = reference.search_markdown()
    assert "| `--report PATH` | required |" in search and "usage: python -m pytest_hypermodel search" in search


def test_the_search_reference_shows_every_argument():
    search = reference.search_markdown()
    for action in reference.search_parser()._actions:
        if not isinstance(action, argparse._HelpAction):
            assert f"`{action.option_strings[0] if action.option_strings else action.metavar}" in search


# --------------------------------------------------------------------------- Python examples

# The Python API's names the docs use (documented as designed); each is checked once it exists.
PENDING_API = {"preflight", "Report", "guard", "PreflightFailed"}


def test_the_python_examples_compile_and_import_what_exists():
    import pytest_hypermodel

    pending = PENDING_API if not hasattr(pytest_hypermodel, "preflight") else set()
    for block in all_blocks("python"):
        tree = ast.parse(block.text, filename=f"{block.path.name}:{block.line}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "pytest_hypermodel":
                for alias in node.names:
                    assert hasattr(pytest_hypermodel, alias.name) or alias.name in {"github", "html_report"}, (
                        f"{block.path.name}:{block.line}: pytest_hypermodel has no {alias.name}"
                    )
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "pytest_hypermodel"
                and node.attr not in pending
            ):
                assert hasattr(pytest_hypermodel, node.attr), f"{block.path.name}:{block.line}: no {node.attr}"


def test_this_repository_s_workflow_runs_the_example_gate_and_the_suite():
    """GitHub runs .github/workflows/ here: the suite as .ci/run runs it, and the example
    workflow's preflight and search commands, which must stay the example's."""
    yaml = pytest.importorskip("yaml")
    ours = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    example = yaml.safe_load((ROOT / "example_project" / ".github" / "workflows" / "preflight.yml").read_text())
    runs = [step.get("run", "") for job in ours["jobs"].values() for step in job["steps"]]
    assert "bash .ci/run" in runs
    for job in ("preflight", "search"):
        for step in example["jobs"][job]["steps"]:
            if "pytest" in step.get("run", ""):
                assert any(run.startswith(step["run"].strip()) for run in runs), step["run"]
