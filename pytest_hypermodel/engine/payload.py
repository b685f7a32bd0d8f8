"""The JSON report's payload: every case's entry, what they add up to, and what each hypermodel's space says.

The engine builds it once the cases ran (``Engine.payload``); the renderers (``views.github``, ``views.html``)
and the gated search read it back. The cases stay the entries they travelled as (``verdict.entry``); what is
computed from them reads their records (``record.CaseRecord``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pytest_hypermodel.rules import culprits
from pytest_hypermodel.rules.record import CaseRecord, records

if TYPE_CHECKING:
    from pytest_hypermodel.engine.refine import Refinement
    from pytest_hypermodel.probe.prepare import Preflight
    from pytest_hypermodel.rules.forecasts.protocol import ForecastRecord

#: The pytest outcomes of a case that does not make its hypermodel red.
GREEN_OUTCOMES = ("passed", "xfailed")

#: How a count reads a case whose entry has no outcome or disposition.
UNKNOWN = "?"


def summarize(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """How many cases, their outcomes and dispositions, and the runs KerasTuner would spend on them."""
    cases = records(entries)
    return {
        "cases": len(cases),
        "outcomes": dict(sorted(Counter(_known(r.outcome) for r in cases).items())),
        "dispositions": dict(sorted(Counter(_known(r.disposition) for r in cases).items())),
        "runs": sum(r.runs for r in cases),
    }


def _known(value: str | None) -> str:
    return UNKNOWN if value is None else value


def hypermodels(
    entries: Sequence[Mapping[str, Any]],
    planned: Mapping[str, int | None] | None = None,
    details: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Per hypermodel and policy (fingerprint): is its preflight complete and green? ``details``: more per spec
    (declarations, boundaries, repair)."""
    groups: dict[tuple[str, str], list[CaseRecord]] = {}
    for r in records(entries):
        groups.setdefault((r.spec, r.fingerprint), []).append(r)
    out = []
    for (spec, print_), group in groups.items():
        expected = (planned or {}).get(spec)
        complete = expected is None or len(group) == expected
        green = complete and all(r.test_outcome in GREEN_OUTCOMES for r in group)
        record: dict[str, Any] = {
            "spec": spec,
            "fingerprint": print_,
            "cases": len(group),
            "planned": expected,
            "complete": complete,
            "green": green,
            **(details or {}).get(spec, {}),
        }
        growth = [r.rss_growth_bytes for r in group if r.rss_growth_bytes is not None]
        if growth:  # measured on its default case
            record["rss_growth_bytes"] = growth[0]
        out.append(record)
    return out


def payload(
    entries: list[dict[str, Any]],
    planned: Mapping[str, int | None] | None = None,
    extra: Mapping[str, Any] | None = None,
    details: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON report: what the renderers (``github``, ``html_report``) and the gated search read."""
    return {
        "version": 1,
        "summary": summarize(entries),
        "hypermodels": hypermodels(entries, planned, details),
        **(extra or {}),
        "cases": entries,
    }


def full_payload(
    preflights: Sequence[Preflight],
    entries: list[dict[str, Any]],
    forecasts: Sequence[ForecastRecord],
    refinements: Sequence[Refinement],
) -> dict[str, Any]:
    """The payload with what each hypermodel's space says beyond its cases: where each hyperparameter is declared,
    the build's ``def`` line, and the boundaries and repair when they were searched; the forecasts as the report
    holds them (``ForecastRecord.to_dict``: the one place they become dicts)."""
    details: dict[str, dict[str, Any]] = {}
    for pre in preflights:
        space = pre.space
        details[pre.target.spec] = {
            "declarations": {name: {"file": path, "line": line} for name, (path, line) in space.sites.items()},
            "definition": {"file": space.definition[0], "line": space.definition[1]} if space.definition else None,
            # Hyperparameters planned at only some of their values: name -> how many planned, of how many.
            "capped": {name: {"planned": kept, "values": total} for name, (kept, total) in pre.plan.capped.items()},
            # Each hyperparameter that exists only under others' values, and those others: never their partner.
            "requires": {name: list(parents) for name, parents in culprits.requires_of(space).items()},
        }
    for found in refinements:
        details[found.spec].update(
            boundaries=[b.to_dict() for b in found.findings.boundaries], repair=found.repair_dict()
        )
        if found.findings.moved_default is not None:
            name, failing, passing = found.findings.moved_default
            details[found.spec]["defaults_moved"] = {"hyperparameter": name, "failing": failing, "passing": passing}
    planned: dict[str, int | None] = {pre.target.spec: len(pre.plan) for pre in preflights}
    return payload(entries, planned, {"forecasts": [forecast.to_dict() for forecast in forecasts]}, details)
