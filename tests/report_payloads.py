"""Preflight report payloads for the renderer tests: a real one from the plugin, and hand-built ones."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "example_project" / "models.py"


def run_preflight(tmp: Path) -> dict:
    """The real plugin over two example hypermodels: one whose units_1=40 is fatal, one healthy."""
    report = tmp / "r.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("GITHUB_ACTIONS", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--hypermodel",
            "example_project/models.py:guide_fatal",
            "--hypermodel",
            "example_project/models.py:build_model",
            "--hypermodel-report",
            str(report),
            "-q",
            # The renderers assert the boundaries and the narrower repair: a loaded machine must not cut them short.
            "--hypermodel-boundaries-seconds",
            "600",
            # The extremes and corners: the renderers' tables and heatmaps are asserted cell by cell.
            "--hypermodel-strategy",
            "extremes,corners",
            # The renderers' subject: no rehearsal of the search (its trials cost, its findings would be none).
            "--hypermodel-rehearsal",
            "off",
            # Nor the probe process: the hypermodels run in the pytest process (one backend import, not two).
            "--hypermodel-isolation",
            "off",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]  # guide_fatal fails
    return json.loads(report.read_text())


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(MODELS.read_text().splitlines(), 1) if text in line)


def with_locations(payload: dict) -> dict:
    """The optional fields the plugin is about to write: where each hyperparameter is declared."""
    payload = copy.deepcopy(payload)
    for entry in payload["hypermodels"]:
        if entry["spec"].endswith("guide_fatal"):
            entry["declarations"] = {
                "units_1": {"file": str(MODELS), "line": line_of('hp.Int("units_1"')},
                "units_2": {"file": str(MODELS), "line": line_of('hp.Int("units_2"')},
            }
            entry["definition"] = {"file": str(MODELS), "line": line_of("def guide_fatal")}
    return payload


def _case(
    spec: str, case_id: str, values: dict, outcome: str, disposition: str, test_outcome: str, exception: str = ""
) -> dict:
    return {
        "nodeid": f"m.py::{spec}[{case_id}]",
        "test_outcome": test_outcome,
        "values": values,
        "case.kind": "default" if case_id == "defaults" else "extreme",
        "case.id": case_id,
        "case.spec": f"m.py:{spec}",
        "case.fingerprint": "f",
        "outcome": outcome,
        "exception": exception,
        "disposition": disposition,
        "runs": 1,
    }


def many_culprits(n: int = 15) -> dict:
    """One hypermodel with n hyperparameters, each failing at its maximum; hp_0 is diverging, hp_14 fatal."""
    defaults = {f"hp_{i}": 1 for i in range(n)}
    cases = [_case("wide", "defaults", defaults, "ok", "completed", "passed")]
    for i in range(n):
        if i == 0:
            kind = ("diverged", "completed", "failed", "")
        elif i == n - 1:
            kind = ("fatal", "fatal", "failed", "FatalError")
        elif i == 1:
            kind = ("failed_trial", "failed", "xfailed", "FailedTrialError")
        else:
            kind = ("error", "failed", "failed", "ValueError")
        cases.append(_case("wide", f"hp_{i}=9", {**defaults, f"hp_{i}": 9}, kind[0], kind[1], kind[2], kind[3]))
    declarations = {f"hp_{i}": {"file": "/repo/m.py", "line": 10 + i} for i in range(n)}
    return {
        "version": 1,
        "summary": {"cases": len(cases), "runs": len(cases)},
        "hypermodels": [
            {
                "spec": "m.py:wide",
                "fingerprint": "f",
                "cases": len(cases),
                "planned": len(cases),
                "complete": True,
                "green": False,
                "declarations": declarations,
            }
        ],
        "forecasts": [],
        "cases": cases,
    }


def parse(command: str) -> tuple[str, dict, str]:
    """A GitHub workflow command: its kind, its properties and its message."""
    match = re.fullmatch(r"::(\w+) ([^:]*)::(.*)", command)
    assert match, command
    props = dict(p.split("=", 1) for p in match.group(2).split(","))
    return match.group(1), props, match.group(3)


def cells(html: str) -> dict[str, str]:
    """Heatmap cells: tooltip -> colour class."""
    return {title: state for state, title in re.findall(r'<td class="cell (\w+)" title="([^"]*)"', html)}
