"""The judgement of a probed case: its verdict, and the JUnit properties that carry it (then its JSON entry).

Everything here works on plain builtins (properties travel from xdist workers on reports), so the controller
can aggregate without Keras. The properties' names are ``record``'s; what a failed case is told is ``hints``'s,
the time per trial ``timing``'s, and the JSON report's payload the engine's (``engine.payload``).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from pytest_hypermodel.rules import culprits as culprits_mod
from pytest_hypermodel.rules import offline
from pytest_hypermodel.rules import outcomes
from pytest_hypermodel.rules import record
from pytest_hypermodel.rules.hints import DOWNLOAD_FIX, OBJECTIVE_MISSING  # the forecast names them
from pytest_hypermodel.space.plan import Case, printable, unprintable
from pytest_hypermodel.rules.policy import COMPLETED, Disposition, Policy

if TYPE_CHECKING:
    from pytest_hypermodel.space.hyperparameters import SearchSpace

PASS = "pass"
XFAIL = "xfail"
FAIL = "fail"


def fingerprint(kt_config: dict, policy: Policy) -> str:
    """Identifies a search space and the policy it was judged by; the gated search checks it."""
    payload = json.dumps({"space": kt_config["space"], "policy": policy.to_dict()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def verdict(result: Any, disposition: Disposition) -> str:
    """Pass when KerasTuner completes it cleanly, xfail for a declared failure, else fail."""
    if result.outcome == outcomes.OK:
        return PASS
    if disposition.declared and disposition.name != "fatal":
        return XFAIL
    return FAIL


def properties(case: Case, result: Any, disposition: Disposition, spec: str = "",
               fingerprint: str = "") -> list[tuple[str, Any]]:
    """The JUnit properties of one case, named as DESIGN.md fixes them (plus where it came from); ``record``
    names them and reads them back."""
    # Names escaped (a BEL or an ANSI escape would make the JUnit file invalid XML); ``entry`` unescapes them.
    props: list[tuple[str, Any]] = [(f"{record.HP_PREFIX}{printable(name)}", value)
                                    for name, value in case.values.items()]
    props += [
        (record.CASE_KIND, case.kind),
        (record.CASE_ID, case.id),
        (record.CASE_SPEC, spec),
        (record.CASE_FINGERPRINT, fingerprint),
        (record.OUTCOME, result.outcome),
        (record.EXCEPTION, result.exception or ""),
        (record.DISPOSITION, disposition.name),
        (record.RUNS, disposition.runs),
        (record.PARAMS, result.params if result.params is not None else ""),
        (record.MEMORY_BYTES, result.memory_bytes if result.memory_bytes is not None else ""),
        (record.MEMORY_BUDGET, getattr(result, "memory_budget", None) or ""),
        (record.SECONDS, result.seconds),
        (record.BACKEND, result.backend),
        (record.DEVICE, result.device),
    ]
    if result.predicted:
        props.append((record.PREDICTED, True))
    if getattr(result, "losses", None):  # what a divergence was judged on
        props.append((record.LOSSES, [_loss(loss) for loss in result.losses]))
        if getattr(result, "start_loss", None) is not None:
            props.append((record.START_LOSS, _loss(result.start_loss)))
        if getattr(result, "reference_loss", None) is not None:
            props.append((record.REFERENCE_LOSS, round(result.reference_loss, 6)))
    if getattr(result, "rss_growth_bytes", None) is not None:  # measured on the default case only
        props.append((record.RSS_GROWTH_BYTES, result.rss_growth_bytes))
    # For ``timing``: the same names on the result and among the properties.
    for name in (record.STEP_SECONDS, record.EPOCH_SECONDS, record.SEARCH_EPOCHS, record.SEARCH_BATCHES):
        if getattr(result, name, None) is not None:
            props.append((name, getattr(result, name)))
    if getattr(result, "step_seconds", None) is not None:
        props += [(record.STEPS, result.steps), (record.EPOCHS, len(result.losses))]
    download = offline.attempted_download(f"{result.message or ''} {result.traceback or ''}")
    if download is not None:
        props.append((record.DOWNLOAD, download))  # a setup problem: left out of the forecast
    return props


def _loss(value: float) -> float | str:
    """A loss for the reports: rounded; a non-finite one as ``"nan"`` or ``"inf"`` (JSON has no such numbers)."""
    return round(value, 6) if math.isfinite(value) else str(value)


def entry(nodeid: str, props: Iterable[tuple[str, Any]], outcome: str) -> dict[str, Any]:
    """A case's entry in the JSON report, from the properties on its test report: the one place properties
    become an entry (``record.CaseRecord.from_entry`` reads it back)."""
    values: dict[str, Any] = {}
    out: dict[str, Any] = {record.NODEID: nodeid, record.TEST_OUTCOME: outcome, record.VALUES: values}
    for key, value in props:
        if key.startswith(record.HP_PREFIX):
            values[unprintable(key[len(record.HP_PREFIX):])] = value
        else:
            out[key] = value
    return out


def policy_of(entries: list[dict], fallback: Policy) -> Policy:
    for e in entries:
        if e.get("case.policy"):
            return Policy.from_dict(json.loads(e["case.policy"]))
    return fallback


def culprits(entries: list[dict], space: "SearchSpace") -> str:
    """What to constrain, in a phrase (see ``culprits.text``): a conv stack failing at conv_blocks=4 names
    conv_blocks, not the filters and dropout its corners also moved."""
    failing = [moved(e.get("values", {}), space) for e in entries if e.get("disposition") != "completed"]
    return culprits_mod.text(failing, order(space))


def predicate(entries: list[dict], space: "SearchSpace", screen=None,
              policy: Policy | None = None) -> Callable[[dict], str | None]:
    """What any configuration of ``space`` would do, judged from the cases run and the configurations built
    without a fit (``screen.Screen``).

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
    runs, exact = [], []
    for e in entries:
        run = (moved(e.get("values", {}), space), e["disposition"])
        in_build = e["disposition"] != COMPLETED and e.get("params") in (None, "")
        (exact if in_build else runs).append(run)
    fit_only = culprits_mod.Predicate.from_runs(runs, COMPLETED, scale, space.defaults(), exact)
    if screen is None or not screen.results:
        return fit_only if screen is not None and screen.whole else culprits_mod.Predicate.from_runs(
            runs + exact, COMPLETED, scale, space.defaults())
    budget = policy.memory_budget or next((e["memory_budget"] for e in entries if e.get("memory_budget")), None)
    built = {culprits_mod.key(moved(r["values"], space)): _built_disposition(r, policy, budget)
             for r in screen.results}
    failed = sorted(d for d in built.values() if d is not None)

    def judge(values: dict) -> str | None:
        k = culprits_mod.key(values)
        if k in built and built[k] is not None:
            return built[k]
        if k in built or k in fit_only.known or screen.whole or not failed:
            return fit_only(values)
        u = int(hashlib.sha256(repr(sorted(k, key=repr)).encode()).hexdigest()[:12], 16) / 16**12
        share = len(failed) / len(built)
        return failed[int(u / share * len(failed))] if u < share else fit_only(values)

    return judge


def _built_disposition(built: dict, policy: Policy, budget: int | None) -> str | None:
    """What KerasTuner does with a configuration built without a fit (``screen.Screen``): None when the build
    raises nothing and the model is within ``max_model_size`` and the memory budget."""
    from types import SimpleNamespace

    outcome = built.get("outcome")
    if outcome is None and policy.max_model_size and (built.get("size") or 0) > policy.max_model_size:
        outcome = outcomes.FAILED_TRIAL  # KerasTuner raises FailedTrialError for a model over max_model_size
    elif outcome is None and budget and (built.get("memory_bytes") or 0) > budget:
        outcome = outcomes.OOM
    if outcome is None:
        return None
    fake = SimpleNamespace(outcome=outcome, exception=built.get("exception"),
                           exception_bases=built.get("exception_bases") or [], losses=[])
    disposition = policy.disposition(fake).name
    return None if disposition == COMPLETED else disposition


def screened_text(screen, judge: Callable[[dict], str | None], space: "SearchSpace", entries: Sequence[dict]) -> str:
    """What the builds without a fit measured of the space: `` and 15 builds without a fit (26/s; with the cases,
    the whole space: 14 of its 32 configurations fail)``, or, for a sample of the draws, `` and 240 of the draws
    built without a fit (31/s; 45% ±6% of them fail)``."""
    if screen is None or not screen.results:
        return ""
    n = len(screen.results)
    failing = sum(judge(moved(r["values"], space)) is not None for r in screen.results)
    if screen.whole:
        failing += sum(e.get("disposition") != COMPLETED for e in entries)
        return (f" and {n} builds without a fit ({screen.rate:.0f}/s; with the cases, the whole space: {failing} of "
                f"its {n + len(entries)} configurations fail)")
    share = failing / n
    return (f" and {n} of the draws built without a fit ({screen.rate:.0f}/s; {share:.0%} "
            f"±{2 * math.sqrt(share * (1 - share) / n):.0%} of them fail)")


def moved(values: dict, space: "SearchSpace") -> dict:
    """The values of a case that differ from the defaults, in the space's order."""
    return {p.name: values[p.name] for p in space if p.name in values and values[p.name] != p.default}


def order(space: "SearchSpace"):
    """Sort key: a hyperparameter's place in the space (unknown names last)."""
    places = {p.name: i for i, p in enumerate(space)}
    return lambda name: places.get(name, len(places))


def forecast(pre, entries: list[dict], fallback: Policy, tuner: str, max_trials: int | None, max_abort_risk: float) -> dict:
    """What the search over one hypermodel would do, from the cases its preflight probed.

    GridSearch: KerasTuner's own trial order walked over the probed trials.
    RandomSearch and BayesianOptimization: the share of KerasTuner's seeds whose oracle, each draw judged by the
    cases (``predicate``), aborts within ``max_trials``. Hyperband: estimated from the share of planned cases that
    end FAILED or fatal, trials assumed independent.
    """
    from pytest_hypermodel.rules import forecast as fc

    mine = [e for e in entries if e.get("case.spec") == pre.target.spec]
    policy = policy_of(mine, fallback)
    # A case whose build downloads says nothing about the space (the search node may have the file): left out.
    downloads = [e for e in mine if e.get("download")]
    mine = [e for e in mine if not e.get("download")]
    names = [p.name for p in pre.space]
    if tuner == "GridSearch":
        by_values = {frozenset(e["values"].items()): e for e in mine}
        dispositions, values = [], []
        for trial in pre.trials or []:
            e = by_values.get(frozenset(pre.space.complete(trial).items()))
            if e is None:  # not probed (capped, or the run was cut short): forecast the prefix
                break
            dispositions.append(Disposition(e["disposition"], int(e["runs"])))
            values.append(trial)
        result = fc.forecast_sequence(
            dispositions, policy, tuner, names, values=values, planned=len(pre.trials or []) or None,
            max_trials=max_trials, default_error=pre.space.default_error,
        )
        return {"spec": pre.target.spec, **result.to_dict(), "fails_run": result.aborts}
    trials = max_trials or 10
    if pre.space.default_error:
        # Every tuner's constructor builds the defaults outside any try block.
        message = (f"{tuner} would crash before its first trial: building the defaults raises "
                   f"{pre.space.default_error}; fix the defaults")
        return {"spec": pre.target.spec, "tuner": tuner, "max_trials": trials, "aborts": True,
                "reason": "default_build", "message": message, "fails_run": True}
    dispositions = [Disposition(e["disposition"], int(e["runs"])) for e in mine]
    failing = culprits(mine, pre.space)
    if tuner in fc.RANDOM_ORACLES and dispositions and pre.draws:
        judge = predicate(mine, pre.space, pre.screen, policy)
        driven = fc.judge_draws(pre.draws, lambda values: judge(moved(values, pre.space)), policy)
        probability, failure_rate, fatal_rate = driven.probability, driven.failure_rate, driven.fatal_rate
        message = (
            f"{tuner} would abort within {trials} trials with probability {probability:.0%} ±{2 * driven.error:.0%} "
            f"(KerasTuner's oracle over {driven.seeds} seeds, each trial judged by the {len(dispositions)} cases "
            f"run{screened_text(pre.screen, judge, pre.space, mine)}: {failure_rate:.0%} of the trials drawn FAILED, "
            f"{fatal_rate:.0%} fatal)"
        )
    else:
        failure_rate, fatal_rate = fc.failure_rates(dispositions)
        probability = fc.abort_probability(failure_rate, trials, policy, fatal_rate) if dispositions else 0.0
        message = (
            f"{tuner} would abort within {trials} trials with probability {probability:.0%} "
            f"(estimated from {failure_rate:.0%} FAILED and {fatal_rate:.0%} fatal among the {len(dispositions)} "
            f"planned cases, trials assumed independent; the plan over-weights the extremes)"
        )
    if probability > max_abort_risk:
        missing = [e for e in mine if f"Likely fix: {OBJECTIVE_MISSING} " in (e.get("message") or "")]
        if failing and not missing:
            fix = f"constrain {failing}"
        elif missing:
            fix = "make each trial's fit log the objective: " + missing[0]["message"].partition(
                f"Likely fix: {OBJECTIVE_MISSING} ")[2].rstrip(".").partition(": ")[2]
        elif any(e.get("case.kind") == "default" and e.get("disposition") != "completed" for e in mine):
            fix = "fix the build function or its defaults: the defaults already fail"
        else:
            fix = "fix the failing cases"
        if fatal_rate:
            # FatalError, or a SystemExit / KeyboardInterrupt that KerasTuner does not catch.
            stoppers = sorted({e.get("exception") or "FatalError" for e in mine if e.get("disposition") == "fatal"})
            fix += (f" (a {' or '.join(stoppers)} stops the search at the first trial that raises it, whatever "
                    "max_consecutive_failed_trials is)")
        else:
            fix += f", or raise max_consecutive_failed_trials above {policy.max_consecutive_failed_trials}"
        message += f"; over the accepted risk of {max_abort_risk:.0%}: {fix}"
    if downloads:
        message += (f" ({len(downloads)} cases left out: their build downloads {downloads[0]['download']}: "
                    f"{DOWNLOAD_FIX})")
    screened = {"screen": pre.screen.to_dict()} if pre.screen is not None and pre.screen.results else {}
    return {"spec": pre.target.spec, "tuner": tuner, "max_trials": trials, "aborts": probability > max_abort_risk,
            "abort_probability": probability, "failure_rate": failure_rate, "fatal_rate": fatal_rate,
            "message": message, "fails_run": probability > max_abort_risk, **screened}
