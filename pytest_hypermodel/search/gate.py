"""The gate of the search command: the preflight's JSON report must hold a complete, green preflight of the same
search space under the same policy (``verdict.fingerprint``), whose forecast does not fail the run, and, when it
checked the cases' logs for an objective, the search's own. Otherwise the search is refused with one line that names
the fix.

Green and complete are derived again from the report's cases: a summary flag is not evidence. Plain Python: it
reads JSON and imports neither pytest nor KerasTuner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_hypermodel.space.words import plural

if TYPE_CHECKING:
    from pytest_hypermodel.rules.policy import Policy


class Refused(Exception):
    """The gate says no: one line that names the fix."""


def _same_hypermodel(entry_spec: str, target: Any, cwd: Path) -> bool:
    """Whether a report's SPEC names the same object as ``target`` (the forms may differ)."""
    if entry_spec == target.spec:
        return True
    location, sep, name = entry_spec.rpartition(":")
    if not sep:
        location, name = "", entry_spec
    if name != target.name:
        return False
    if not location:
        return target.path.name == "conftest.py"
    if location.endswith(".py") or "/" in location or "\\" in location:
        path = Path(location)
        if path.is_absolute() or (cwd / path).is_file():
            return (cwd / path).resolve() == target.path
        parts = [p for p in path.parts if p not in (".", "")]
    else:
        parts = location.split(".")
        if target.path.name == "__init__.py":
            return tuple(target.path.parent.parts[-len(parts) :]) == tuple(parts)
        parts[-1] += ".py"
    return tuple(target.path.parts[-len(parts) :]) == tuple(parts)


def _policy_difference(recorded: dict, policy: Policy) -> str:
    ours = policy.to_dict()
    diffs = [f"{key}={recorded.get(key)!r} there, {ours[key]!r} here" for key in ours if recorded.get(key) != ours[key]]
    return "; ".join(diffs)


def _derived(entry: dict, cases: list[dict]) -> dict:
    """A report's hypermodel entry with ``cases``, ``complete`` and ``green`` computed from its cases."""
    from pytest_hypermodel.engine.payload import hypermodels

    spec, fingerprint = entry.get("spec"), entry.get("fingerprint")
    mine = [c for c in cases if c.get("case.spec") == spec and c.get("case.fingerprint") == fingerprint]
    planned = entry.get("planned")
    derived = hypermodels(mine, {str(spec): planned if isinstance(planned, int) else None})
    if not derived or not isinstance(planned, int):  # no cases, or no plan size to be complete against
        return {**entry, "cases": len(mine), "complete": False, "green": False}
    return {**entry, **derived[0], "spec": spec}


def check_gate(
    report_path: Path,
    target: Any,
    fingerprint: str,
    policy: Policy,
    cwd: Path | None = None,
    objective: str | None = None,
) -> str:
    """The report's entry that lets this search run; raises Refused (one line) otherwise. ``objective``: the
    search's, which must be the one the preflight checked the cases' logs for (when it checked one)."""
    cwd = cwd or Path.cwd()
    spec = target.spec
    rerun = f"run `pytest --hypermodel {spec} --hypermodel-report {report_path}` with the same policy first"
    if not report_path.is_file():
        raise Refused(f"no preflight report at {report_path}: {rerun}")
    try:
        payload = json.loads(report_path.read_text())
        entries, cases = payload["hypermodels"], payload.get("cases", [])
        if not all(isinstance(x, list) and all(isinstance(e, dict) for e in x) for x in (entries, cases)):
            raise TypeError("its hypermodels and cases are not lists of records")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Refused(f"{report_path} is not a preflight JSON report ({type(exc).__name__}: {exc}): {rerun}") from None
    ours = [e for e in entries if _same_hypermodel(str(e.get("spec", "")), target, cwd)]
    # Green and complete are derived again from the cases themselves: a summary flag is not evidence.
    matching = [_derived(e, cases) for e in ours if e.get("fingerprint") == fingerprint]
    if not matching:
        if ours:
            cases = [c for c in payload.get("cases", []) if c.get("case.fingerprint") == ours[0].get("fingerprint")]
            recorded = next((c.get("case.policy") for c in cases if c.get("case.policy")), None)
            why = ""
            if recorded:
                diff = _policy_difference(json.loads(recorded), policy)
                why = f" (policy: {diff})" if diff else " (the search space changed since)"
            raise Refused(
                f"the preflight of {spec} in {report_path} was made with another search space or policy{why}: "
                f"pass the same policy flags, or rerun `pytest --hypermodel {spec} --hypermodel-report {report_path}` "
                f"with this policy"
            )
        raise Refused(f"no green preflight for {spec} with this space and policy in {report_path}: {rerun}")
    for entry in matching:
        if entry.get("complete") and entry.get("green"):
            _check_objective(entry, cases, objective, spec, report_path)
            for forecast in payload.get("forecasts") or []:
                if forecast.get("spec") == entry.get("spec") and forecast.get("fails_run"):
                    raise Refused(
                        f"the preflight of {spec} in {report_path} forecasts that the search aborts: "
                        f"{forecast.get('message', '')}"
                    )
            return entry["spec"]
    entry = matching[0]
    if not entry.get("complete"):
        raise Refused(
            f"the preflight of {spec} in {report_path} is incomplete ({entry.get('cases')} of "
            f"{plural(entry.get('planned') or 0, 'case')} ran): {rerun}"
        )
    failed = [
        c
        for c in payload.get("cases", [])
        if c.get("case.fingerprint") == fingerprint
        and c.get("case.spec") == entry.get("spec")
        and c.get("test_outcome") not in ("passed", "xfailed")
    ]
    names = ", ".join(str(c.get("nodeid", "?")).rpartition("::")[2] for c in failed[:3])
    more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
    raise Refused(
        f"the preflight of {spec} in {report_path} is red: {len(failed)} of "
        f"{plural(entry.get('cases') or 0, 'case')} failed "
        f"({names}{more}): fix the search space (or declare the failures in the policy) and rerun the preflight"
    )


def _check_objective(entry: dict, cases: list, objective: str | None, spec: str, report_path: Path) -> None:
    """A preflight that checked its cases' logs for one objective proves nothing for a search of another."""
    checked = {
        c.get("case.objective")
        for c in cases
        if c.get("case.spec") == entry.get("spec") and c.get("case.fingerprint") == entry.get("fingerprint")
    }
    checked.discard(None)
    if objective is None or not checked:
        return
    names = {part.partition(":")[0] for text in checked for part in str(text).split(",")}
    if {part.partition(":")[0] for part in str(objective).split(",")} != names:
        shown = ", ".join(sorted(map(str, checked)))
        raise Refused(
            f"the preflight of {spec} in {report_path} checked the objective {shown}, and this search's is "
            f"{objective}: pass --objective {shown}, or rerun the preflight with --hypermodel-objective "
            f"{objective}"
        )
