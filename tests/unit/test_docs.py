"""The docs cannot lie: their commands run, their schema and options match the code, their workflow is real.

- Every fenced ``console`` block of the README and docs/ runs: each ``$ `` line is a command, the lines after it
  its expected output, compared after masking what changes from run to run (``normalize``). ``...`` alone on a
  line matches any number of lines, and within a line any text. ``<!-- docs-check: exit N -->`` right above a
  block sets its expected exit status (default 0). A page's blocks run in order in a scratch copy of
  example_project/; the tutorial's pages share one, in the nav's order.
- ``bash`` blocks are recipes (your files, a remote host, an install): every ``--hypermodel-*`` option they use
  must exist. The README's two commands must be the ones .ci/run and example_project promise.
- The JSON report's documented keys are checked against a real report (the tutorial's), and the GridSearch
  forecast's against its dataclass.
- The GitHub workflow file parses, and each command it runs takes the options it is given.
- The Python examples compile, and the names they import from pytest_hypermodel exist.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conftest import SUMMARY_SHOWS_TEXT, once_per_run

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TUTORIAL = ["first-preflight.md", "reading-the-report.md", "applying-the-repair.md", "gating-the-search.md"]
sys.path.insert(0, str(DOCS / "hooks"))
import reference  # noqa: E402  (docs/hooks/reference.py: the generated reference's renderers)


@dataclass
class Block:
    path: Path
    line: int
    language: str
    text: str
    exit: int = 0


FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```\s*$", re.M | re.S)
CHECK = re.compile(r"<!-- docs-check: exit (?P<exit>\d+) -->\s*$")


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        check = CHECK.search(before)
        body = "\n".join(line[len(match.group("indent")):] for line in match.group("body").splitlines())
        found.append(Block(path, text[: match.start()].count("\n") + 1, match.group("lang"), body,
                           int(check.group("exit")) if check else 0))
    return found


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def all_blocks(language: str) -> list[Block]:
    return [b for path in doc_files() for b in blocks(path) if b.language == language]


# --------------------------------------------------------------------------- console blocks, run


TIMING = re.compile(r"\b\d+(?:\.\d+)?\s?s\b(?: \(\d+:\d\d:\d\d\))?")
RULE = re.compile(r"([=_-])\1{2,}")
TF_WARNING = re.compile(r"WARNING:tensorflow:.*$")


def normalize(text: str, workspace: Path | None = None) -> str:
    """What may differ between two runs of one command: timings, the width of pytest's rules (they pad the
    summary line to 80 columns), the workspace's path, TensorFlow's retracing chatter, trailing spaces and
    runs of blank lines."""
    if workspace is not None:
        text = text.replace(str(workspace), "/path/to/project")
    lines = []
    for line in text.splitlines():
        if line.startswith("WARNING:tensorflow:"):
            continue
        if not SUMMARY_SHOWS_TEXT and line.startswith("FAILED "):  # pytest 8.1 prints the id alone
            line = line.partition(" - ")[0]
        line = RULE.sub(r"\1\1\1", TIMING.sub("<T>", TF_WARNING.sub("", line))).rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip("\n")


def matches(expected: str, actual: str) -> bool:
    """``...`` alone on a line: any number of lines; ``...`` within a line: any text."""
    parts = []
    for line in expected.splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(map(re.escape, line.split("..."))) + r"\n")
    return re.fullmatch("".join(parts), actual + "\n") is not None


def commands(block: Block) -> list[tuple[str, str]]:
    """(command, expected output) pairs of a console block."""
    pairs: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        else:
            assert pairs, f"{block.path.name}:{block.line}: a console block starts with a '$ ' command"
            pairs[-1][1].append(line)
    return [(command, "\n".join(out)) for command, out in pairs]


def workspace(tmp_path: Path) -> Path:
    """A scratch project: a copy of example_project/, so a command may write reports and edit models.py."""
    shutil.copytree(ROOT / "example_project", tmp_path / "example_project",
                    ignore=shutil.ignore_patterns(".github", "__pycache__", "*.json", "*.xml"))
    return tmp_path


def run_blocks(paths: list[Path], cwd: Path, after: Callable[[int], None] | None = None,
               cache: dict | None = None) -> list[str]:
    """Run the console blocks of ``paths`` in ``cwd``, in order; the mismatches, each with what it printed.

    The boundaries get 600 s (PYTEST_ADDOPTS): their search stops at a time budget that a loaded machine (the
    test suite's other workers) can use up, and the pages show what an idle machine finds. ``after(n)`` is
    called after the n-th command. ``cache``: results by command, shared by pages whose commands change nothing
    (the README's quickstart is also the how-to's)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "80",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTEST_ADDOPTS": "--hypermodel-boundaries-seconds=600"}
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_TESTRUNUID",
                 "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    problems, ran = [], 0
    for path in paths:
        for block in blocks(path):
            if block.language != "console":
                continue
            pairs = commands(block)
            for i, (command, expected) in enumerate(pairs):
                if cache is not None and command in cache:
                    done = cache[command]
                else:
                    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                                          text=True, timeout=300)
                    if cache is not None:
                        done.stdout = done.stdout.replace(str(cwd), "/path/to/project")
                        done.stderr = done.stderr.replace(str(cwd), "/path/to/project")
                        cache[command] = done
                ran += 1
                if after is not None:
                    after(ran)
                where = f"{path.relative_to(ROOT)}:{block.line}: $ {command}"
                exit_expected = block.exit if i == len(pairs) - 1 else 0
                actual = normalize(done.stdout + done.stderr, cwd)
                if done.returncode != exit_expected:
                    problems.append(f"{where}\nexit {done.returncode}, documented {exit_expected}\n{actual[-4000:]}")
                elif not matches(normalize(expected), actual):
                    problems.append(f"{where}\n--- documented\n{expected}\n--- actual\n{actual}")
    if not ran:
        problems.append(f"no console block in {[p.name for p in paths]}")
    return problems


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


def test_every_console_block_is_run_by_one_of_the_tests():
    run = {ROOT / "README.md", *(DOCS / "tutorial" / n for n in TUTORIAL), *(DOCS / "how-to").glob("*.md"),
           *(DOCS / "reference").glob("*.md")}
    assert {b.path for b in all_blocks("console")} <= run
    assert sorted(p.name for p in (DOCS / "tutorial").glob("*.md")) == sorted(TUTORIAL)


def test_the_matcher_masks_timings_and_takes_ellipses():
    assert matches(normalize("a\n...\n=== 2 passed in 3.72s ==="), normalize("a\nb\nc\n===== 2 passed in 10.86s ======"))
    assert matches("x ... z", "x y z") and not matches("x ... z", "x y")
    assert not matches("4 passed", normalize("5 passed"))
    assert normalize("[100%]WARNING:tensorflow:5 out of the last 13 calls\nWARNING:tensorflow:6\n\n\nF") == "[100%]\n\nF"


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
    preflight = ("python3 -m venv .venv && . .venv/bin/activate && python3 -m pip install -e . && "
                 "python3 -m pytest -c example_project/pytest.ini --junitxml=preflight.xml")
    assert preflight in readme and (ROOT / "example_project" / "pytest.ini").exists()
    assert len(ROOT.joinpath("README.md").read_text().splitlines()) <= 150


def test_the_readme_s_links_resolve():
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(((?!https?:)[^)#]+)", text)
    assert targets and all((ROOT / t).exists() for t in targets), [t for t in targets if not (ROOT / t).exists()]


# --------------------------------------------------------------------------- the JSON report's schema


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
    from pytest_hypermodel.rules.forecast import Forecast

    grid = {f.name for f in dataclasses.fields(Forecast)} | {"spec", "abort_id", "fails_run"}
    documented = set(forecast) | documented_grid_keys()
    assert grid <= documented, grid - documented
    assert documented_grid_keys() - set(forecast) <= grid  # nothing documented that the dataclass lacks


def documented_grid_keys() -> set[str]:
    """The keys of the table that follows "A GridSearch forecast" in the forecasts section."""
    text = (DOCS / "reference" / "json-report.md").read_text()
    part = text.split("A GridSearch forecast", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)`", part, re.M))


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
        args = search.parse_args(words[words.index("search") + 1:])  # exits on an unknown option
        assert args.report == report  # the search reads the report the preflight wrote
        spec_file = args.spec.rsplit(":", 1)[0]
        assert (ROOT / spec_file).exists(), spec_file
        # The policy must be the preflight's: example_project/pytest.ini sets the memory budget.
        assert args.memory_budget == "160MiB" and "hypermodel_memory_budget = 160MiB" in (ROOT / ini).read_text()
    # The how-to page shows the file itself (generated), not a copy that could drift.
    assert "<!-- generated: file example_project/.github/workflows/preflight.yml -->" in (
        DOCS / "how-to" / "github-actions.md").read_text()


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

# The Python API the lead is adding (issue 25 documents it as designed); checked once it exists.
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
                        f"{block.path.name}:{block.line}: pytest_hypermodel has no {alias.name}")
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "pytest_hypermodel" and node.attr not in pending):
                assert hasattr(pytest_hypermodel, node.attr), f"{block.path.name}:{block.line}: no {node.attr}"


def test_this_repository_s_workflow_runs_the_example_gate_and_the_suite():
    """Issue 23 item 12: GitHub runs .github/workflows/ here: the suite as .ci/run runs it, and the example
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
