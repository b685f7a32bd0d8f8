"""What a preflight's JSON report says, read back for the renderers (GitHub, HTML).

Plain Python over the report's builtins: the renderers run where the report
lands (a CI step, a laptop) without Keras or a backend. Every field an older
report lacks (declarations, definition, boundaries, repair) is optional.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_hypermodel.rules import culprits as culprits_mod
from pytest_hypermodel.rules import health, outcomes
from pytest_hypermodel.rules.health import Finding
from pytest_hypermodel.space.plan import format_value
from pytest_hypermodel.space.words import plural

#: A value as the plugin's case ids write it (the views call it ``report_view.fmt``).
fmt = format_value

# How bad a finding is, most important first: what ends the search, what wastes
# trials, what completes with a useless score, what was declared.
STOPS = 0
FAILS = 1
USELESS = 2
DECLARED = 3

SEVERITY_WORDS = {STOPS: "stops the search", FAILS: "fails trials", USELESS: "useless score", DECLARED: "declared"}


def level_key(value: Any) -> tuple[Any, ...]:
    """Sort key over a hyperparameter's mixed levels: numbers in order, then the rest by text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


@dataclass(frozen=True)
class CaseView:
    """One probed case of the report, with what the renderers need to know of it."""

    spec: str
    id: str
    kind: str
    nodeid: str
    values: dict[str, Any]
    varied: tuple[str, ...]
    test_outcome: str
    outcome: str
    exception: str
    disposition: str
    runs: int
    params: Any
    seconds: Any
    #: What went wrong and the fix, for a case that did not pass.
    message: str = ""

    @property
    def severity(self) -> int | None:
        """None for a clean case; else how bad it is (STOPS .. DECLARED)."""
        if self.disposition == "fatal":
            return STOPS
        if self.test_outcome == "xfailed":
            return DECLARED
        if self.disposition not in ("completed", ""):
            return FAILS
        if self.test_outcome == "failed":
            return USELESS if self.outcome in ("diverged", "nan") else FAILS
        return None

    @property
    def what(self) -> str:
        """The failure in a word or two: the exception, else the outcome."""
        return self.exception or self.outcome or self.test_outcome

    def values_text(self, limit: int = 0) -> str:
        """``name=value`` for the varied values (all of them for the defaults)."""
        names = self.varied or tuple(self.values)
        shown = names[:limit] if limit else names
        text = ", ".join(f"{n}={fmt(self.values.get(n))}" for n in shown)
        if len(shown) < len(names):
            text += f", +{len(names) - len(shown)} more"
        return text


def _requires(value: Any) -> dict[str, list[str]]:
    """The report's ``requires`` (absent from an older report: none known)."""
    if not isinstance(value, dict):
        return {}
    return {str(name): [str(p) for p in parents] for name, parents in value.items() if isinstance(parents, list)}


def varied(case_id: str, values: dict[str, Any], defaults: dict[str, Any] | None) -> tuple[str, ...]:
    """The hyperparameters a case moved: those its id names, else those that differ from the defaults.

    The id is the better source: a conditional hyperparameter (units_3 once
    num_layers is 10) is absent from the defaults without being moved.
    """
    if case_id == "defaults":
        return ()
    named = [n for n in values if re.search(rf"(?:^|-){re.escape(n)}=", case_id)]
    if named:
        return tuple(sorted(named, key=lambda n: case_id.find(f"{n}=")))
    if defaults is None:
        return ()
    return tuple(n for n, v in values.items() if defaults.get(n, object()) != v)


@dataclass(frozen=True)
class Culprit:
    """A hyperparameter (or combination) whose values fail, with the cases that show it.

    ``names`` empty means the defaults themselves fail.
    """

    spec: str
    names: tuple[str, ...]
    label: str
    cases: tuple[CaseView, ...]

    @property
    def severity(self) -> int:
        return min(c.severity for c in self.cases if c.severity is not None)

    @property
    def what(self) -> str:
        worst = [c for c in self.cases if c.severity == self.severity]
        return ", ".join(dict.fromkeys(c.what for c in worst))


@dataclass
class Hypermodel:
    """One hypermodel of the report: its entry, forecast, cases and optional source locations."""

    spec: str
    entry: dict[str, Any]
    forecast: dict[str, Any] | None
    cases: list[CaseView]
    names: list[str]
    declarations: dict[str, Any] = field(default_factory=dict)
    definition: dict[str, Any] | None = None
    boundaries: list[dict[str, Any]] = field(default_factory=list)
    repair: dict[str, Any] | None = None
    #: max_consecutive_failed_trials of the policy the cases were judged by, when recorded.
    limit: int | None = None
    #: The health checks' findings that fail the run (the report's ``health``, this hypermodel's).
    health: list[Finding] = field(default_factory=list)
    #: Each hyperparameter that exists only under others' values, and those others (``culprits.Requires``).
    requires: dict[str, list[str]] = field(default_factory=dict)

    @property
    def green(self) -> bool:
        return bool(self.entry.get("green")) and not (self.forecast or {}).get("fails_run") and not self.health

    @property
    def varied_names(self) -> list[str]:
        """Hyperparameters some case moved, in declaration order."""
        moved = {n for c in self.cases for n in c.varied}
        return [n for n in self.names if n in moved]

    def location(self, names: tuple[str, ...] = ()) -> tuple[str | None, int | None, int | None]:
        """(file, line, end line) of the first declared of ``names``, else of the build function."""
        spots = [self.declarations[n] for n in names if isinstance(self.declarations.get(n), dict)]
        spots = [s for s in spots if s.get("file")]
        if spots:
            first = min(spots, key=lambda s: s.get("line") or 0)
            same = [s.get("line") for s in spots if s.get("file") == first.get("file") and s.get("line")]
            end = max(same) if same and max(same) != first.get("line") else None
            return first["file"], first.get("line"), end
        if self.definition and self.definition.get("file"):
            return self.definition["file"], self.definition.get("line"), None
        return None, None, None

    def culprits(self) -> list[Culprit]:
        """What to constrain, from the one analysis every view shares (``culprits.analyse``): each culprit is a
        minimal failing set of values, with the cases it explains; combinations that share a hyperparameter
        (num_layers with any of units_1..units_8) are said as one."""
        # Memory that grows from trial to trial is the hypermodel's, whatever the values: nothing to constrain.
        bad = [c for c in self.cases if c.severity is not None and c.outcome not in outcomes.HYPERMODEL_WIDE]
        if not bad:
            return []
        defaults = [c for c in bad if not c.varied]
        if defaults:
            return [Culprit(self.spec, (), "the defaults", tuple(defaults + [c for c in bad if c.varied]))]
        passing = [{n: c.values.get(n) for n in c.varied} for c in self.cases if c.severity is None]
        groups = culprits_mod.analyse(
            [{n: c.values.get(n) for n in c.varied} for c in bad], self._order, self.requires, passing
        )
        cases = {g.names: [bad[i] for i in g.members] for g in groups}
        singles = [g for g in groups if len(g.names) == 1]
        combos = [g for g in groups if len(g.names) > 1]
        out = [
            Culprit(self.spec, g.names, self._label(g.names, cases[g.names]), tuple(cases[g.names])) for g in singles
        ]
        merged = culprits_mod.shared(combos)
        if merged is not None:
            shared, rest = (sorted(names, key=self._order) for names in merged)
            members = [c for g in combos for c in cases[g.names]]
            levels: Callable[[list[str]], str] = lambda ns: " or ".join(  # noqa: E731
                dict.fromkeys(fmt(c.values.get(n)) for c in members for n in ns if n in c.varied)
            )
            label = (
                f"{', '.join(f'{n}={levels([n])}' for n in shared)} together with any of "
                f"{', '.join(rest)} at {levels(rest)}"
            )
            names = tuple(sorted(shared + rest, key=self._order))
            out.append(Culprit(self.spec, names, label, tuple(members)))
        else:
            out += [
                Culprit(self.spec, g.names, self._label(g.names, cases[g.names]), tuple(cases[g.names])) for g in combos
            ]
        return sorted(out, key=lambda c: (c.severity, self._order(c.names[0]) if c.names else -1))

    def _order(self, name: str) -> int:
        return self.names.index(name) if name in self.names else len(self.names)

    def _label(self, names: tuple[str, ...], cases: list[CaseView]) -> str:
        minimal = [c for c in cases if set(c.varied) == set(names)] or cases
        if len(names) == 1:
            levels = dict.fromkeys(fmt(c.values.get(names[0])) for c in minimal)
            return f"{names[0]}={' or '.join(levels)}"
        combos = dict.fromkeys("-".join(f"{n}={fmt(c.values.get(n))}" for n in names) for c in minimal)
        return " or ".join(combos) + " together"

    def boundaries_of(self, name: str) -> list[dict[str, Any]]:
        return [b for b in self.boundaries if isinstance(b, dict) and b.get("hyperparameter") == name]

    def changes_of(self, names: tuple[str, ...]) -> list[dict[str, Any]]:
        changes = (self.repair or {}).get("changes") or []
        return [c for c in changes if isinstance(c, dict) and c.get("hyperparameter") in names]


def change_text(change: dict[str, Any]) -> str:
    """A proposed repair, as an instruction: "lower max_value of units_1 to 30"."""
    name, kind, old, new = change.get("hyperparameter"), change.get("kind"), change.get("old"), change.get("new")
    if kind == "guard":
        return f"raise FailedTrialError in the build when {change.get('condition')}"
    if kind in ("max_value", "min_value") and isinstance(old, (int, float)) and isinstance(new, (int, float)):
        verb = "lower" if new < old else "raise"
        return f"{verb} {kind} of {name} to {fmt(new)} (was {fmt(old)})"
    if kind == "choice" and isinstance(new, list):
        return f"declare {name} as a Choice of {', '.join(map(fmt, new))}, the values that passed"
    if kind == "values" and isinstance(new, list):
        return f"keep {name}'s values to {', '.join(map(fmt, new))}" + (
            f" (drop {', '.join(fmt(v) for v in old if v not in new)})" if isinstance(old, list) else ""
        )
    return f"change {kind} of {name} from {fmt(old)} to {fmt(new)}"


def boundary_text(boundary: dict[str, Any]) -> str:
    """ "conv_blocks: last ok 2, fails from 3 (with kernel_size=5)"."""
    text = (
        f"{boundary.get('hyperparameter')}: last ok {fmt(boundary.get('last_ok'))}, "
        f"fails from {fmt(boundary.get('first_failing'))}"
    )
    given = boundary.get("given") or {}
    if given:
        text += " (with " + ", ".join(f"{k}={fmt(v)}" for k, v in given.items()) + ")"
    return text


def consecutive_limit(cases: list[dict[str, Any]]) -> int | None:
    """max_consecutive_failed_trials of the policy the cases were judged by, when recorded."""
    for c in cases:
        try:
            return int(json.loads(c.get("case.policy") or "{}")["max_consecutive_failed_trials"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def hypermodels(payload: dict[str, Any]) -> list[Hypermodel]:
    """The report's hypermodels in its order, each with its forecast and cases."""
    cases = [c for c in payload.get("cases") or [] if isinstance(c, dict)]
    forecasts = {f.get("spec"): f for f in payload.get("forecasts") or [] if isinstance(f, dict)}
    entries = [e for e in payload.get("hypermodels") or [] if isinstance(e, dict)]
    known = {(e.get("spec"), e.get("fingerprint")) for e in entries}
    for c in cases:  # cases of a hypermodel without an entry still show
        key = (c.get("case.spec", ""), c.get("case.fingerprint", ""))
        if key not in known:
            known.add(key)
            entries.append({"spec": key[0], "fingerprint": key[1]})
    found = health.by_spec(findings(payload))
    out = []
    for e in entries:
        mine = [
            c
            for c in cases
            if c.get("case.spec", "") == e.get("spec") and c.get("case.fingerprint", "") == e.get("fingerprint", "")
        ]
        names = list(dict.fromkeys(n for c in mine for n in (c.get("values") or {})))
        default = next((c.get("values") or {} for c in mine if c.get("case.id") == "defaults"), None)
        views = [_view(c, default) for c in mine]
        declarations = e.get("declarations") or {}
        names.sort(key=lambda n: (declarations.get(n) or {}).get("line") or 0)  # stable: discovery order otherwise
        out.append(
            Hypermodel(
                spec=str(e.get("spec", "")),
                entry=e,
                forecast=forecasts.get(e.get("spec")),
                cases=views,
                names=names,
                declarations=declarations if isinstance(declarations, dict) else {},
                definition=e.get("definition") if isinstance(e.get("definition"), dict) else None,
                boundaries=list(e.get("boundaries") or []),
                repair=e.get("repair") if isinstance(e.get("repair"), dict) else None,
                limit=consecutive_limit(mine),
                health=found.get(str(e.get("spec", "")), []),
                requires=_requires(e.get("requires")),
            )
        )
    return out


def findings(payload: dict[str, Any]) -> list[Finding]:
    """The report's health findings (``health``; an older report has none, an unreadable one is skipped)."""
    out = []
    for item in payload.get("health") or []:
        if isinstance(item, dict):
            try:
                out.append(Finding.from_dict(item))
            except (KeyError, ValueError, TypeError):
                continue
    return out


def _view(c: dict[str, Any], defaults: dict[str, Any] | None) -> CaseView:
    values = c.get("values") or {}
    case_id = str(c.get("case.id") or c.get("nodeid", "?"))
    try:
        runs = int(c.get("runs") or 0)
    except (TypeError, ValueError):
        runs = 0
    return CaseView(
        spec=str(c.get("case.spec", "")),
        id=case_id,
        kind=str(c.get("case.kind", "")),
        nodeid=str(c.get("nodeid", "")),
        values=values,
        varied=varied(case_id, values, defaults),
        test_outcome=str(c.get("test_outcome", "")),
        outcome=str(c.get("outcome", "")),
        exception=str(c.get("exception") or ""),
        disposition=str(c.get("disposition", "")),
        runs=runs,
        params=c.get("params"),
        seconds=c.get("seconds"),
        message=str(c.get("message") or ""),
    )


def green(payload: dict[str, Any]) -> bool:
    """The whole run: every hypermodel complete and green, and no forecast fails it."""
    models = hypermodels(payload)
    return bool(models) and all(m.green and m.entry.get("complete", True) for m in models)


def disposition_text(case: CaseView, limit: int | None = None) -> str:
    """What KerasTuner would do with the case, in a few words."""
    runs = f"{case.runs} run{'s' if case.runs != 1 else ''}"
    if case.disposition == "fatal":
        return f"stop the search ({runs})"
    if case.disposition in ("failed", "retried_then_failed"):
        how = "retried, then FAILED" if case.disposition == "retried_then_failed" else "FAILED"
        return f"{how} ({runs})"
    if case.disposition == "completed":
        return f"complete it ({runs})" + (
            ", useless score"
            if case.outcome in ("diverged", "nan")
            else ", memory grows each trial"
            if case.outcome == "memory_growth"
            else ""
        )
    return f"{case.disposition or '?'} ({runs})"


def forecast_short(forecast: dict[str, Any] | None) -> str:
    """The forecast in a few words, for a status table ("RandomSearch: aborts (94% within 10 trials)")."""
    if not forecast:
        return "no forecast"
    tuner = forecast.get("tuner") or "the tuner"
    p = forecast.get("abort_probability")
    if forecast.get("fails_run"):
        if forecast.get("reason") == "default_build":
            return f"{tuner}: crashes before its first trial"
        if forecast.get("reason") == "cannot_start":
            return f"{tuner}: cannot start here"
        if forecast.get("abort_id"):
            return f"{tuner}: aborts at trial {forecast['abort_id']}"
        if isinstance(p, (int, float)):
            return f"{tuner}: aborts ({p:.0%} within {plural(forecast.get('max_trials') or 0, 'trial')})"
        return f"{tuner}: aborts"
    if isinstance(p, (int, float)) and p > 0:
        return f"{tuner}: may abort ({p:.0%} within {plural(forecast.get('max_trials') or 0, 'trial')})"
    return f"{tuner}: no abort"


def narrower_how(alternative: dict[str, Any]) -> str:
    """ "verified: 13 cases pass, 4 end in its FailedTrialError", or "not verified"."""
    if not alternative.get("verified"):
        return "not verified"
    cases, guarded = alternative.get("cases") or 0, alternative.get("guarded") or 0
    ends = "ends" if guarded == 1 else "end"
    passes = "passes" if cases - guarded == 1 else "pass"
    return (
        f"verified: {plural(cases - guarded, 'case')} {passes}, {guarded} {ends} in its FailedTrialError "
        "(FAILED trials to KerasTuner)"
    )
