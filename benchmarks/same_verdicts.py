"""Are the preflight's verdicts on example_project the same at another commit as in this checkout?

A refactor must not change a verdict: this runs the example project's preflight twice, at BASE (a git rev,
extracted with ``git archive`` into a temporary directory) and in this checkout, each as

    python -m pytest -c example_project/pytest.ini -p no:cacheprovider --hypermodel-report OUT.json

from that checkout's root with ``PYTHONPATH=<that checkout>`` (so that checkout's ``pytest_hypermodel`` is the
one imported, whatever the environment installed), and compares the two JSON reports: every case (its nodeid,
outcome, disposition, exception, hyperparameter values and other properties, in order), the forecasts, and per
hypermodel the plan, declarations, boundaries, repair and moved defaults.

What is left out, because it is a measurement of this run and not a verdict (it differs from run to run):

- ``run``: the date, command line, Python and package versions, backend and devices the preflight ran with;
- ``seconds``, ``step_seconds``, ``epoch_seconds`` of a case: its wall-clock time and the fit's step and epoch
  times (the forecast's cost estimate is made of them);
- ``rss_growth_bytes`` of a case and of a hypermodel: the process memory its default case left behind, read
  from the operating system (the estimated training memory, ``memory_bytes``, is computed from the model, and
  is compared);
- ``timing`` of a forecast: the default and slowest cases' seconds, the trial and search seconds made of them;
- ``seconds`` and ``per_second`` of a forecast's ``screen`` (its builds without a fit, timed) and, where the
  screen built a sample of the draws (``whole`` false), how many it built, skipped and saw fail, and the "N of the
  draws built without a fit" of the forecast's message: that sample stops after 3 s, so its size is a measure of
  the machine's speed (two runs of the same commit on a loaded machine built 32 and 10 draws of build_model);
  the forecast's probabilities and rates are compared;
- in every text, a duration ("0.9 s", "2 min 3 s", "about 9.9 s") or a rate ("12.3/s") is written as "<t>",
  and the checkout's own path as "<checkout>".

Usage, from the repository root:

    python benchmarks/same_verdicts.py BASE [--base-json FILE] [--current-json FILE] [--keep-json DIR]

``--base-json FILE`` compares with a report of BASE saved before (one preflight instead of two; BASE is then
only a label), ``--current-json FILE`` with a saved report of this checkout (both: no preflight at all);
``--keep-json DIR`` saves both reports there (``base.json``, ``current.json``). It prints what differs, or
"identical: N cases, M forecasts, ..."; it exits 0 when the verdicts are identical, 1 when they differ, 2 when a
preflight could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

REPOSITORY = Path(__file__).resolve().parents[1]

#: Keys whose values are measurements of the run, removed wherever they appear.
MEASURED_KEYS = frozenset({"seconds", "step_seconds", "epoch_seconds", "rss_growth_bytes", "timing", "per_second"})
#: Top-level keys that describe how the preflight ran, not what it found.
RUN_KEYS = frozenset({"run"})
#: A timed screen's sample, in a forecast's message.
SAMPLE = re.compile(r"\b\d+ of the draws built without a fit")
#: A timed screen's figures: how many draws the 3 s it may take built.
SAMPLE_KEYS = ("built", "skipped", "failed")
#: A duration or a rate in a message: "0.9 s", "12 ms", "2 min 3 s", "1 h", "12.3/s".
DURATION = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?(?:\s?(?:ms|s|min|h)\b(?:\s\d+(?:\.\d+)?\s?(?:ms|s|min)\b)*|/s\b)")


@dataclass
class Preflight:
    """One preflight's JSON report and where it ran."""

    report: dict[str, Any]
    checkout: Path
    exit_code: int
    wall_seconds: float


def preflight_command(report_path: Path) -> list[str]:
    """The example project's preflight, as README.md runs it, with the JSON report written to ``report_path``."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        "example_project/pytest.ini",
        "-p",
        "no:cacheprovider",
        "--hypermodel-report",
        str(report_path),
    ]


def imported_from(checkout: Path, env: dict[str, str]) -> Path:
    """Where ``pytest_hypermodel`` is imported from under ``env`` (found, not executed: no TensorFlow import)."""
    code = "import importlib.util as u; print(u.find_spec('pytest_hypermodel').origin)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=checkout, env=env, check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip()).resolve()


def fail(message: str) -> NoReturn:
    """Stop with exit status 2: a preflight that did not run has no verdicts to compare."""
    print(message, file=sys.stderr)
    raise SystemExit(2)


def run_preflight(checkout: Path, report_path: Path, label: str) -> Preflight:
    """Run the preflight in ``checkout`` with its own package first on the path; its output goes to stderr."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    origin = imported_from(checkout, env)
    if checkout.resolve() not in origin.parents:
        fail(f"{label}: pytest_hypermodel would be imported from {origin}, not from {checkout}")
    print(f"{label}: preflight in {checkout} ...", file=sys.stderr, flush=True)
    start = time.monotonic()
    done = subprocess.run(
        preflight_command(report_path), cwd=checkout, env=env, stdout=sys.stderr, stderr=subprocess.STDOUT, check=False
    )
    wall = time.monotonic() - start
    print(f"{label}: exit {done.returncode} after {wall:.0f} s", file=sys.stderr, flush=True)
    # 1 is expected: the example project holds broken search spaces on purpose. 2 and above: it did not run.
    if done.returncode not in (0, 1) or not report_path.is_file():
        fail(f"{label}: the preflight exited {done.returncode} without a report at {report_path}")
    return Preflight(json.loads(report_path.read_text()), checkout, done.returncode, wall)


def extract(rev: str, into: Path) -> Path:
    """The tree of ``rev`` in ``into`` (``git archive``: no worktree to register or remove)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev], cwd=REPOSITORY, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def normalized(value: Any, checkout: Path) -> Any:
    """``value`` without its measurements: see the module's docstring."""
    if isinstance(value, dict):
        return {key: normalized(item, checkout) for key, item in value.items() if key not in MEASURED_KEYS}
    if isinstance(value, list):
        return [normalized(item, checkout) for item in value]
    if isinstance(value, str):
        return DURATION.sub("<t>", value.replace(str(checkout), "<checkout>"))
    return value


def sections(report: dict[str, Any], checkout: Path) -> dict[str, dict[str, Any]]:
    """The report's verdicts, normalized, keyed so that a difference names its case, forecast or hypermodel."""
    report = normalized({k: v for k, v in report.items() if k not in RUN_KEYS}, checkout)
    cases = report.pop("cases", [])
    forecasts = report.pop("forecasts", [])
    hypermodels = report.pop("hypermodels", [])
    return {
        "case order": {"nodeids": [case.get("nodeid") for case in cases]},
        "cases": {str(case.get("nodeid")): case for case in cases},
        "forecasts": {str(forecast.get("spec")): without_sample(forecast) for forecast in forecasts},
        "hypermodels": {f"{h.get('spec')} {h.get('fingerprint')}": h for h in hypermodels},
        "report": report,  # summary, version, note and anything added later
    }


def without_sample(forecast: dict[str, Any]) -> dict[str, Any]:
    """``forecast`` without the size of its timed screen's sample (a screen of the whole space is kept)."""
    screen = forecast.get("screen")
    if not isinstance(screen, dict) or screen.get("whole"):
        return forecast
    screen = {key: value for key, value in screen.items() if key not in SAMPLE_KEYS}
    message = SAMPLE.sub("<n> of the draws built without a fit", str(forecast.get("message", "")))
    return {**forecast, "screen": screen, "message": message}


def flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a.b[0]": leaf}`` for every leaf of ``value``: a difference is named by its path."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flat(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and any(isinstance(item, (dict, list)) for item in value):
        out = {}
        for index, item in enumerate(value):
            out.update(flat(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def differences(base: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]) -> list[str]:
    """One line per leaf that differs, is missing or is new, section by section."""
    lines = []
    for name in base.keys() | current.keys():
        before, after = base.get(name, {}), current.get(name, {})
        for key in sorted(before.keys() | after.keys()):
            if key not in after:
                lines.append(f"{name}: {key}: only in base")
            elif key not in before:
                lines.append(f"{name}: {key}: only in current")
            elif before[key] != after[key]:
                old, new = flat(before[key]), flat(after[key])
                for path in sorted(old.keys() | new.keys()):
                    if old.get(path, "<absent>") != new.get(path, "<absent>"):
                        lines.append(
                            f"{name}: {key}: {path}:\n    base:    {old.get(path, '<absent>')!r}\n"
                            f"    current: {new.get(path, '<absent>')!r}"
                        )
    return sorted(lines)


def counts(parts: dict[str, dict[str, Any]]) -> str:
    """What was compared: cases, forecasts, hypermodels, boundaries, repairs, moved defaults."""
    hypermodels = parts["hypermodels"].values()
    boundaries = sum(len(h.get("boundaries") or []) for h in hypermodels)
    repairs = sum(1 for h in hypermodels if h.get("repair"))
    defaults = sum(1 for h in hypermodels if h.get("defaults_moved"))
    return (
        f"{len(parts['cases'])} cases, {len(parts['forecasts'])} forecasts, {len(parts['hypermodels'])} "
        f"hypermodels, {boundaries} boundaries, {repairs} repairs, {defaults} moved defaults"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the git rev to compare with (a label only, with --base-json)")
    parser.add_argument("--base-json", type=Path, help="a saved report of BASE's preflight, instead of running it")
    parser.add_argument(
        "--current-json",
        type=Path,
        help="a saved report of this checkout's preflight, instead "
        "of running it (with --base-json: two saved reports compared, no preflight run)",
    )
    parser.add_argument("--keep-json", type=Path, metavar="DIR", help="save both reports in DIR")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="same-verdicts-") as scratch_dir:
        scratch = Path(scratch_dir)
        if args.base_json is not None:
            base = Preflight(json.loads(args.base_json.read_text()), Path("/nonexistent"), -1, 0.0)
            base_path = args.base_json
        else:
            base_path = scratch / "base.json"
            base = run_preflight(extract(args.base, scratch / "base"), base_path, f"base {args.base}")
        if args.current_json is not None:
            current = Preflight(json.loads(args.current_json.read_text()), Path("/nonexistent"), -1, 0.0)
            current_path = args.current_json
        else:
            current_path = scratch / "current.json"
            current = run_preflight(REPOSITORY, current_path, "current")
        if args.keep_json is not None:
            args.keep_json.mkdir(parents=True, exist_ok=True)
            if base_path.resolve() != (args.keep_json / "base.json").resolve():
                shutil.copyfile(base_path, args.keep_json / "base.json")
            if current_path.resolve() != (args.keep_json / "current.json").resolve():
                shutil.copyfile(current_path, args.keep_json / "current.json")
    for saved, preflight in ((args.base_json, base), (args.current_json, current)):
        if saved is not None:  # where a saved report ran: read from its own paths
            preflight.checkout = Path(_saved_checkout(preflight.report))
    before, after = sections(base.report, base.checkout), sections(current.report, current.checkout)
    lines = differences(before, after)
    took = f"({time.monotonic() - started:.0f} s)"
    if lines:
        print(f"differ: {len(lines)} difference(s) between {args.base} and this checkout {took}")
        print("\n".join(lines))
        return 1
    print(f"identical: {counts(after)} {took}")
    return 0


def _saved_checkout(report: dict[str, Any]) -> str:
    """The root a saved report ran in: the directory above ``example_project/`` in its declarations' files."""
    for hypermodel in report.get("hypermodels", []):
        for site in (hypermodel.get("declarations") or {}).values():
            path = str(site.get("file", ""))
            if "/example_project/" in path:
                return path.split("/example_project/")[0]
    return "/nonexistent"


if __name__ == "__main__":
    sys.exit(main())
