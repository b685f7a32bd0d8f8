"""Write the example lines of docs/reference/health-checks.md from real preflights of the current code; or, with
--check, fail when the committed lines are not what the current code writes (the release checks run it so).

    python docs/make_health_examples.py            # run the preflights, write the examples into the page
    python docs/make_health_examples.py --check    # run them, compare with the page (decimals aside); exit
                                                   # status 1, naming the checks whose examples differ

Each check's example is what a preflight of a hypermodel of tests/hypermodels/ that trips it says: the lines of
its findings of that check, ``SPEC: [CHECK] what was found (file:line): the fix``, as the terminal prints them,
with the paths relative to the repository. They stand in the page between ``<!-- example: CHECK -->`` and
``<!-- /example -->``. The preflights run in this process (isolation off, no boundaries, the default case alone),
except the sequence checks': the rehearsal of the search, in one engine and one probe process as a user's run
does, started first in a process of its own so that it runs meanwhile. About a minute and a half on two cores.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE = ROOT / "docs" / "reference" / "health-checks.md"
HYPERMODELS = "tests/hypermodels"
BEGIN = re.compile(r"^<!-- example: ([a-z_]+) -->\n(.*?)^<!-- /example -->$", re.M | re.S)


@dataclass(frozen=True)
class Example:
    """A check, the hypermodel (a SPEC under the repository) that trips it, and the search's data it needs (the
    name of a function of tests/hypermodels/ that returns it; none: the preflight synthesizes it)."""

    check: str
    spec: str
    data: str = ""
    #: The sequence checks are the rehearsal's: their examples run with it, in one engine.
    rehearsal: bool = False


_H = f"{HYPERMODELS}/health_examples.py"
_W = f"{HYPERMODELS}/waste.py"
_S = f"{HYPERMODELS}/sequence.py"

#: One example for each check, in the page's order.
EXAMPLES = (
    Example("hyperparameter_unused", f"{_W}:unused_batch_size"),
    Example("hyperparameter_redeclared", f"{_W}:redeclared_units"),
    Example("objective_direction", f"{_W}:make_maximized_loss_tuner", "health_examples:regression_data"),
    Example("log_key_missing", f"{_H}:regressor", "health_examples:early_stopping_on_a_missing_key_data"),
    Example("score_not_objective", f"{_H}:make_tuner_returning_the_loss", "health_examples:regression_data"),
    Example("objective_unnamed", f"{HYPERMODELS}/regressors.py:HyperRegressor", "regressors:search_data"),
    Example("warning_in_trial", f"{_H}:with_unused_weight", "health_examples:regression_data"),
    Example("data_used_up", f"{_H}:classifier", "health_examples:generator_data"),
    Example("data_too_short", f"{_H}:classifier", "health_examples:short_dataset_data"),
    Example("data_arguments", f"{_H}:classifier", "health_examples:split_dataset_data"),
    Example("labels_outside_outputs", f"{_H}:classifier", "health_examples:labels_past_the_outputs_data"),
    Example("fails_in_sequence", f"{_S}:shared_layer", "sequence:data", rehearsal=True),
    Example("state_left_behind", f"{_S}:half_precision_leaks", "sequence:data", rehearsal=True),
    Example("shared_variables", f"{_S}:shared_layer", "sequence:data", rehearsal=True),
    Example("after_search", f"{_S}:unbuilt_subclass", "sequence:data", rehearsal=True),
)

#: What every preflight here runs with: the cases the checks need, nothing they do not.
OPTIONS: dict[str, Any] = {"boundaries": False, "epochs": 2}


def _data(name: str) -> Any:
    if not name:
        return None
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(f"tests.hypermodels.{module}"), function)()


def stable(line: str) -> str:
    """A finding's line as the page shows it: the repository's paths relative to it."""
    return line.replace(f"{ROOT}{os.sep}", "")


def _found(findings: list[Any]) -> str:
    return "found " + (", ".join(f.check for f in findings) or "nothing")


@contextlib.contextmanager
def _in(folder: str) -> Iterator[None]:
    """In ``folder`` (contextlib.chdir is Python 3.11's)."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _rehearse(examples: tuple[Example, ...], into: Path) -> None:
    """The rehearsal's examples, in one engine and one probe process: their findings, as JSON, into ``into``."""
    from pytest_hypermodel.engine import settings
    from pytest_hypermodel.engine.engine import Engine

    [data] = {e.data for e in examples}  # one engine: one data for them all
    source = settings.MappingSource(
        {
            "hypermodel_boundaries": "off",
            "hypermodel_rehearsal": "on",
            "hypermodel_epochs": str(OPTIONS["epochs"]),
            "hypermodel_strategy": "extremes",  # the rehearsal runs the extremes and Choice values
        }
    )
    specs = list(dict.fromkeys(e.spec for e in examples))
    started = time.monotonic()
    with Engine(settings.read(source), ROOT) as engine:
        engine.run(specs, _data(data))
    print(f"rehearsed {', '.join(specs)}: {_found(engine.findings)} ({time.monotonic() - started:.0f} s)", flush=True)
    into.write_text(json.dumps([f.to_dict() for f in engine.findings]), encoding="utf-8")


def run_examples(examples: tuple[Example, ...] = EXAMPLES) -> dict[str, list[str]]:
    """Each example's check: the lines of that check's findings on its hypermodel, from the current code. The
    rehearsal's examples run in a process of their own, meanwhile (their probe process is busy, this one waits)."""
    from pytest_hypermodel import preflight
    from pytest_hypermodel.rules.health import Finding

    found: dict[str, list[Any]] = {}  # by spec and data
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    rehearsed = tuple(e for e in examples if e.rehearsal)
    with tempfile.TemporaryDirectory() as scratch, _in(scratch):  # a tuner's project is written there
        into = Path(scratch) / "rehearsed.json"
        child = subprocess.Popen([sys.executable, __file__, "--rehearse-into", str(into)]) if rehearsed else None
        try:
            for example in examples:
                key = f"{example.spec} {example.data}"
                if example.rehearsal or key in found:
                    continue
                started = time.monotonic()
                report = preflight(
                    example.spec, data=_data(example.data), rootpath=ROOT, isolation="off", rehearsal=False,
                    strategy="default", **OPTIONS,
                )  # fmt: skip
                found[key] = report.findings
                print(f"{example.spec}: {_found(report.findings)} ({time.monotonic() - started:.0f} s)", flush=True)
        except BaseException:
            if child is not None:
                child.kill()
            raise
        if child is not None:
            if child.wait() != 0 or not into.exists():
                sys.exit(f"make_health_examples: the rehearsal's examples failed (exit {child.returncode})")
            findings = [Finding.from_dict(d) for d in json.loads(into.read_text(encoding="utf-8"))]
            for example in rehearsed:
                found[f"{example.spec} {example.data}"] = [f for f in findings if f.spec == example.spec]
    lines: dict[str, list[str]] = {}
    for example in examples:
        mine = [stable(f.line()) for f in found[f"{example.spec} {example.data}"] if f.check == example.check]
        if not mine:
            others = ", ".join(f.check for f in found[f"{example.spec} {example.data}"]) or "nothing"
            sys.exit(
                f"make_health_examples: {example.spec} no longer trips {example.check} (it found {others}): "
                f"give {example.check} an example that does, in {Path(__file__).name}'s EXAMPLES"
            )
        lines[example.check] = mine
    return lines


def blocks(page: str) -> dict[str, str]:
    """The page's examples: each check's block between its markers."""
    return {m.group(1): m.group(2) for m in BEGIN.finditer(page)}


def block(lines: list[str]) -> str:
    return "\n```text\n" + "".join(f"{line}\n" for line in lines) + "```\n\n"


def written(page: str, examples: Mapping[str, list[str]]) -> str:
    """The page with each check's block replaced by its example lines; a check without markers is an error."""
    missing = sorted(set(examples) - set(blocks(page)))
    if missing:
        sys.exit(
            f"make_health_examples: {PAGE.name} has no '<!-- example: NAME -->' block for {', '.join(missing)}: "
            "add one under the check's heading"
        )

    def replaced(match: re.Match[str]) -> str:
        name = match.group(1)
        body = block(examples[name]) if name in examples else match.group(2)
        return f"<!-- example: {name} -->\n{body}<!-- /example -->"

    return BEGIN.sub(replaced, page)


#: What may differ from one machine to another (a loss in its last digits), masked before a check compares.
_DECIMAL = re.compile(r"\d+\.\d+")


def differing(committed: str, made: str) -> dict[str, list[str]]:
    """The checks whose example differs (decimals aside), each with its diff's lines."""
    before, after = blocks(committed), blocks(made)
    diffs: dict[str, list[str]] = {}
    for name in [*after, *(n for n in before if n not in after)]:
        old, new = (text.get(name, "").splitlines() for text in (before, after))
        if [_DECIMAL.sub("N", line) for line in old] != [_DECIMAL.sub("N", line) for line in new]:
            diffs[name] = list(difflib.unified_diff(old, new, "the page", "the current code", lineterm="", n=0))
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed page; write nothing")
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument("--rehearse-into", type=Path, help=argparse.SUPPRESS)  # the rehearsal's process
    args = parser.parse_args(argv)
    if args.rehearse_into:
        _rehearse(tuple(e for e in EXAMPLES if e.rehearsal), args.rehearse_into)
        return 0
    committed = args.page.read_text(encoding="utf-8")
    made = written(committed, run_examples())
    if not args.check:
        args.page.write_text(made, encoding="utf-8")
        print(f"wrote the examples of {len(blocks(made))} health checks into {args.page}")
        return 0
    diffs = differing(committed, made)
    if diffs:
        for name, diff in diffs.items():
            print(f"== {name}\n" + "\n".join(diff))
        print(
            f"make_health_examples: the examples of {', '.join(diffs)} in {args.page} are not what the current "
            "code writes: run python docs/make_health_examples.py"
        )
        return 1
    print(f"{args.page}: the examples of {len(blocks(made))} health checks are what the current code writes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
