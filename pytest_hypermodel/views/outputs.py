"""The views of a preflight's result for its readers: the JSON file, the terminal's lines, the HTML page,
GitHub's job summary and annotations. Each reads the payload (``engine.Engine.payload``), plain data.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_hypermodel.engine.payload import summarize
from pytest_hypermodel.rules import outcomes, trial_health
from pytest_hypermodel.rules.record import records
from pytest_hypermodel.space.words import plural

if TYPE_CHECKING:
    from pytest_hypermodel.probe.prepare import Preflight


def write_views(data: dict[str, Any], html: Path | None, github: bool) -> list[str]:
    """The HTML report (to ``html``) and, under GitHub Actions, the job summary; returns the annotations to print."""
    if html is not None:
        from pytest_hypermodel.views import html as html_report

        write_text(html, html_report.render(data))
    if not github:
        return []
    from pytest_hypermodel.views import github as github_mod

    github_mod.write_step_summary(data)
    return github_mod.annotations(data, github_mod.repository_root())


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write whole (``write_text``), so a run killed mid-write leaves the previous complete file."""
    write_text(path, json.dumps(data, indent=2, default=str))


def write_text(path: Path, text: str) -> None:
    """Write ``text`` whole: into a file of its own beside ``path``, then renamed over it (``os.replace``, atomic
    within a directory), so a reader, a run killed mid-write, or another run or thread writing the same path sees
    one complete file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = beside(path)
    try:
        with open(tmp, "x", encoding="utf-8") as handle:  # "x": a name of its own, with the umask's mode
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def beside(path: Path) -> Path:
    """A temporary name in ``path``'s directory (a rename across file systems is not atomic), unique to this
    process and call."""
    return path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


@contextlib.contextmanager
def folders_locked(paths: Iterable[Path]) -> Iterator[None]:
    """The directories of ``paths`` locked (``flock``, each once, in one order), while a run renames its report
    files into place together: two runs writing the same paths then leave one run's files, which agree. No lock
    where the platform has no ``fcntl``."""
    try:
        import fcntl
    except ImportError:  # Windows: each file is still written whole
        yield
        return
    with contextlib.ExitStack() as stack:
        for folder in sorted({str(Path(p).resolve().parent) for p in paths}):
            Path(folder).mkdir(parents=True, exist_ok=True)
            fd = os.open(folder, os.O_RDONLY)
            stack.callback(os.close, fd)  # closing releases the lock
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield


def summary_lines(entries: list[dict[str, Any]]) -> list[str]:
    """Terminal lines: one per case that did not pass, then the counts."""
    lines = []
    for e in entries:
        if e.get("outcome") != outcomes.OK:
            exc = f" {e['exception']}" if e.get("exception") else ""
            lines.append(
                f"{e.get('outcome', '?'):<12} {e.get('disposition', '?'):<20} runs={e.get('runs', '?'):<3} "
                f"{e['nodeid']}{exc}"
            )
    s = summarize(entries)
    counts = ", ".join(f"{n} {name}" for name, n in s["outcomes"].items())
    lines.append(f"{plural(s['cases'], 'case')}: {counts}; KerasTuner would spend {plural(s['runs'], 'run')} on them")
    return lines


def warning_lines(entries: list[dict[str, Any]], most: int = 160) -> list[str]:
    """Terminal lines for the warnings raised during the cases: each once per hypermodel, with the first case that
    raised it, how many did and where in the user's code (``rules.trial_health.collected_warnings``)."""
    lines = []
    for w in trial_health.collected_warnings(records(entries)):
        text = w["message"].strip().splitlines()[0] if w["message"].strip() else ""
        text = text if len(text) <= most else text[: most - 3] + "..."
        where = f"; {w['location']}" if w["location"] else ""
        cases = plural(w["cases"], "case")
        lines.append(f"{w['spec']}: {w['category']}: {text} (first in case {w['case']}, {cases}{where})")
    return lines


def plan_lines(preflights: list[Preflight]) -> list[str]:
    """The readable plan that --hypermodel-plan prints above the cases it lists (``-k extreme`` selects a kind)."""
    lines = []
    for pre in preflights:
        plan = pre.plan
        counts = ", ".join(f"{n} {kind}" for kind, n in plan.counts().items())
        lines.append(
            f"{pre.target.spec}: {plural(len(pre.space), 'hyperparameter')} ({plural(pre.space.builds, 'build')} to "
            "discover), "
            f"strategies {','.join(plan.strategies)}, strength {plan.strength}: {plural(len(plan), 'case')} ({counts})"
        )
        if plan.dropped:
            lines.append(f"  capped at {plan.max_cases}: {plan.planned} planned, {plan.dropped} dropped")
        lines.extend(f"  {note}" for note in plan.notes())
        for line in pre.space.unfinished:
            lines.append(f"  discovery build {line}: what only it declares after that point is not in the plan")
    return lines
