"""The rehearsal of the search, for the engine: which cases, where it runs, what the progress lines say.

After the cases, the cases that passed alone (each Choice value and each range's two ends, the plan's one-value
cases) run again one after another through KerasTuner's own ``search()`` (``probe.rehearsal``), and what it saw
becomes health findings (``rules.sequence``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pytest_hypermodel.engine import progress as progress_mod
from pytest_hypermodel.probe import parent
from pytest_hypermodel.probe.prepare import Preflight
from pytest_hypermodel.rules import health, offline, record, sequence
from pytest_hypermodel.rules.health import Finding
from pytest_hypermodel.space import plan as plan_mod
from pytest_hypermodel.space.plan import Case

if TYPE_CHECKING:
    from pytest_hypermodel.engine.engine import Engine

#: The kinds of case that move one value: a Choice's value, a range's end.
ONE_VALUE_KINDS = (plan_mod.KIND_CHOICE, plan_mod.KIND_EXTREME)


def chosen(pre: Preflight, entries: Sequence[dict[str, Any]]) -> tuple[list[Case], dict[str, int | None]] | None:
    """The cases to rehearse, in the plan's order: the one-value cases that passed alone, at most
    ``sequence.CASES_PER_HYPERPARAMETER`` a hyperparameter; with each one's parameter count alone (``defaults`` for
    the default case). None when the defaults did not pass alone (there is no search to rehearse)."""
    passed: dict[str, int | None] = {}
    for r in record.records(entries):
        if r.spec == pre.target.spec and r.test_outcome == "passed":
            passed[r.id] = None if r.params is None else int(r.params)
    default = next((c for c in pre.plan if c.kind == plan_mod.KIND_DEFAULT), None)
    if default is None or default.id not in passed:
        return None
    # A value of a conditional hyperparameter comes with the parents that make it active: still one value's case.
    cases = [c for c in pre.plan if c.id in passed and c.kind in ONE_VALUE_KINDS]
    cases = cases[: sequence.CASES_PER_HYPERPARAMETER * len(pre.space)]
    alone = {c.id: passed[c.id] for c in cases}
    alone["defaults"] = passed[default.id]
    return cases, alone


def rehearse(engine: Engine, pre: Preflight, entries: Sequence[dict[str, Any]], data: Any = None) -> list[Finding]:
    """Rehearse ``pre``'s search where its cases ran; its findings."""
    if any(f.family == health.DATA for f in pre.findings):  # each trial would meet what the data checks found
        engine.progress.step(f"{pre.target.spec}: not rehearsed: its search data is found wanting (above)")
        return []
    picked = chosen(pre, entries)
    if picked is None:
        return []
    cases, alone = picked
    spec, say = pre.target.spec, engine.progress
    trials = len(cases) + 2
    say.start(
        f"rehearsing {spec}'s search: {progress_mod.plural(trials, 'trial')} through KerasTuner's search() in one "
        f"process (the defaults, {progress_mod.plural(len(cases), 'case')} that passed alone, the defaults again; "
        f"at most {sequence.trial_budget(len(pre.space))}), then get_best_models(), get_best_hyperparameters(), "
        "results_summary() and a reload of its project"
    )
    started = time.perf_counter()
    policy, settings = engine.policy_for(pre), engine.probe_settings(pre)
    rehearsed: dict[str, Any] | None = None
    if engine.runner is not None:
        try:
            rehearsed = engine.runner.rehearse(spec, pre.space, tuple(cases), policy, settings, data)
        except parent.NotSendable:  # the cases ran here too, and warned
            rehearsed = None
    if rehearsed is None:
        from pytest_hypermodel.probe import rehearsal, search_data
        from pytest_hypermodel.space import target as target_mod

        hypermodel = engine.hypermodel_of(pre)
        factory = None
        with offline.blocked():  # the factory's module and the rehearsal's trials are the user's code
            if pre.target.tuner is not None and ":" in spec:
                try:  # a SPEC that names a tuner's factory: called again for the rehearsal's tuner
                    factory = target_mod.resolve(spec, engine.rootpath, None, engine.base).factory
                except Exception:
                    factory = None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rehearsed = rehearsal.run(
                    hypermodel, pre.space, cases, policy, settings, search_data.afresh(data), pre.target.tuner, factory
                ).to_dict()
    found = sequence.findings(spec, rehearsed, alone, pre.space.definition)
    skipped = rehearsed.get("skipped")
    checks = sorted({f.check for f in found})
    outcome = f"not rehearsed: {skipped}" if skipped else progress_mod.plural(len(found), "finding")
    if checks:
        outcome += f" ({', '.join(checks)})"
    say.step(
        f"{spec}: rehearsed {progress_mod.plural(trials, 'trial')} "
        f"({progress_mod.seconds(time.perf_counter() - started)}): {outcome}"
    )
    return found
