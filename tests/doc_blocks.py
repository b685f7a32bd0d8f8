"""The docs' fenced blocks, read and run: shared by tests/unit/test_docs.py (what the docs say, checked against the
code) and tests/proofs/test_docs_commands.py (every console block run, its output compared).

- Every fenced ``console`` block of the README and docs/ runs: each ``$ `` line is a command, the lines after it
  its expected output, compared after masking what changes from run to run (``normalize``). ``...`` alone on a
  line matches any number of lines, and within a line any text. ``<!-- docs-check: exit N -->`` right above a
  block sets its expected exit status (default 0). A page's blocks run in order in a scratch copy of
  example_project/; the tutorial's pages share one, in the nav's order.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conftest import SUMMARY_SHOWS_TEXT

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TUTORIAL = ["first-preflight.md", "reading-the-report.md", "applying-the-repair.md", "gating-the-search.md"]


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
        body = "\n".join(line[len(match.group("indent")) :] for line in match.group("body").splitlines())
        found.append(
            Block(
                path,
                text[: match.start()].count("\n") + 1,
                match.group("lang"),
                body,
                int(check.group("exit")) if check else 0,
            )
        )
    return found


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def all_blocks(language: str) -> list[Block]:
    return [b for path in doc_files() for b in blocks(path) if b.language == language]


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
    shutil.copytree(
        ROOT / "example_project",
        tmp_path / "example_project",
        ignore=shutil.ignore_patterns(".github", "__pycache__", "*.json", "*.xml"),
    )
    return tmp_path


def run_blocks(
    paths: list[Path], cwd: Path, after: Callable[[int], None] | None = None, cache: dict | None = None
) -> list[str]:
    """Run the console blocks of ``paths`` in ``cwd``, in order; the mismatches, each with what it printed.

    The boundaries get 600 s (PYTEST_ADDOPTS): their search stops at a time budget that a loaded machine (the
    test suite's other workers) can use up, and the pages show what an idle machine finds. ``after(n)`` is
    called after the n-th command. ``cache``: results by command, shared by pages whose commands change nothing
    (the README's quickstart is also the how-to's)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "COLUMNS": "80",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTEST_ADDOPTS": "--hypermodel-boundaries-seconds=600",
    }
    for name in (
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "PYTEST_XDIST_WORKER",
        "PYTEST_XDIST_TESTRUNUID",
        "PYTEST_CURRENT_TEST",
    ):
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
                    done = subprocess.run(
                        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
                    )
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
