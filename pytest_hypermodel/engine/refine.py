"""After the cases: the boundaries of what failed, a repair, and the preflight of the repaired space.

Runs on the controller once every case has a result (the boundaries need them all), through the same probe
process as the cases (``probe.parent``), or in-process with isolation off. Plain logic over two callables, so it
does not care where the probes run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_hypermodel.engine.progress import Progress, plural, silent
from pytest_hypermodel.engine.progress import seconds as took
from pytest_hypermodel.rules import boundaries, evidence, outcomes, repair
from pytest_hypermodel.rules.record import CaseRecord
from pytest_hypermodel.space.plan import Case, format_value, make_case

if TYPE_CHECKING:
    from pytest_hypermodel.probe.fit import Result
    from pytest_hypermodel.probe.prepare import Preflight
    from pytest_hypermodel.space.hyperparameters import SearchSpace

#: ``probe(space, case, changes)``: one case's result, the hypermodel under ``changes`` when there are any.
Probe = Callable[["SearchSpace", Case, tuple[repair.Change, ...]], "Result"]
#: ``prepare(changes)``: the preflight (space and plan) of the hypermodel under ``changes``.
Prepare = Callable[[tuple[repair.Change, ...]], "Preflight"]


@dataclass
class Alternative:
    """For an interaction: the range cut only to the frontier's loosest point, and FailedTrialError in the build
    past the frontier. It keeps more of the space than the repair, but KerasTuner marks the guarded trials FAILED
    (they count toward max_consecutive_failed_trials), so it is offered beside the repair, not instead of it."""

    changes: list[repair.Change]
    diff: str = ""
    #: How the terminal introduces it.
    title: str = "narrower, for the interaction"
    #: None: not verified (the space could not be prepared).
    verified: bool | None = None
    cases: int = 0
    #: Cases that ended in the guard's FailedTrialError.
    guarded: int = 0
    still_failing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": [c.to_dict() for c in self.changes],
            "diff": self.diff,
            "verified": bool(self.verified),
            "cases": self.cases,
            "guarded": self.guarded,
            "still_failing": self.still_failing,
        }

    def lines(self) -> list[str]:
        out = [f"  {self.title}: " + "; ".join(c.describe() for c in self.changes)]
        out.extend("  " + line for line in self.diff.splitlines())
        if self.verified and not any(c.kind == repair.GUARD for c in self.changes):
            out.append(f"  verified green: {plural(self.cases, 'case')} of its space pass")
        elif self.verified:
            ends = "ends" if self.guarded == 1 else "end"
            out.append(
                f"  verified: of {plural(self.cases, 'case')}, {self.cases - self.guarded} pass and {self.guarded} "
                f"{ends} in its FailedTrialError (FAILED trials to KerasTuner: they count toward "
                f"max_consecutive_failed_trials)"
            )
        elif self.verified is False:
            out.append(
                f"  not verified: {len(self.still_failing)} of its {plural(self.cases, 'case')} fail otherwise "
                f"({', '.join(self.still_failing[:5])})"
            )
        else:
            out.append("  not verified: its space could not be prepared")
        return out


@dataclass
class Refinement:
    """Boundaries and repair of one hypermodel, as the report shows them."""

    spec: str
    findings: boundaries.Findings
    changes: list[repair.Change] = field(default_factory=list)
    diff: str = ""
    #: The repaired file's new text, for --hypermodel-fix.
    texts: dict[Path, str] = field(default_factory=dict)
    #: Changes the diff could not place: name -> why.
    unplaced: dict[str, str] = field(default_factory=dict)
    #: None: not verified (no change to verify, or the repaired space could not be prepared).
    verified: bool | None = None
    cases: int = 0
    #: Ids of the repaired space's cases that still fail.
    still_failing: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str | None = None
    alternative: Alternative | None = None
    #: The range cut to the boundary, beside a repair that keeps more of the values that passed (a Choice of them,
    #: or a raised min_value): None when the cut is the repair.
    range_cut: Alternative | None = None

    def repair_dict(self) -> dict[str, Any] | None:
        if not self.changes:
            return None
        found = {
            "changes": [c.to_dict() for c in self.changes],
            "diff": self.diff,
            "verified": bool(self.verified),
            "cases": self.cases,
            "still_failing": self.still_failing,
            "unplaced": list(self.unplaced),
            "unplaced_why": dict(self.unplaced),
        }
        if self.alternative is not None:
            found["alternative"] = self.alternative.to_dict()
        if self.range_cut is not None:
            found["range_cut"] = self.range_cut.to_dict()
        return found

    def lines(self) -> list[str]:
        """The terminal section of one hypermodel: boundary lines, the diff, whether the repair is green."""
        found = self.findings
        out = [
            f"{self.spec}: boundaries ({found.probes} probe{'' if found.probes == 1 else 's'}, {found.seconds:.1f} s)"
        ]
        shown: set[int] = set()
        for (name, partner), group in found.frontiers().items():
            if len(group) >= 3:  # a walked frontier: one line for the pair
                group = sorted(group, key=lambda b: b.given[partner])
                points = ", ".join(f"{format_value(b.given[partner])}: {format_value(b.last_ok)}" for b in group)
                out.append(f"  {name} x {partner} frontier, the last passing {name} at each {partner}: {points}")
                shown.update(map(id, group))
        for b in found.boundaries:
            if id(b) in shown:
                continue
            given = ", ".join(f"{k}={format_value(v)}" for k, v in b.given.items())
            out.append(
                f"  {b.hyperparameter}: passes at {format_value(b.last_ok)}, fails from "
                f"{format_value(b.first_failing)}" + (f" (with {given})" if given else "")
            )
        if found.moved_default is not None:
            name, _, passing = found.moved_default
            out.append(
                f"  the defaults fail; {name}={format_value(passing)} passes with the rest at defaults, so the "
                f"search started there (KerasTuner builds the defaults in the tuner's constructor)"
            )
        for name, value in found.failing_choices:
            out.append(f"  {name}={value!r} fails with the rest at defaults")
        if found.note:
            out.append(f"  {found.note}")
        if not self.changes:
            return out
        out.append("  repair: " + "; ".join(c.describe() for c in self.changes))
        out.extend("  " + line for line in self.diff.splitlines())
        whys: dict[str, list[str]] = {}
        for name, why in self.unplaced.items():
            whys.setdefault(why, []).append(name)
        for why, names in whys.items():
            out.append(f"  not in the diff: {', '.join(names)}: {why}")
        if self.verified:
            passes = "passes" if self.cases == 1 else "pass"
            out.append(
                f"  verified green: {plural(self.cases, 'case')} of the repaired space {passes} ({self.seconds:.1f} s)"
            )
        elif self.verified is False:
            out.append(
                f"  not verified: {len(self.still_failing)} of the repaired space's {plural(self.cases, 'case')} still "
                f"fail ({', '.join(self.still_failing[:5])})"
            )
        elif self.note:
            out.append(f"  not verified: {self.note}")
        if self.range_cut is not None:
            out.extend(self.range_cut.lines())
        if self.alternative is not None:
            out.extend(self.alternative.lines())
        return out


def _failed(result: Result) -> bool:
    return result.outcome != outcomes.OK


def refine(
    pre: Preflight,
    cases: Sequence[CaseRecord],
    probe: Probe,
    prepare: Prepare,
    root: Path,
    budget: int = boundaries.DEFAULT_BUDGET,
    ready: Callable[[], Any] | None = None,
    seconds: float | None = None,
    progress: Progress | None = None,
) -> Refinement | None:
    """Boundaries, repair and its verification for one hypermodel (its cases among ``cases``); None when none of
    its cases failed.

    ``ready()`` readies where the probes run (starts the probe process) before the clock starts. The probes are
    budgeted in number (``budget``); ``seconds`` is only a safety cap (default: ``boundaries.safety_cap``).
    ``progress`` is told when each step starts and ends (they run after the last case, where nothing else speaks).
    """
    say = progress or silent()
    spec = pre.target.spec
    space = pre.space
    # A case whose build downloads says nothing about the space: left out, as the forecast leaves it out.
    mine = [c for c in cases if c.spec == spec and not c.download]
    # What is about the hypermodel as a whole (memory a trial leaves behind) has no boundary in its space.
    known = {
        frozenset(space.complete(c.values).items()): c.outcome not in (outcomes.OK, *outcomes.HYPERMODEL_WIDE)
        for c in mine
    }
    if not any(known.values()):
        return None
    value_free = evidence.value_free(mine)
    if value_free is not None:  # no value fails: no boundary to find, no repair to make
        say.done(f"{spec}: no boundary searched: {value_free.text()}")
        return None
    say.start(
        f"searching the boundaries of {spec} ({plural(sum(known.values()), 'failing case')}, at most "
        f"{plural(budget, 'probe')})"
    )
    if ready is not None:
        ready()  # the probe process's start-up (a backend import) is not the boundaries' cost
    started = time.perf_counter()
    # A count of probes stops them, the same on a loaded machine; the clock only caps a runaway.
    if seconds is None:
        seconds = boundaries.safety_cap(sum(c.seconds for c in mine))
    findings = boundaries.find(
        space,
        known,
        lambda values: _failed(probe(space, make_case(space, dict(values), "boundary"), ())),
        budget,
        seconds,
    )
    findings.seconds = time.perf_counter() - started
    say.done(_found_line(spec, findings))
    result = Refinement(spec, findings, repair.propose(space, findings))
    if not result.changes:
        return result
    widest = repair.propose_widest(space, findings, result.changes)
    if (
        widest and not findings.note
    ):  # the repair keeps every value that passed; the range cut, which keeps fewer, is offered beside it
        result.range_cut = Alternative(
            result.changes, repair.diff(space, result.changes, root)[0], _cut_title(space, findings, result.changes)
        )
        result.changes = widest
    changes = tuple(result.changes)
    result.diff, result.texts, result.unplaced = repair.diff(space, changes, root)
    if findings.note:  # boundaries cut short: the repair is known to be partial, its preflight would only say so
        result.note = "the boundaries are incomplete"
        return result
    say.start(f"verifying the repair of {spec} ({plural(len(changes), 'change')}): a preflight of the repaired space")
    started = time.perf_counter()
    try:
        result.cases, result.still_failing, _ = _verify(prepare, probe, changes)
    except Exception as exc:  # the repaired space's discovery failed: say so, keep the boundaries
        result.note = f"{type(exc).__name__}: {exc}"
        say.done(f"{spec}: the repaired space could not be prepared ({took(time.perf_counter() - started)})")
        return result
    result.verified = not result.still_failing
    result.seconds = time.perf_counter() - started
    say.done(
        f"{spec}: the repair " + _verified_words(result.cases, result.still_failing) + f" ({took(result.seconds)})"
    )
    if result.range_cut is not None:
        _verify_beside(result.range_cut, prepare, probe, spec, say)
    guarded = repair.propose_guarded(space, findings, result.changes)
    if guarded:
        text, _, unplaced = repair.diff(space, guarded, root)
        if unplaced:  # what is verified is the guard where the diff puts it: no place, no offer
            return result
        result.alternative = alternative = Alternative(guarded, text)
        say.start(
            f"verifying the narrower repair of {spec} ({plural(len(guarded), 'change')}): a preflight of its space"
        )
        started = time.perf_counter()
        try:
            alternative.cases, alternative.still_failing, alternative.guarded = _verify(prepare, probe, tuple(guarded))
            alternative.verified = not alternative.still_failing
        except Exception:  # its space could not be prepared: offered unverified
            say.done(
                f"{spec}: the narrower repair's space could not be prepared ({took(time.perf_counter() - started)})"
            )
        else:
            words = _verified_words(alternative.cases, alternative.still_failing, alternative.guarded)
            say.done(f"{spec}: the narrower repair {words} ({took(time.perf_counter() - started)})")
    return result


def _cut_title(space: SearchSpace, findings: boundaries.Findings, cut: list[repair.Change]) -> str:
    """How the range cut beside a wider repair is introduced: the passing values it keeps, of those that passed."""
    counts = []
    for name in findings.surveyed:
        kept = repair.kept_values(space, findings, cut, name)
        passing = repair.kept_values(space, findings, (), name)
        if kept is not None and passing is not None and len(kept) < len(passing):
            counts.append(f"{name}: {len(kept)} of the {len(passing)} values that passed")
    return "or the range cut, which keeps fewer (" + "; ".join(counts) + ")"


def _verify_beside(cut: Alternative, prepare: Prepare, probe: Probe, spec: str, say: Progress) -> None:
    """The range cut's own preflight, beside the wider repair."""
    say.start(f"verifying the range cut of {spec} ({plural(len(cut.changes), 'change')}): a preflight of its space")
    started = time.perf_counter()
    try:
        cut.cases, cut.still_failing, _ = _verify(prepare, probe, tuple(cut.changes))
        cut.verified = not cut.still_failing
    except Exception:  # its space could not be prepared: offered unverified
        say.done(f"{spec}: the range cut's space could not be prepared ({took(time.perf_counter() - started)})")
    else:
        words = _verified_words(cut.cases, cut.still_failing)
        say.done(f"{spec}: the range cut {words} ({took(time.perf_counter() - started)})")


def _found_line(spec: str, findings: boundaries.Findings) -> str:
    """``models.py:cnn: 2 boundaries in 8 probes (3.1 s)``: the end of a boundary search, for its progress line."""
    found = plural(len(findings.boundaries), "boundary", "boundaries")
    if findings.failing_choices:
        found += f", {plural(len(findings.failing_choices), 'failing value')}"
    stopped = ", stopped early" if findings.note else ""
    return f"{spec}: {found} in {plural(findings.probes, 'probe')}{stopped} ({took(findings.seconds)})"


def _verified_words(cases: int, still_failing: list[str], guarded: int = 0) -> str:
    """``is green: 4 cases pass``, ``still fails: 1 of 4 cases (ids)``: a verification's verdict, for its line."""
    if not still_failing:
        if guarded:
            ends = "ends" if guarded == 1 else "end"
            return (
                f"is green: of {plural(cases, 'case')}, {cases - guarded} pass and {guarded} {ends} "
                "in its FailedTrialError"
            )
        return f"is green: {plural(cases, 'case')} pass" if cases != 1 else "is green: its 1 case passes"
    shown = ", ".join(still_failing[:5]) + (", ..." if len(still_failing) > 5 else "")
    return f"still fails: {len(still_failing)} of {plural(cases, 'case')} ({shown})"


def _verify(prepare: Prepare, probe: Probe, changes: tuple[repair.Change, ...]) -> tuple[int, list[str], int]:
    """The preflight of the space under ``changes``: (cases, ids of those that fail, those the guard failed).
    A failure at the defaults counts as failing (its case is the plan's ``defaults``)."""
    fixed = prepare(changes)
    failing, guarded = [], 0
    for case in fixed.plan:
        outcome = probe(fixed.space, case, changes)
        if outcome.outcome == outcomes.FAILED_TRIAL and repair.GUARD_MESSAGE in (outcome.message or ""):
            guarded += 1
        elif _failed(outcome):
            failing.append(case.id)
    if fixed.space.default_error and "defaults" not in failing:
        failing.append("defaults")
    return len(fixed.plan), failing, guarded


def findings_dicts(found: boundaries.Findings) -> list[dict[str, Any]]:
    return [b.to_dict() for b in found.boundaries]


def junit_properties(refinements: list[Refinement]) -> list[tuple[str, Any]]:
    """Testsuite properties: one per boundary and the repair's verdict, per hypermodel."""
    props = []
    for r in refinements:
        if r.findings.moved_default is not None:
            name, failing, passing = r.findings.moved_default
            props.append(
                (
                    f"defaults[{r.spec}]",
                    f"{name}={format_value(failing)} fails; {name}={format_value(passing)} "
                    "passes with the rest at defaults",
                )
            )
        for b in r.findings.boundaries:
            given = ",".join(f"{k}={format_value(v)}" for k, v in b.given.items())
            props.append(
                (
                    f"boundary[{r.spec}].{b.hyperparameter}" + (f"[{given}]" if given else ""),
                    f"last_ok={format_value(b.last_ok)} first_failing={format_value(b.first_failing)}",
                )
            )
        if r.changes:
            props.append((f"repair[{r.spec}]", "; ".join(c.describe() for c in r.changes)))
            props.append((f"repair[{r.spec}].verified", f"{bool(r.verified)} ({plural(r.cases, 'case')})"))
        if r.range_cut is not None:
            props.append((f"repair[{r.spec}].range_cut", "; ".join(c.describe() for c in r.range_cut.changes)))
            props.append(
                (
                    f"repair[{r.spec}].range_cut.verified",
                    f"{bool(r.range_cut.verified)} ({plural(r.range_cut.cases, 'case')})",
                )
            )
        if r.alternative is not None:
            props.append((f"repair[{r.spec}].narrower", "; ".join(c.describe() for c in r.alternative.changes)))
            props.append(
                (
                    f"repair[{r.spec}].narrower.verified",
                    f"{bool(r.alternative.verified)} ({plural(r.alternative.cases, 'case')}, {r.alternative.guarded} "
                    f"FailedTrialError)",
                )
            )
    return props


def apply(refinements: list[Refinement]) -> list[str]:
    """--hypermodel-fix: write each repair that was verified green, and placed whole in the diff, into its file."""
    written = []
    for found in refinements:
        if found.verified and not found.unplaced:
            for path, text in found.texts.items():
                path.write_text(text)
                written.append(str(path))
    return written
