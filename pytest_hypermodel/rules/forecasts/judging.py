"""How a forecast judges a configuration: by the cases run and the configurations built without a fit.

Shared by the per-tuner forecasts (``driven`` judges the oracle's draws with ``predicate``; every random-order
forecast names what to constrain with ``culprits_text``). Plain logic over the cases' records.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from pytest_hypermodel.rules import culprits as culprits_mod
from pytest_hypermodel.rules import evidence, outcomes
from pytest_hypermodel.rules.culprits import off_defaults, space_order
from pytest_hypermodel.rules.policy import COMPLETED, Policy
from pytest_hypermodel.rules.record import CaseRecord
from pytest_hypermodel.space.words import plural

if TYPE_CHECKING:
    from pytest_hypermodel.rules.forecasts.protocol import Built, Screened
    from pytest_hypermodel.space.hyperparameters import SearchSpace

#: A configuration's disposition as a forecast judges it: None when it completes, else a disposition's name.
Judge = Callable[[dict[str, Any]], "str | None"]


def policy_of(cases: Sequence[CaseRecord], fallback: Policy) -> Policy:
    """The policy the cases were judged by (``case.policy``), else ``fallback``."""
    for case in cases:
        if case.policy:
            return Policy.from_dict(json.loads(case.policy))
    return fallback


def culprits_text(cases: Sequence[CaseRecord], space: SearchSpace) -> str:
    """What to constrain, in a phrase (see ``culprits.text``): a conv stack failing at conv_blocks=4 names
    conv_blocks, not the filters and dropout its corners also moved, nor filters_3, which exists only there."""
    if evidence.value_free(cases) is not None:  # the failure is no value's: nothing to constrain
        return ""
    failing = [off_defaults(c.values, space) for c in cases if c.disposition != COMPLETED]
    passing = [off_defaults(c.values, space) for c in cases if c.disposition == COMPLETED]
    return culprits_mod.text(failing, space_order(space), culprits_mod.requires_of(space), passing)


def predicate(
    cases: Sequence[CaseRecord], space: SearchSpace, screen: Screened | None = None, policy: Policy | None = None
) -> Judge:
    """What any configuration of ``space`` would do, judged from the cases run and the configurations built
    without a fit (``screen.Screen``); it takes a configuration's values off the defaults (``off_defaults``).

    A configuration built fails as its build did, or over ``max_model_size`` or the memory budget; if it passes
    there, the failures the cases saw in a fit decide (``culprits.Predicate``; a case that failed in its build
    says nothing of a neighbour whose build was seen). One neither run nor built, when the builds are a sample of
    the tuner's draws: its build fails with the share of the sample whose builds failed (drawn from its values'
    hash, so the same each time; the sample is drawn as the tuner draws, so the share is the space's, which the
    extremes and corners over-weight); then the fit's failures decide. With no builds, the cases decide all.
    """
    logs = {p.name for p in space if p.sampling == "log" and (p.min_value or 0) > 0}
    scale = {p.name: (math.log if p.name in logs else float) for p in space if p.kind in ("int", "float")}
    policy = policy or Policy()
    runs: list[tuple[dict[str, Any], str]] = []
    exact: list[tuple[dict[str, Any], str]] = []
    for case in cases:
        disposition = case.disposition or ""
        run = (off_defaults(case.values, space), disposition)
        in_build = disposition != COMPLETED and case.params is None
        (exact if in_build else runs).append(run)
    fit_only = culprits_mod.Predicate.from_runs(runs, COMPLETED, scale, space.defaults(), exact)
    if screen is None or not screen.results:
        return (
            fit_only
            if screen is not None and screen.whole
            else culprits_mod.Predicate.from_runs(runs + exact, COMPLETED, scale, space.defaults())
        )
    budget = policy.memory_budget or next((c.memory_budget for c in cases if c.memory_budget), None)
    built = {
        culprits_mod.key(off_defaults(r.values, space)): _built_disposition(r, policy, budget) for r in screen.results
    }
    failed = sorted(d for d in built.values() if d is not None)
    whole = screen.whole

    def judge(values: dict[str, Any]) -> str | None:
        k = culprits_mod.key(values)
        if k in built and built[k] is not None:
            return built[k]
        if k in built or k in fit_only.known or whole or not failed:
            return fit_only(values)
        u = int(hashlib.sha256(repr(sorted(k, key=repr)).encode()).hexdigest()[:12], 16) / 16**12
        share = len(failed) / len(built)
        return failed[int(u / share * len(failed))] if u < share else fit_only(values)

    return judge


def _built_disposition(built: Built, policy: Policy, budget: float | None) -> str | None:
    """What KerasTuner does with a configuration built without a fit (``screen.Screen``): None when the build
    raises nothing and the model is within ``max_model_size`` and the memory budget."""
    outcome = built.outcome
    if outcome is None and policy.max_model_size and (built.size or 0) > policy.max_model_size:
        outcome = outcomes.FAILED_TRIAL  # KerasTuner raises FailedTrialError for a model over max_model_size
    elif outcome is None and budget and (built.memory_bytes or 0) > budget:
        outcome = outcomes.OOM
    if outcome is None:
        return None
    fake = SimpleNamespace(
        outcome=outcome, exception=built.exception, exception_bases=list(built.exception_bases), losses=[]
    )
    disposition = policy.disposition(fake).name
    return None if disposition == COMPLETED else disposition


def screened_text(screen: Screened | None, judge: Judge, space: SearchSpace, cases: Sequence[CaseRecord]) -> str:
    """What the builds without a fit measured of the space: `` and 15 builds without a fit (26/s; with the cases,
    the whole space: 14 of its 32 configurations fail)``, or, for a sample of the draws, `` and 240 of the draws
    built without a fit (31/s; 45% ±6% of them fail)``."""
    if screen is None or not screen.results:
        return ""
    n = len(screen.results)
    failing = sum(judge(off_defaults(r.values, space)) is not None for r in screen.results)
    if screen.whole:
        failing += sum(c.disposition != COMPLETED for c in cases)
        return (
            f" and {plural(n, 'build')} without a fit ({screen.rate:.0f}/s; with the cases, the whole space: "
            f"{failing} of its {plural(n + len(cases), 'configuration')} {'fails' if failing == 1 else 'fail'})"
        )
    share = failing / n
    return (
        f" and {n} of the draws built without a fit ({screen.rate:.0f}/s; {share:.0%} "
        f"±{2 * math.sqrt(share * (1 - share) / n):.0%} of them fail)"
    )
