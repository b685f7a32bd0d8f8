"""The pytest nodes of a preflight: one file node per hypermodel module, one item per case.

Imported only when ``--hypermodel`` is in use (it imports Keras).
"""

from __future__ import annotations

import contextlib
import json
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from . import plan as plan_mod
from . import probe, prober, report
from .plan import Case, Plan
from .policy import Policy
from .space import SearchSpace
from .spec import Target


@dataclass
class Preflight:
    """A resolved SPEC with its discovered space and planned cases."""

    target: Target
    space: SearchSpace
    plan: Plan
    #: GridSearch's own trial order, when the forecast is for a GridSearch.
    trials: list[dict] | None = None


@dataclass(frozen=True)
class CaseRef:
    preflight: Preflight
    case: Case


CASE_KEY = pytest.StashKey[CaseRef]()
SETTINGS_KEY = pytest.StashKey[probe.Settings]()
#: The probe process that runs this pytest process's cases; absent with isolation off.
PROBER_KEY = pytest.StashKey["prober.Prober"]()
#: Where relative SPEC paths start: the ini file's directory for SPECs written there, else None (the cwd).
BASE_KEY = pytest.StashKey["Path | None"]()


class CaseFailure(Exception):
    """A case KerasTuner would not complete; carries the paragraph to show."""

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def run_case(request: pytest.FixtureRequest, hypermodel_data: Any, hypermodel_policy: Policy) -> None:
    """The test function behind every preflight item."""
    request.node.probe_case(hypermodel_data, hypermodel_policy)


class CaseItem(pytest.Function):
    """Builds and briefly fits one case; passes, xfails or fails as KerasTuner would treat it."""

    def probe_case(self, data: Any, policy: Policy) -> None:
        ref = self.stash[CASE_KEY]
        pre, case = ref.preflight, ref.case
        result = self._probe(pre, case, policy, data)
        if case.kind == "default" and result.exception and not pre.space.default_error:
            pre.space.default_fit_error = f"{result.exception}: {result.message}"
        disposition = policy.disposition(result)
        print_ = report.fingerprint(pre.space.kt_config, policy)
        self.user_properties.extend(report.properties(case, result, disposition, pre.target.spec, print_))
        self.user_properties.append(("case.policy", json.dumps(policy.to_dict(), sort_keys=True)))
        outcome = report.verdict(result, disposition)
        if outcome == report.PASS:
            return
        message = report.failure_message(case, result, disposition, policy, pre.space)
        if outcome == report.XFAIL:
            pytest.xfail(message)
        raise CaseFailure(message, result.traceback)

    def _probe(self, pre: Preflight, case: Case, policy: Policy, data: Any) -> probe.Result:
        """In the probe process; in this one with isolation off, or when the data cannot be sent there."""
        settings = self.config.stash[SETTINGS_KEY]
        runner = self.config.stash.get(PROBER_KEY, None)
        if runner is not None:
            try:
                return runner.probe(pre.target.spec, pre.space, case, policy, settings, data)
            except prober.NotSendable as exc:
                from .plugin import HypermodelWarning

                warnings.warn(HypermodelWarning(
                    f"hypermodel_data returned something the probe process cannot receive ({exc}): the case ran in "
                    "the pytest process, where a crash ends the run; return arrays, or a module-level function"
                ))
        return probe.run(hypermodel_of(pre, self.config), pre.space, case, policy, settings, data)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CaseFailure):
            failure = excinfo.value
            long = self.config.option.tbstyle == "long" or self.config.get_verbosity() > 0
            if long and failure.details:
                return f"{failure.message}\n\n{failure.details}"
            return failure.message
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.name


class HypermodelFile(pytest.File):
    """The module a SPEC points at; collects the cases of each SPEC that resolved to it."""

    preflights: list[Preflight]

    def collect(self):
        for pre in self.preflights:
            for case in pre.plan:
                item = CaseItem.from_parent(
                    self, name=case_name(pre, case), callobj=run_case, callspec=case_callspec(case.id),
                    originalname=pre.target.name, keywords={case.id: True},
                )
                item.stash[CASE_KEY] = CaseRef(pre, case)
                item.extra_keyword_matches.add(case.kind)  # -k corner, -k "not extreme"
                yield item


def case_callspec(case_id: str):
    """A callspec holding just the case id, as ``metafunc.parametrize`` would make for one parameter set.

    pytest 9.2 builds a Function's node id from ``originalname`` and its callspec's id (the structured
    id that ``--lf`` and the terminal match on); pytest 8 from the name. With both, every pytest from
    8.1 on gives ``path::build_model[case-id]``. pytest 9.2 renamed the class, with the same fields.
    """
    try:
        from _pytest.python import CallSpec
    except ImportError:  # pytest < 9.2
        from _pytest.python import CallSpec2 as CallSpec
    return CallSpec(_idlist=[case_id])


def case_name(pre: Preflight, case: Case) -> str:
    """``build_model[units=8-lr=0.1]``: the item's name, and its node id after ``path::``."""
    return f"{pre.target.name}[{case.id}]"


def file_nodes(session: pytest.Session, preflights: list[Preflight]) -> list[HypermodelFile]:
    """One node per module path, in the order the SPECs were given."""
    by_path: dict[Path, list[Preflight]] = {}
    for pre in preflights:
        by_path.setdefault(pre.target.path, []).append(pre)
    nodes = []
    for path, group in by_path.items():
        node = HypermodelFile.from_parent(session, path=path)
        node.preflights = group
        nodes.append(node)
    return nodes


GRID_SEARCH = "GridSearch"
TUNERS = (GRID_SEARCH, "RandomSearch", "BayesianOptimization", "Hyperband")


@dataclass(frozen=True)
class PlanOptions:
    strategies: tuple[str, ...] = plan_mod.DEFAULT_STRATEGIES
    strength: int | None = None
    levels: int = 2
    max_cases: int | None = plan_mod.DEFAULT_MAX_CASES
    #: The tuner the search will use: a GridSearch's own trials are planned too.
    tuner: str = "RandomSearch"
    max_trials: int | None = None
    #: For models that declare no input (see ``probe.parse_input_shapes``): discovery fits a HyperModel's own fit().
    input_shapes: Any = None


def prepare(specs: list[str], rootpath: Path, conftest, options: PlanOptions, base: Path | None = None,
            timeout: float | None = None) -> list[Preflight]:
    """Resolve, discover and plan every SPEC in this process; raises SpecError on bad input.

    ``base``: the directory relative SPEC paths start from (the ini file's, for SPECs written there).
    """
    from . import spec as spec_mod

    return [prepare_target(spec_mod.resolve(spec, rootpath, conftest, base), options, timeout) for spec in specs]


def prepare_target(target: Target, options: PlanOptions, timeout: float | None = None, faults=None,
                   before_build=None, grid_builds: bool = True, before_grid=None) -> Preflight:
    """Discover and plan one resolved SPEC (in the probe process, or in pytest's with isolation off).

    ``timeout``, ``faults`` and ``before_build`` go to discovery (see ``space.discover``). The GridSearch
    forecast builds the grid's trials itself (``before_grid`` is told first) unless ``grid_builds`` is off,
    when it infers their order.
    """
    from . import space as space_mod
    from . import spec as spec_mod

    try:
        space = space_mod.discover(target.hypermodel, timeout=timeout, before_build=before_build, faults=faults,
                                   input_shapes=options.input_shapes)
        trials = None
        if options.tuner == GRID_SEARCH and not space.default_error:
            from . import forecast

            # The tuner's own order; only as many trials as the cap lets the preflight probe.
            limits = [x for x in (options.max_trials, options.max_cases) if x]
            if grid_builds and before_grid is not None:
                before_grid()
            trials = forecast.grid_order(space, min(limits) if limits else None,
                                         hypermodel=target.hypermodel if grid_builds else None)
        cases = plan_mod.cases(
            space, options.strategies, options.strength, options.levels, options.max_cases, trials=trials or ()
        )
    except (space_mod.SpaceError, plan_mod.PlanError) as exc:
        raise spec_mod.SpecError(f"--hypermodel {target.spec}: {exc}") from None
    return Preflight(target, space, cases, trials)


def write_handoff(path: Path, preflights: list[Preflight] = (), error: str | None = None) -> None:
    """The planning worker's spaces and plans, for the controller and the other workers (they skip discovery and
    plan the same cases), or the error that stopped it. Written atomically: no one reads half a file."""
    import os

    payload = pickle.dumps(("error", error) if error is not None else
                           ("plans", [(plain(pre.target), pre.space, pre.plan, pre.trials) for pre in preflights]))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)


class HandoffStopped(Exception):
    """The controller stopped before handing over the plans (bad input, which it reports itself, once)."""


#: Seconds the controller waits for the planning worker to start, before it gives up on it.
PLANNER_START_LIMIT = 120.0


def announce_planner(path: Path) -> None:
    """The planning worker's pid, beside the plans it will write: the controller watches it while it waits."""
    import os

    path.with_suffix(".pid").write_text(str(os.getpid()))


def _planner_gone(path: Path, since: float) -> str | None:
    """Why the planning worker will never write the plans, if it will not."""
    import os
    import time

    try:
        pid = int(path.with_suffix(".pid").read_text())
    except (OSError, ValueError):
        if time.monotonic() - since > PLANNER_START_LIMIT:
            return f"the xdist worker that plans did not start within {PLANNER_START_LIMIT:g} s"
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "the xdist worker that plans died before handing over the plans: run without -n to see why"
    except PermissionError:
        pass
    return None


def await_handoff(path: Path, poll: float = 0.05, planner: bool = False) -> list[Preflight]:
    """The plans :func:`write_handoff` wrote (a hypermodel is resolved where its cases run, when they run), for the
    controller (``planner``: it watches the planning worker) and the other workers; HandoffStopped when planning
    stopped, or whoever planned is gone."""
    import os
    import time

    parent, since = os.getppid(), time.monotonic()
    while not path.exists():
        if not planner and os.getppid() != parent:
            raise HandoffStopped("the xdist controller ended before handing over the plans")
        gone = _planner_gone(path, since) if planner else None
        if gone and not path.exists():
            raise HandoffStopped(gone)
        time.sleep(poll)
    kind, handed = pickle.loads(path.read_bytes())
    if kind == "error":
        raise HandoffStopped(handed)
    return [Preflight(target, space, plan, trials) for target, space, plan, trials in handed]


def plain(target: Target) -> Target:
    """The target without its hypermodel: what the pytest process holds when the user's code runs elsewhere."""
    return Target(target.spec, target.path, target.name, None)


def hypermodel_of(pre: Preflight, config: pytest.Config):
    """The hypermodel itself, imported into this process on first use (isolation off, or unsendable data)."""
    if pre.target.hypermodel is None:
        from . import devices
        from . import spec as spec_mod

        devices.load_backend()

        conftest_path = config.rootpath / "conftest.py"
        conftest = config.pluginmanager.get_plugin(str(conftest_path)) if conftest_path.is_file() else None
        pre.target.hypermodel = spec_mod.resolve(pre.target.spec, config.rootpath, conftest,
                                                 config.stash[BASE_KEY]).hypermodel
    return pre.target.hypermodel


def plan_lines(preflights: list[Preflight]) -> list[str]:
    """The readable plan that --hypermodel-plan prints above the cases it lists (``-k extreme`` selects a kind)."""
    lines = []
    for pre in preflights:
        plan = pre.plan
        counts = ", ".join(f"{n} {kind}" for kind, n in plan.counts().items())
        lines.append(
            f"{pre.target.spec}: {len(pre.space)} hyperparameters ({pre.space.builds} builds to discover), "
            f"strategies {','.join(plan.strategies)}, strength {plan.strength}: {len(plan)} cases ({counts})"
        )
        if plan.dropped:
            lines.append(f"  capped at {plan.max_cases}: {plan.planned} planned, {plan.dropped} dropped")
        lines.extend(f"  {note}" for note in plan.notes())
        for line in pre.space.unfinished:
            lines.append(f"  discovery build {line}: what only it declares after that point is not in the plan")
    return lines


def find_case(preflights: list[Preflight], rootpath: Path, nodeid: str) -> tuple[Preflight, Case] | None:
    """The case behind an item's node id (the controller never collects items itself)."""
    path, _, name = nodeid.partition("::")
    for pre in preflights:
        if (rootpath / path).resolve() != pre.target.path:
            continue
        for case in pre.plan:
            if name == case_name(pre, case):
                return pre, case
    return None


def crash_report(pre: Preflight, case: Case, policy: Policy, what: Any) -> tuple[list, str]:
    """Properties and message for a case whose process died."""
    from . import outcomes

    result = probe.Result(case.id, case.kind, dict(case.values), outcome=outcomes.CRASH, message=str(what))
    disposition = policy.disposition(result)
    props = report.properties(case, result, disposition, pre.target.spec, report.fingerprint(pre.space.kt_config, policy))
    return props, report.failure_message(case, result, disposition, policy, pre.space)


def with_repair(target: Target, changes: tuple) -> Target:
    """The target whose hypermodel declares its hyperparameters with ``changes`` applied (``repair.repaired``)."""
    from . import repair

    return Target(target.spec, target.path, target.name, repair.repaired(target.hypermodel, changes))


def _wants_data(hypermodel_data):
    """The signature through which the controller sets up the user's ``hypermodel_data`` fixture."""


@contextlib.contextmanager
def user_data(session: pytest.Session, pre: Preflight):
    """The ``hypermodel_data`` fixture's value, set up on this process as a test would get it, for the probes that
    run after the cases (boundaries, the repair's preflight); None when the plugin's own (synthesized) is in use."""
    from .plugin import _data_overridden

    if not _data_overridden(session.config):
        yield None
        return
    node = HypermodelFile.from_parent(session, path=pre.target.path)
    node.preflights = [pre]
    item = pytest.Function.from_parent(node, name=f"{pre.target.name}[boundaries]", callobj=_wants_data)
    item.ihook.pytest_runtest_setup(item=item)
    try:
        yield item.funcargs["hypermodel_data"]
    finally:
        item.ihook.pytest_runtest_teardown(item=item, nextitem=None)


def refine(session: pytest.Session, pre: Preflight, entries: list[dict], options: PlanOptions, policy: Policy,
           budget: int, seconds: float | None = None):
    """Boundaries, repair and verification of one hypermodel's failures, probed where its cases were
    (the probe process, or this process with isolation off); None when nothing failed."""
    from . import refine as refine_mod

    config = session.config
    settings = config.stash[SETTINGS_KEY]
    runner = config.stash.get(PROBER_KEY, None)
    timeout = policy.timeout
    with user_data(session, pre) as data:
        def here(changes) -> Target:
            target = Target(pre.target.spec, pre.target.path, pre.target.name, hypermodel_of(pre, config))
            return with_repair(target, changes) if changes else target

        def probe_one(space, case, changes):
            if runner is not None:
                try:
                    return runner.probe(pre.target.spec, space, case, policy, settings, data, changes)
                except prober.NotSendable:  # the cases ran here too, with a warning each
                    pass
            return probe.run(here(changes).hypermodel, space, case, policy, settings, data)

        def prepare_one(changes):
            if runner is not None:
                return runner.prepare(pre.target.spec, options, timeout, changes)
            return prepare_target(here(changes), options, timeout)

        def ready() -> None:
            if runner is None:
                hypermodel_of(pre, config)
                return
            try:
                runner.ready()
            except prober.Lost:  # it died starting: the first probe starts it again, and says so
                pass

        return refine_mod.refine(pre, entries, probe_one, prepare_one, config.rootpath, budget, ready, seconds)


def refine_all(session: pytest.Session, preflights: list[Preflight], entries: list[dict], options: PlanOptions,
               fallback: Policy, seconds: float | None = None) -> tuple[list, str | None]:
    """:func:`refine` for each hypermodel with failures, under the policy its cases were judged by; Ctrl-C stops
    them (those found so far are kept, with a note), not the report."""
    from . import boundaries

    found, notes = [], []
    try:
        for pre in preflights:
            mine = [e for e in entries if e.get("case.spec") == pre.target.spec]
            try:
                result = refine(session, pre, entries, options, report.policy_of(mine, fallback),
                                budget=boundaries.DEFAULT_BUDGET, seconds=seconds)
            except Exception as exc:  # a bug of ours must not cost the report: the cases' results are all there
                notes.append(f"{pre.target.spec}: the boundaries stopped on an error of pytest-hypermodel "
                             f"({type(exc).__name__}: {exc}); the cases' results are complete")
                continue
            if result is not None:
                found.append(result)
    except KeyboardInterrupt:
        notes.append("the boundaries were interrupted: those found so far are reported")
    return found, "\n".join(notes) or None
