"""A run that reruns some cases (pytest's ``--lf``, ``-k``): the forecast and the report still cover the whole plan.

Every planned case's record is this run's, else the last run's, when that was made with the same space and policy
(the same fingerprint). The face keeps the records between runs (the pytest plugin in pytest's cache) and hands
them here as plain data, the entries they travel as (``verdict.entry``): they stay entries, read through
``record.CaseRecord``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_hypermodel.engine.engine import nodeid
from pytest_hypermodel.probe.prepare import Preflight
from pytest_hypermodel.rules.forecasts.protocol import ForecastRecord
from pytest_hypermodel.rules.record import CaseRecord
from pytest_hypermodel.space.words import plural

#: One case's record, as the JSON report holds it (``verdict.entry``).
Record = dict[str, Any]


@dataclass
class WholePlan:
    """Every planned case's record for the forecast and the report, and where they came from."""

    #: This run's records, then the last run's for the planned cases not rerun.
    entries: list[Record]
    #: Per SPEC: how many of its cases' records came from the last run.
    earlier: dict[str, int] = field(default_factory=dict)
    #: Per SPEC: how many of its planned cases have no record, neither from this run nor from the last.
    missing: dict[str, int] = field(default_factory=dict)
    #: What to keep for the next run, by node id: the last runs' records, updated with this run's.
    remembered: dict[str, Record] = field(default_factory=dict)


def whole_plan(
    preflights: Sequence[Preflight], entries: list[Record], earlier_runs: Mapping[str, Record], rootpath: Path
) -> WholePlan:
    """This run's ``entries`` completed with ``earlier_runs`` (the records kept from the last runs, by node id)
    for the planned cases this run did not run, when their space and policy are this run's."""
    cases = [CaseRecord.from_entry(e) for e in entries]
    have = {c.nodeid for c in cases}
    prints = {c.spec: c.fingerprint for c in cases}
    added: list[Record] = []
    earlier: dict[str, int] = {}
    missing: dict[str, int] = {}
    for pre in preflights:
        spec = pre.target.spec
        for case in pre.plan:
            key = nodeid(pre, case, rootpath)
            if key in have:
                continue
            old = earlier_runs.get(key)
            if old is not None and prints.get(spec) in (None, CaseRecord.from_entry(old).fingerprint):
                added.append(old)
                earlier[spec] = earlier.get(spec, 0) + 1
            else:
                missing[spec] = missing.get(spec, 0) + 1
    remembered = {**earlier_runs, **{c.nodeid: e for c, e in zip(cases, entries)}}
    return WholePlan(entries + added, earlier, missing, remembered)


def note_sources(
    forecasts: Sequence[ForecastRecord], preflights: Sequence[Preflight], plan: WholePlan
) -> list[ForecastRecord]:
    """The forecasts, each message saying how many of its cases are the last run's, and how many have no result."""
    noted = list(forecasts)
    for i, (pre, forecast) in enumerate(zip(preflights, forecasts)):
        spec, note = pre.target.spec, ""
        if plan.earlier.get(spec):
            note += f" ({plan.earlier[spec]} of its cases as the last run left them: not rerun this time)"
        missing = plan.missing.get(spec)
        if missing:
            note += (
                f" ({plural(missing, 'planned case')} {'has' if missing == 1 else 'have'} no result, neither from "
                "this run nor from the last: the forecast covers the others)"
            )
        # What the verdict rests on, told with it in the short line too: a reader must not trust it blindly.
        noted[i] = dataclasses.replace(forecast, message=forecast.message + note, headline=forecast.short() + note)
    return noted
