"""Health checks: what breaks or wastes a search although each case passes alone, each under a name.

Modelled on Hypothesis's health checks: a finding fails the run by default, says what was found, where in the
user's code, and the fix, and a user who knows better suppresses its check by name
(``--hypermodel-suppress-health-check NAME``, its ini twin, ``preflight(suppress_health_check=[...])``).

Plain data and rules, no Keras: what finds them runs where the user's code runs (the probe, the rehearsal of the
search); the engine gathers the findings, and the faces report them as one failing test per hypermodel
(``models.py::build_model[health]``), in the JSON report and in the views.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The families a check belongs to: what in a search it is about.
DATA = "data"
SEQUENCE = "sequence"
AFTER_SEARCH = "after_search"
WASTE = "waste"


@dataclass(frozen=True)
class HealthCheck:
    """One check: its name (what a user suppresses), its family, and what it catches in one line."""

    name: str
    family: str
    catches: str


#: Every check, by name. docs/reference/health-checks.md lists each with an example of its output (a unit test
#: checks that the two agree).
CHECKS: dict[str, HealthCheck] = {
    c.name: c
    for c in (
        HealthCheck("data_used_up", DATA, "search data that a trial uses up or changes, so the trials after it fail"),
        HealthCheck("data_too_short", DATA, "a finite dataset shorter than the steps and epochs a trial asks of it"),
        HealthCheck("data_arguments", DATA, "search arguments that Keras rejects for that kind of data"),
        HealthCheck("labels_outside_outputs", DATA, "labels that the model's outputs and loss cannot take"),
        HealthCheck("fails_in_sequence", SEQUENCE, "a trial that passes alone and fails or differs after another"),
        HealthCheck("state_left_behind", SEQUENCE, "global state a trial leaves for the next (Keras's configuration)"),
        HealthCheck("shared_variables", SEQUENCE, "variables shared between the models of different trials"),
        HealthCheck("after_search", AFTER_SEARCH, "what the user calls after the search, or a resume, failing"),
        HealthCheck("hyperparameter_unused", WASTE, "a hyperparameter that changes neither the model nor its fit"),
        HealthCheck("hyperparameter_redeclared", WASTE, "a name declared again with another type, range or default"),
        HealthCheck("log_key_missing", WASTE, "the objective or a callback's monitor naming a key the logs lack"),
        HealthCheck("objective_direction", WASTE, "an objective whose direction contradicts its metric"),
        HealthCheck("score_not_objective", WASTE, "the score KerasTuner records is not the objective the user named"),
        HealthCheck("objective_unnamed", WASTE, "fit() returns a dict of metrics and no objective names one of them"),
        HealthCheck("warning_in_trial", WASTE, "a warning raised during a trial that says it does not do what asked"),
    )
}


class UnknownHealthCheck(ValueError):
    """A suppressed name that is no check's: one line naming the checks there are."""


def check_names(names: Iterable[str]) -> frozenset[str]:
    """The names to suppress, checked: a misspelt name would silently suppress nothing."""
    given = frozenset(n.strip() for n in names if n.strip())
    unknown = sorted(given - CHECKS.keys())
    if unknown:
        raise UnknownHealthCheck(
            f"unknown health check {', '.join(map(repr, unknown))}: the checks are {', '.join(sorted(CHECKS))}"
        )
    return given


@dataclass(frozen=True)
class Finding:
    """What one check found on one hypermodel: what, where in the user's code, and the fix."""

    check: str
    spec: str
    #: What was found, in a sentence, with the evidence (the values, the case, what KerasTuner did).
    message: str
    #: What to change, in a sentence.
    fix: str
    #: ``(file, line)`` in the user's code, when the finding has one.
    location: tuple[str, int] | None = None
    #: The case (its id) or trial that showed it, when one did.
    case: str = ""

    def __post_init__(self) -> None:
        if self.check not in CHECKS:
            raise ValueError(f"no health check is named {self.check!r}")

    @property
    def family(self) -> str:
        return CHECKS[self.check].family

    def line(self) -> str:
        """``models.py:build: [hyperparameter_unused] batch_size ...: pass it to fit (...)``: the terminal's line."""
        where = f" ({site(*self.location)})" if self.location else ""
        return f"{self.spec}: [{self.check}] {self.message}{where}: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "family": self.family,
            "spec": self.spec,
            "message": self.message,
            "fix": self.fix,
            "file": self.location[0] if self.location else None,
            "line": self.location[1] if self.location else None,
            "case": self.case,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        file, line = data.get("file"), data.get("line")
        return cls(
            check=str(data["check"]),
            spec=str(data.get("spec", "")),
            message=str(data.get("message", "")),
            fix=str(data.get("fix", "")),
            location=(str(file), int(line)) if file and line else None,
            case=str(data.get("case") or ""),
        )


#: How IPython names the code of a notebook's cell (``Cell In[3]``); the Python API names a location in one so.
CELL = "Cell In["


def site(file: str, line: int | None, short: bool = False) -> str:
    """Where in the user's code: ``models.py:12`` (the file's name alone when ``short``), or in a notebook's cell
    ``Cell In[3], line 12``, as IPython's tracebacks say it."""
    if file.startswith(CELL):
        return f"{file}, line {line}" if line else file
    name = file.rsplit("/", 1)[-1] if short else file
    return f"{name}:{line}" if line else name


def active(findings: Iterable[Finding], suppressed: Collection[str]) -> list[Finding]:
    """The findings that fail the run: those of a check not suppressed, each once, in the order found."""
    seen: set[Finding] = set()
    kept = []
    for f in findings:
        if f.check not in suppressed and f not in seen:
            seen.add(f)
            kept.append(f)
    return kept


#: A case's property (JUnit, and its JSON entry) holding what a check found while that case ran: a JSON list of
#: ``Finding.to_dict()``. A check that watches a case's trial reports through it (``case_property``); the engine
#: gathers it back (``from_entries``) with the hypermodels' own findings.
CASE_HEALTH = "case.health"


def case_property(findings: Iterable[Finding]) -> tuple[str, str]:
    """The property that carries ``findings`` on a case's report."""
    import json

    return CASE_HEALTH, json.dumps([f.to_dict() for f in findings], sort_keys=True)


def from_entries(entries: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """The findings the cases' entries carry (``CASE_HEALTH``), in the cases' order; one unreadable is skipped."""
    import json

    found: list[Finding] = []
    for entry in entries:
        text = entry.get(CASE_HEALTH)
        if not text:
            continue
        try:
            items = json.loads(text) if isinstance(text, str) else text
            found.extend(Finding.from_dict(item) for item in items)
        except (ValueError, TypeError, KeyError):
            continue
    return found


def by_spec(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """The findings grouped by hypermodel (its SPEC), each group in the order found."""
    grouped: dict[str, list[Finding]] = {}
    for f in findings:
        grouped.setdefault(f.spec, []).append(f)
    return grouped
