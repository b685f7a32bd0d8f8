"""Time per trial: what the cases' seconds say of the search's, read back from the cases' records.

The default case is the yardstick: the slowest case is named against it, and the search's time is estimated
from the cases that completed (a case that ran past its time limit is no trial's time, and is named apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from pytest_hypermodel.rules.policy import COMPLETED
from pytest_hypermodel.rules.record import CaseRecord
from pytest_hypermodel.space.target import Target
from pytest_hypermodel.space.words import plural

#: The slowest case is named when it takes at least this many times the default's seconds.
SLOW_RATIO = 3.0


class Probed(Protocol):
    """What ``timing`` reads of a hypermodel's preflight (``prepare.Preflight``): its SPEC, and its trials, if a
    GridSearch's (as an optional ``trials`` attribute)."""

    @property
    def target(self) -> Target: ...


@dataclass(frozen=True)
class TrialTiming:
    """Seconds per trial, as a forecast carries them (the JSON report's ``forecasts[].timing``)."""

    default_seconds: float
    slowest_case: str
    slowest_seconds: float
    slowest_ratio: float
    #: The mean trial of the cases that completed, and ``trials`` of them.
    trial_seconds: float
    search_seconds: float
    trials: int
    #: With the search's data: one trial's epochs and batches an epoch (None: trials as small as the cases).
    search_epochs: float | None
    search_batches: float | None
    #: The default case's seconds a batch.
    step_seconds: float | None
    #: Each case that ran past the time limit: ``case``, ``seconds``, ``trial_seconds``.
    timeouts: list[dict[str, Any]] = field(default_factory=list)
    #: How it was computed, in a line: the terminal's under ``-v``, the HTML report's.
    line: str = ""
    #: The estimate alone, in a short line: the terminal's by default.
    headline: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain builtins, in the report's order."""
        return asdict(self)


def timing(pre: Probed, records: Sequence[CaseRecord], max_trials: int | None, epochs: int) -> TrialTiming | None:
    """Seconds per trial: the default case's, the slowest case against it, the cases that ran past the time limit,
    and the search's time estimated from the cases that completed: ``max_trials`` trials, each a case's seconds
    plus, when the search's data is given, the batches and epochs it did not run, at the case's own seconds a
    batch and an epoch. None before the default case ran."""
    mine = [r for r in records if r.spec == pre.target.spec and r.seconds]
    default = next((r for r in mine if r.kind == "default"), None)
    if default is None:
        return None
    search_epochs, batches = default.search_epochs, default.search_batches
    default_step = default.step_seconds
    scaled = bool(search_epochs and batches and default_step)

    def trial_seconds(r: CaseRecord) -> float:
        """A trial of the search at this case's values: the case, and the batches and epochs it did not run."""
        step, epoch = r.step_seconds, r.epoch_seconds or 0.0
        if not (scaled and step and search_epochs and batches):
            return r.seconds
        more_steps = max(search_epochs * batches - int(r.steps or 0), 0)
        more_epochs = max(search_epochs - int(r.epochs or 0), 0)
        return r.seconds + more_steps * step + more_epochs * epoch

    slowest = max(mine, key=lambda r: r.seconds)
    done = [trial_seconds(r) for r in mine if r.disposition == COMPLETED and r.outcome != "timeout"]
    trial = sum(done) / len(done) if done else trial_seconds(default)
    grid = getattr(pre, "trials", None)
    trials = max_trials or (len(grid) if grid else 10)  # a grid: all its trials
    ratio = slowest.seconds / default.seconds
    line = f"{pre.target.spec}: the default case took {duration(default.seconds)}"
    if ratio >= SLOW_RATIO:
        line += f"; the slowest, {slowest.id}, {ratio:.0f}× that ({duration(slowest.seconds)})"
    if scaled and default_step:
        line += (
            f"; {plural(trials, 'trial')} of the search's {plural(int(search_epochs or 0), 'epoch')} of "
            f"{plural(int(batches or 0), 'batch', 'batches')} (the default "
            f"case's batch: {default_step * 1000:.1f} ms): about {duration(trial * trials)}"
        )
    else:
        line += (
            f"; {plural(trials, 'trial')} as small as the cases (a build, {plural(epochs, 'epoch')} of a few batches): "
            "about "
            f"{duration(trial * trials)}, before the search's own epochs and data scale the fits"
        )
    trials_said = (
        f"the search's {plural(trials, 'trial')}" if scaled else f"{plural(trials, 'trial')} as small as the cases"
    )
    headline = (
        f"{pre.target.spec}: {trials_said}: about {duration(trial * trials)} (the default case: "
        f"{duration(default.seconds)})"
    )
    if ratio >= SLOW_RATIO:
        headline += f"; the slowest case {ratio:.0f}× that"
    late = [r for r in mine if r.outcome == "timeout"]
    timeouts = [{"case": r.id, "seconds": r.seconds, "trial_seconds": round(trial_seconds(r), 3)} for r in late]
    if late:  # KerasTuner has no time limit: such a trial runs, for as long as it takes
        first = late[0]
        line += (
            f"; {len(late)} ran past the time limit ({first.id}: over {duration(first.seconds)}, "
            f"{first.seconds / default.seconds:.0f}× the default or more, and KerasTuner waits)"
        )
        headline += f"; {plural(len(late), 'case')} ran past the time limit (KerasTuner waits)"
    return TrialTiming(
        default_seconds=default.seconds,
        slowest_case=slowest.id,
        slowest_seconds=slowest.seconds,
        slowest_ratio=round(ratio, 2),
        trial_seconds=round(trial, 3),
        search_seconds=round(trial * trials, 3),
        trials=trials,
        search_epochs=search_epochs if scaled else None,
        search_batches=batches if scaled else None,
        step_seconds=default_step,
        timeouts=timeouts,
        line=line,
        headline=headline,
    )


def duration(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``3 min``, ``2.5 h``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"
