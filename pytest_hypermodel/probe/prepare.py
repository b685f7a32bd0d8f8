"""One hypermodel made ready for its cases: its space discovered, its cases planned.

Runs where the user's code runs (the probe process, or the caller's with isolation off); what it returns is plain
data that crosses to the engine and to xdist workers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from pytest_hypermodel.rules.health import Finding
from pytest_hypermodel.space import plan as plan_mod
from pytest_hypermodel.space.hyperparameters import SearchSpace
from pytest_hypermodel.space.plan import Plan
from pytest_hypermodel.space.target import Target
from pytest_hypermodel.space.user_tuner import TunerSettings

GRID_SEARCH = "GridSearch"
#: The tuners a forecast knows: GridSearch walks its own trial order, the others draw at random.
TUNERS = (GRID_SEARCH, "RandomSearch", "BayesianOptimization", "Hyperband")


@dataclass
class Preflight:
    """A resolved SPEC with its discovered space and planned cases."""

    target: Target
    space: SearchSpace
    plan: Plan
    #: GridSearch's own trial order, when the forecast is for a GridSearch.
    trials: list[dict] | None = None
    #: How long its discovery and planning took, for the progress line.
    seconds: float = 0.0
    #: What the user's own tuner sets (``user_tuner.describe``); None for a bare hypermodel.
    tuner: TunerSettings | None = None
    #: For a random tuner: the configurations no case runs that were built without a fit (every one of a small
    #: space, else as many of the tuner's draws as the budget allows; ``screen.check``); the forecast judges
    #: the draws by them. None: nothing was built.
    screen: Any = None
    #: For a random tuner: the trials its oracle draws, seed by seed (``oracle.random_draws``).
    draws: list[tuple[int, list[dict]]] | None = None
    #: The default model's outputs and their losses' kinds (``search_data.describe_outputs``), described where it
    #: was built when the search's data is given, for its labels; None: not known.
    outputs: list | None = None
    #: What the health checks found while preparing it (``health.Finding``s; suppression is the engine's): the
    #: waste discovery saw, and the search data's findings (``Engine.check_data``), made before its cases. Plain
    #: data that travels with the plans (to xdist workers, the controller).
    findings: list[Finding] = field(default_factory=list)
    #: Why KerasTuner cannot make the forecast's tuner here (``oracle.cannot_start``: the ImportError of a missing
    #: optional dependency); ``""`` when it can. The search's first failure, before any trial.
    cannot_start: str = ""


@dataclass(frozen=True)
class PlanOptions:
    strategies: tuple[str, ...] = plan_mod.DEFAULT_STRATEGIES
    strength: int | None = None
    levels: int = 2
    max_cases: int | None = plan_mod.DEFAULT_MAX_CASES
    #: The tuner the search will use: a GridSearch's own trials are planned too.
    tuner: str = "RandomSearch"
    max_trials: int | None = None
    #: For models that declare no input (see ``fit.parse_input_shapes``): discovery fits a HyperModel's own fit().
    input_shapes: Any = None
    #: Whether a random tuner's draws and the small space's builds are made for the forecast (not for the
    #: preflight that verifies a repair, which forecasts nothing).
    forecast: bool = True
    #: The policy's limits, which the builds without a fit are held to (``screen.check`` stops early when none
    #: fails); a user's tuner's ``max_model_size`` overrides.
    max_model_size: int | None = None
    memory_budget: int | None = None


def prepare_target(
    target: Target,
    options: PlanOptions,
    timeout: float | None = None,
    faults=None,
    before_build=None,
    grid_builds: bool = True,
    before_grid=None,
    data: Any = None,
    settings: Any = None,
) -> Preflight:
    """Discover and plan one resolved SPEC; SpecError on bad input.

    ``data`` (what the cases fit on, as ``fit.run`` takes it, with the probe's ``settings``): a HyperModel's own
    fit() runs on it during discovery, so that what fit() declares with the search's data is found.

    ``timeout``, ``faults`` and ``before_build`` go to discovery (see ``discovery.discover``). The GridSearch
    forecast builds the grid's trials itself (``before_grid`` is told first) unless ``grid_builds`` is off,
    when it infers their order.
    """
    from pytest_hypermodel.probe import discovery, oracle
    from pytest_hypermodel.rules.abort_rules import RANDOM_ORACLES
    from pytest_hypermodel.space import hyperparameters, user_tuner
    from pytest_hypermodel.space import target as target_mod

    described = user_tuner.describe(target.tuner, TUNERS, target.project) if target.tuner is not None else None
    if described is not None and described.tuner:  # the user's tuner is the one the forecast is for
        options = dataclasses.replace(
            options,
            tuner=described.tuner,
            max_trials=described.max_trials if described.max_trials is not None else options.max_trials,
            max_model_size=described.max_model_size or options.max_model_size,
        )
    try:
        fit_arguments = None
        if data is not None:
            from pytest_hypermodel.probe import fit

            def fit_arguments(model):
                return fit.fit_arguments(data, model, {}, settings or fit.FitSettings())

        space = discovery.discover(
            target.hypermodel,
            timeout=timeout,
            before_build=before_build,
            faults=faults,
            input_shapes=options.input_shapes,
            fit_arguments=fit_arguments,
            oracle=target.tuner.oracle if target.tuner is not None else None,
        )
        trials = None
        if options.tuner == GRID_SEARCH and not space.default_error:
            # The tuner's own order; only as many trials as the cap lets the preflight fit.
            limits = [x for x in (options.max_trials, options.max_cases) if x]
            if grid_builds and before_grid is not None:
                before_grid()
            trials = oracle.grid_order(
                space, min(limits) if limits else None, hypermodel=target.hypermodel if grid_builds else None
            )
        cases = plan_mod.cases(
            space, options.strategies, options.strength, options.levels, options.max_cases, trials=trials or ()
        )
        screened, draws = None, None
        if options.forecast and options.tuner in RANDOM_ORACLES and not space.default_error:
            draws = oracle.random_draws(space, options.max_trials or 10)
            if grid_builds:
                draws = discovery.drop_unread(target.hypermodel, space, draws, timeout, before=before_grid)
                screened = _screen(target.hypermodel, space, cases, draws, timeout, before_grid, options, data)
    except (hyperparameters.SpaceError, plan_mod.PlanError) as exc:
        raise target_mod.SpecError(f"--hypermodel {target.spec}: {exc}") from None
    outputs = _outputs(target.hypermodel, space, data) if data is not None and not space.default_error else None
    unprepared = _unprepared_search(target)
    if unprepared is not None:
        space = dataclasses.replace(space, warnings=(*space.warnings, unprepared))
    pre = Preflight(target, space, cases, trials, tuner=described, screen=screened, draws=draws, outputs=outputs)
    if options.forecast:
        pre.cannot_start = oracle.cannot_start(options.tuner)
    pre.findings.extend(_waste_findings(pre))
    return pre


def _waste_findings(pre: Preflight) -> list[Finding]:
    """What discovery saw that wastes the search (a redeclared name, an unused hyperparameter), and the user's
    tuner's objective against its metric."""
    from pytest_hypermodel.rules import waste_checks

    spec = pre.target.spec
    found = waste_checks.redeclared_findings(spec, pre.space)
    if not _own_run_trial(pre.target.tuner):  # a tuner's own run_trial may read any name: unseen here
        found += waste_checks.unused_findings(spec, pre.space)
    objective = pre.tuner.objective if pre.tuner is not None else None
    if objective:
        pairs = [part.partition(":")[::2] for part in str(objective).split(",")]
        found += waste_checks.objective_findings(
            spec, [(name, direction or None) for name, direction in pairs], "the tuner's objective", pre.target.path
        )
    return found


def _unprepared_search(target: Target) -> str | None:
    """One line for a user's tuner whose own ``search()`` did not run (a SPEC's): what it sets up is not here."""
    from pytest_hypermodel.probe import own_search

    if target.tuner is None or target.search_prepared or not own_search.overrides_search(target.tuner):
        return None
    name = type(target.tuner).__name__
    return (
        f"{name} has a search() of its own, which a SPEC's preflight does not run: what it sets up before the "
        f"trials (the hypermodel's shapes, the data, callbacks) is missing from the cases; preflight it from "
        f"Python, preflight(tuner, x, y), which runs {name}.search() up to its first trial"
    )


def _own_run_trial(tuner: Any) -> bool:
    """Whether the user's tuner runs its trials with a ``run_trial`` of its own (a subclass's, not KerasTuner's)."""
    if tuner is None:
        return False
    return any("run_trial" in vars(cls) and not cls.__module__.startswith("keras_tuner") for cls in type(tuner).__mro__)


def _outputs(hypermodel: Any, space: SearchSpace, data: Any) -> list | None:
    """The default model's outputs, for checking the search's labels against them (``search_data``); None for
    data made per case."""
    if callable(data):
        return None
    from pytest_hypermodel.probe import data as data_mod
    from pytest_hypermodel.probe import discovery

    return data_mod.built_outputs(hypermodel, discovery.hyperparameters(space, {}))


def _screen(
    hypermodel, space, cases, draws, timeout, before=None, options: PlanOptions = PlanOptions(), data: Any = None
):
    """Build, without a fit, what no case runs: every configuration of a small space (then the cases and these
    builds tell every draw), else the tuner's draws, each once, in the order drawn, as many as the budget allows;
    their memory is estimated at the batch of the search's ``data`` (its arguments), else Keras's default."""
    from pytest_hypermodel.probe import oracle
    from pytest_hypermodel.probe import screen as screen_mod
    from pytest_hypermodel.rules import culprits

    planned = {culprits.key(space.complete(case.values)) for case in cases}
    whole = grid_size(space) <= screen_mod.MAX_SCREENED
    offered = oracle.grid_order(space) if whole else [values for _, trials in draws for values in trials]
    pending: dict[frozenset, dict] = {}
    for values in offered:
        complete = space.complete(values)
        pending.setdefault(culprits.key(complete), complete)
    every = [values for k, values in pending.items() if k not in planned]
    if not every:
        return screen_mod.Screen(whole=whole)
    if before is not None:
        before()
    from pytest_hypermodel.probe import data as data_mod
    from pytest_hypermodel.probe import devices

    budget = options.memory_budget or (devices.memory_budget() or (None,))[0]
    return screen_mod.check(
        hypermodel,
        space,
        every,
        timeout,
        whole=whole,
        limits=screen_mod.Limits(options.max_model_size, budget),
        batch_size=data_mod.batch_size(data),
    )


def grid_size(space) -> float:
    """How many configurations KerasTuner's grid over ``space`` holds at most (conditions would make it fewer),
    counted without listing any range; infinite with a float range that has no step, the only values a random
    tuner draws that no grid holds."""
    import math

    size = 1.0
    for entry in space.kt_config["space"]:
        kind, config = entry["class_name"], entry["config"]
        if kind == "Choice":
            size *= len(config["values"])
        elif kind == "Boolean":
            size *= 2
        elif kind in ("Int", "Float"):
            low, high, step = config["min_value"], config["max_value"], config.get("step")
            if step is None and kind == "Float":
                return math.inf
            step = step or 1
            if config.get("sampling") == "log" and low > 0 and step > 1:
                size *= math.floor(math.log(high / low) / math.log(step) + 1e-9) + 1
            else:
                size *= math.floor((high - low) / step + 1e-9) + 1
    return size


def plain(target: Target) -> Target:
    """The target without its hypermodel: what the engine holds when the user's code runs elsewhere."""
    return Target(target.spec, target.path, target.name, None, project=target.project)


def with_repair(target: Target, changes: tuple) -> Target:
    """The target whose hypermodel declares its hyperparameters with ``changes`` applied (``repair.repaired``)."""
    from pytest_hypermodel.rules import repair

    return Target(target.spec, target.path, target.name, repair.repaired(target.hypermodel, changes))
