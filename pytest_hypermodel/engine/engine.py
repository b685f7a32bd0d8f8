"""The preflight itself, with no pytest in it: prepare, run the cases, judge, forecast, refine, report.

:class:`Engine` holds what a preflight needs (its settings, where the user's code runs) and does each step for
whichever face drives it: the pytest plugin runs the cases as test items, one step at a time (xdist hands them
to its workers); the Python API and the tests call :meth:`Engine.run`, which does them all in order and returns
the payload the JSON report holds. A new capability of the preflight goes here (or below), never into a face.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any, cast

from pytest_hypermodel.engine import progress as progress_mod
from pytest_hypermodel.engine import project_files
from pytest_hypermodel.engine.payload import full_payload
from pytest_hypermodel.engine.settings import Settings
from pytest_hypermodel.probe import devices, fit, heap, parent, search_data, writes
from pytest_hypermodel.probe.prepare import Preflight, prepare_target, with_repair
from pytest_hypermodel.rules import (
    boundaries,
    culprits,
    evidence,
    health,
    hints,
    offline,
    outcomes,
    record,
    timing,
    trial_health,
    verdict,
)
from pytest_hypermodel.rules import forecasts as tuner_forecasts
from pytest_hypermodel.rules import project as project_mod
from pytest_hypermodel.rules.health import Finding
from pytest_hypermodel.rules.policy import Disposition, Policy
from pytest_hypermodel.space import hyperparameters
from pytest_hypermodel.space import plan as plan_mod
from pytest_hypermodel.space import target as target_mod
from pytest_hypermodel.space.hyperparameters import HypermodelWarning
from pytest_hypermodel.space.plan import Case
from pytest_hypermodel.space.target import Target

if TYPE_CHECKING:
    from pytest_hypermodel.engine.refine import Refinement
    from pytest_hypermodel.probe.prepare import PlanOptions
    from pytest_hypermodel.rules.forecasts.protocol import ForecastRecord
    from pytest_hypermodel.rules.repair import Change
    from pytest_hypermodel.space.hyperparameters import SearchSpace

#: How each verdict reads as a pytest outcome, in the JSON report's ``test_outcome`` (the same for every face).
TEST_OUTCOMES = {verdict.PASS: "passed", verdict.XFAIL: "xfailed", verdict.FAIL: "failed"}


#: A divergence shows in the last epoch's loss against where the case started (its first batch, before
#: any update); one epoch's loss is the mean over its batches, that first one among them: with one batch an epoch
#: (32 synthesized samples) it is the start itself, with more it is diluted by it.
ONE_EPOCH = (
    "hypermodel_epochs = 1: each case fits one epoch, whose loss is the mean over its batches, the first one "
    "(before any update) among them, so a loss that diverges is seen diluted at best (not at all with one "
    "batch an epoch, as the 32 synthesized samples are), and a NaN only if the first epoch has it: use 2 or "
    "more (--hypermodel-epochs, epochs=; 3 by default)"
)


class SetupError(Exception):
    """Bad input, or a problem every case of a hypermodel would share: one line naming the fix."""


@dataclass
class CaseRun:
    """One case probed and judged: what KerasTuner would do, and what a reader is told."""

    result: fit.Result
    disposition: Disposition
    #: The JUnit properties (``hp.*``, ``outcome``...), in the order DESIGN.md fixes.
    properties: list[tuple[str, Any]]
    #: ``verdict.PASS``, ``XFAIL`` or ``FAIL``.
    verdict: str
    #: The paragraph shown for a case that did not pass; its traceback in ``details``.
    message: str = ""
    details: str | None = field(default=None, repr=False)

    def entry(self, nodeid: str) -> dict[str, Any]:
        """The case's record in the JSON report."""
        return verdict.entry(nodeid, self.properties, TEST_OUTCOMES[self.verdict])


def judge(
    pre: Preflight, case: Case, result: fit.Result, policy: Policy, explained: Sequence[Case] | None = None
) -> CaseRun:
    """What KerasTuner does with ``result`` under ``policy``, as properties, a verdict and a message.
    ``explained``: the failing one-value cases inside a case that moved several values (None: not known)."""
    disposition = policy.disposition(result)
    props = verdict.properties(
        case, result, disposition, pre.target.spec, verdict.fingerprint(pre.space.kt_config, policy)
    )
    props.append((record.CASE_POLICY, json.dumps(policy.to_dict(), sort_keys=True)))
    said = verdict.verdict(result, disposition)
    if said == verdict.PASS:
        return CaseRun(result, disposition, props, said)
    message = hints.failure_message(
        case,
        result,
        disposition,
        policy,
        pre.space,
        explained,
        pre.findings,
        built_when_created=pre.tuner is None or pre.tuner.builds_defaults_when_created,
    )
    props.append((record.MESSAGE, message))  # for the readers of the JSON report and the HTML page
    objective_fix = hints.objective_fix(case, result, pre.space, explained)
    if objective_fix is not None:  # the forecast repeats it
        props.append((record.OBJECTIVE_FIX, objective_fix))
    return CaseRun(result, disposition, props, said, message, result.traceback)


def crash_run(pre: Preflight, case: Case, policy: Policy, what: Any) -> CaseRun:
    """A case whose process died before it could say anything (an xdist worker killed by it)."""
    result = fit.Result(case.id, case.kind, dict(case.values), outcome=outcomes.CRASH, message=str(what))
    return judge(pre, case, result, policy)


def _check_project(project: str, label: str, pre: Preflight) -> None:
    """SetupError (one line, starting with ``label``) when ``project`` holds an oracle with another space than
    ``pre``'s."""
    unreached = [p.name for p in pre.space if p.dynamic]
    try:
        project_mod.check(project, label, pre.space.kt_config, unreached, project_mod.TUNER_FIX)
    except project_mod.ProjectError as exc:
        raise SetupError(str(exc)) from None


def objective_text(objective: Sequence[tuple[str, str | None]]) -> str:
    """``val_accuracy`` or ``val_auc:max``, comma-joined: the objective as the option writes it."""
    return ",".join(name + (f":{direction}" if direction else "") for name, direction in objective)


def case_name(pre: Preflight, case: Case) -> str:
    """``build_model[units=8-lr=0.1]``: a case's name, its pytest node id after ``path::``."""
    return f"{pre.target.name}[{case.id}]"


def nodeid(pre: Preflight, case: Case, rootpath: Path) -> str:
    """``models.py::build_model[units=8]``: what pytest calls the case, relative to ``rootpath`` where it can."""
    path = pre.target.path
    with contextlib.suppress(ValueError):
        path = path.relative_to(rootpath)
    return f"{path.as_posix()}::{case_name(pre, case)}"


def confirmation_line(pre: Preflight, case: Case, result: fit.Result) -> str:
    """``build_model[lr=0.01]: its loss grew (2.49 -> 11); followed 3 more epochs (up to 8 ..., 0.4 s): it
    recovered (2.31)``: a loss that grew, followed before it was judged (``fit.follow_grown_loss``)."""
    grew = " -> ".join(f"{loss:.4g}" for loss in [result.start_loss, *result.losses] if loss is not None)
    after = " -> ".join(f"{loss:.4g}" for loss in result.confirmation)
    verdict = "it recovered" if result.outcome != outcomes.DIVERGED else "it kept growing: diverged"
    return (
        f"{case_name(pre, case)}: its loss grew ({grew}); followed "
        f"{progress_mod.plural(len(result.confirmation), 'more epoch')} ({fit.confirmation_budget(result.seconds)}; "
        f"{progress_mod.seconds(result.confirmation_seconds)}): {verdict} ({after})"
    )


def planned_line(pre: Preflight) -> str:
    """``models.py:cnn: 5 hyperparameters, 19 cases planned (3.2 s)``: one hypermodel discovered and planned."""
    plural = progress_mod.plural
    return (
        f"{pre.target.spec}: {plural(len(pre.space), 'hyperparameter')}, {plural(len(pre.plan), 'case')} planned "
        f"({progress_mod.seconds(pre.seconds)})"
    )


def discovered_line(preflights: Sequence[Preflight], elapsed: float) -> str:
    """``2 hypermodels discovered, 42 cases planned (6.1 s)``: discovery's total, for a brief (-q) run."""
    plural, cases = progress_mod.plural, sum(len(pre.plan) for pre in preflights)
    return (
        f"{plural(len(preflights), 'hypermodel')} discovered, {plural(cases, 'case')} planned "
        f"({progress_mod.seconds(elapsed)})"
    )


#: The distributions whose versions a report names (read from their metadata: nothing is imported).
REPORTED_VERSIONS = (
    "pytest-hypermodel",
    "keras",
    "keras-tuner",
    "tensorflow",
    "jax",
    "torch",
    "pytest",
    "pytest-xdist",
    "numpy",
)


def run_metadata(entries: Sequence[dict[str, Any]], command: str = "") -> dict[str, Any]:
    """When, how and with what the preflight ran: for a reader of the report weeks later."""
    import datetime
    import platform
    from importlib import metadata

    versions = {}
    for name in REPORTED_VERSIONS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    cases = record.records(entries)
    backends = sorted({r.backend for r in cases if r.backend})
    devices_used = sorted({r.device for r in cases if r.device})
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "backend": ", ".join(backends),
        "devices": devices_used,
        "python": platform.python_version(),
        "versions": versions,
    }


class Engine:
    """Runs preflights with one :class:`Settings`, its cases in one probe process (or in this one).

    ``rootpath`` and ``conftest`` say where SPECs are resolved (a name in conftest.py), ``base`` where relative
    SPEC paths start. Close it (or use it as a context manager) to stop the probe process.
    """

    def __init__(
        self,
        settings: Settings,
        rootpath: Path,
        conftest: Path | None = None,
        base: Path | None = None,
        conftest_module: Callable[[], ModuleType | None] | None = None,
    ) -> None:
        self.settings = settings
        self.rootpath = rootpath
        self.conftest = conftest
        self.base = base
        #: The conftest module as this process imported it, for resolving a SPEC here (isolation off).
        self._conftest_module = conftest_module or (lambda: None)
        #: What the process that drives the engine is, for messages ("the pytest process").
        self.host = "this process"
        #: Where the long steps outside the cases (discovery, the boundaries, the repair's verification) say what
        #: they do, one whole line each: the pytest face's terminal writer, the API's stderr; nowhere by default.
        self.progress: progress_mod.Progress = progress_mod.silent()
        self.runner: parent.ProbeProcess | None = None
        #: Each case's result, probed once in this process: a failing combination asks for the one-value cases
        #: inside it, which the plan also runs (see :meth:`explaining`).
        self._results: dict[tuple[Any, ...], fit.Result] = {}
        #: The default case's result under a repair (``changes``): probed once, the reference of a divergence.
        self._repaired_defaults: dict[tuple[Any, ...], fit.Result] = {}
        #: The health checks that run after the cases, each ``check(engine, pre, its entries) -> findings``
        #: (see :meth:`health`); what a check finds while preparing or in a case needs no entry here.
        self.health_checks: list[Callable[[Engine, Preflight, list[dict[str, Any]]], list[Finding]]] = []
        #: The health findings made so far, in the order found: the search's data's (``check_data``, before any
        #: case, also on each ``Preflight``) and the rehearsal's (``rehearse``, after the cases).
        self.findings: list[Finding] = []
        #: The project's files as they were before the user's code ran (:meth:`watch_project`), and what that
        #: code wrote or deleted there, put back (:meth:`put_back_project`).
        self._project: project_files.ProjectFiles | None = None
        self.project_files: list[project_files.FileChange] = []
        if os.environ.get(writes.LOG_VARIABLE):  # an xdist worker of a run that watches the project
            writes.install()
        if settings.isolation != parent.OFF:
            self.runner = parent.ProbeProcess(
                rootpath, conftest, base, fresh_each_case=settings.isolation == parent.CASE
            )

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.runner is not None:
            self.runner.close()
        heap.thaw()  # what this process's builds froze (isolation off, or data only it can hold)

    def watch_project(self, excluded: Iterable[str | Path] = ()) -> None:
        """Take the project's files (under :attr:`rootpath`) as they are, before any of the user's code runs;
        ``excluded``: what the run itself writes there (its reports). The processes that run the user's code note
        what they write (``probe.writes``): only that is put back, not what someone edits meanwhile."""
        self._project = project_files.ProjectFiles.snapshot(self.rootpath, excluded)
        handle, log = tempfile.mkstemp(prefix="pytest-hypermodel-writes-", suffix=".log")
        os.close(handle)
        os.environ[writes.LOG_VARIABLE] = log  # before any child starts: they inherit it
        writes.install()

    def put_back_project(self, keep: Iterable[str | Path] = ()) -> list[project_files.FileChange]:
        """Put back what the user's code wrote or deleted in the project since :meth:`watch_project` (``keep``:
        files the user asked the run to write, such as the repair), once; what it was, in
        :attr:`project_files`."""
        if self._project is not None:
            watched, self._project = self._project, None
            log = os.environ.pop(writes.LOG_VARIABLE, "")
            self.project_files = watched.restore(keep, attributed=writes.written(log))
            with contextlib.suppress(OSError):
                os.unlink(log)
        return self.project_files

    @property
    def policy(self) -> Policy:
        return self.settings.policy

    @property
    def plan_options(self) -> PlanOptions:
        """What to plan, with the policy's limits the builds without a fit are held to (``screen.check``)."""
        return dataclasses.replace(
            self.settings.plan, max_model_size=self.policy.max_model_size, memory_budget=self.policy.memory_budget
        )

    def policy_for(self, pre: Preflight, policy: Policy | None = None) -> Policy:
        """The policy ``pre``'s cases are judged by: a user's tuner's own retry fields (``max_retries_per_trial``,
        ``max_consecutive_failed_trials``, ``max_model_size``) over the options'."""
        policy = policy or self.policy
        if pre.tuner is not None:
            policy = dataclasses.replace(policy, **pre.tuner.policy_fields)
        return policy

    def probe_settings(self, pre: Preflight) -> fit.FitSettings:
        """How much a probe of ``pre`` does, and the objective its fit must log: the user's tuner's, if any."""
        settings = self.settings.probe
        text = pre.tuner.objective if pre.tuner is not None else None
        if text:
            from pytest_hypermodel.engine.settings import MappingSource, objective

            settings = dataclasses.replace(settings, objective=objective(MappingSource({"hypermodel_objective": text})))
        return settings

    # ------------------------------------------------------------------------------------------- prepare

    def check_specs(self, specs: Iterable[str]) -> None:
        """A mistyped SPEC (its form, a missing file), told before anything is imported."""
        try:
            for text in specs:
                target_mod.locate(text, self.rootpath, self.conftest is not None, self.base)
        except target_mod.SpecError as exc:
            raise SetupError(str(exc)) from None

    def prepare(
        self,
        specs: Sequence[str | Target],
        data: Any = None,
        data_for: Callable[[str], AbstractContextManager[Any]] | None = None,
    ) -> list[Preflight]:
        """Resolve, discover and plan each SPEC (a Target: a hypermodel already in this process); SetupError for
        bad input. ``data``: what the cases will fit on, for a HyperModel's own fit() during discovery; or
        ``data_for(spec)``, which sets up that SPEC's data (the pytest face's ``hypermodel_data`` fixture) for its
        discovery."""
        timeout = self.policy.timeout
        say, started, preflights = self.progress, time.perf_counter(), []
        try:
            for item in specs:
                spec = item.spec if isinstance(item, Target) else item
                say.start(f"discovering {spec}")
                begun = time.perf_counter()
                with data_for(spec) if data_for is not None else contextlib.nullcontext(data) as given:
                    pre = self._prepare_one(item, timeout, given)
                    self.check_data([pre], given)
                pre.seconds = time.perf_counter() - begun
                say.step(planned_line(pre))
                preflights.append(pre)
        except (target_mod.SpecError, hyperparameters.SpaceError, plan_mod.PlanError) as exc:
            raise SetupError(str(exc)) from None
        say.total(discovered_line(preflights, time.perf_counter() - started))
        return preflights

    def _prepare_one(self, item: str | Target, timeout: float | None, data: Any = None) -> Preflight:
        probe_settings = self.settings.probe
        if isinstance(item, Target):  # a build function or HyperModel already in this process
            devices.load_backend()
            hypermodel = target_mod.as_hypermodel(item.hypermodel, item.spec)
            with offline.blocked():
                return prepare_target(
                    dataclasses.replace(item, hypermodel=hypermodel),  # what the face knew of it too (search_prepared)
                    self.plan_options,
                    timeout,
                    data=data,
                    settings=probe_settings,
                )
        if self.runner is not None:
            try:
                # cast: the probe process's parent is not typed yet (its prepare returns Any)
                return cast(
                    Preflight, self.runner.prepare(item, self.plan_options, timeout, data=data, settings=probe_settings)
                )
            except parent.NotSendable:  # the cases say so, and run here: discovery fits synthesized data
                return cast(Preflight, self.runner.prepare(item, self.plan_options, timeout))
        devices.load_backend()
        with offline.blocked():  # importing the user's module runs their code too
            target = target_mod.resolve(item, self.rootpath, self._conftest_module(), self.base)
            return prepare_target(target, self.plan_options, timeout, data=data, settings=probe_settings)

    def check_data(self, preflights: Sequence[Preflight], data: Any) -> list[Finding]:
        """The search's data and arguments as ``tuner.search`` will take them (``probe.search_data``), before any
        case and before the probe cuts them: each finding is told at once in one line, kept on its preflight (it
        travels with the plans) and in ``self.findings``."""
        from pytest_hypermodel.probe import search_data

        found = []
        for pre in preflights:
            try:
                issues = search_data.examine(data, pre.outputs, pre.tuner.max_epochs if pre.tuner else None)
            except Exception as exc:  # a bug of ours, or a dataset that fails when looked at: the cases still run
                self.progress.done(f"{pre.target.spec}: the search's data could not be checked ({exc!r})")
                continue
            mine = [Finding(issue.check, pre.target.spec, issue.message, issue.fix) for issue in issues]
            pre.findings = [*pre.findings, *mine]
            found += mine
        for finding in found:
            self.progress.done(finding.line())
        self.findings += found
        return found

    def check_setup(self, preflights: Sequence[Preflight], data_given: bool) -> None:
        """What every case of a hypermodel would share (a download, no input shape) is one SetupError."""
        for pre in preflights:
            download = offline.attempted_download(pre.space.default_error)
            if download is not None:
                raise SetupError(
                    f"--hypermodel {pre.target.spec}: the build downloads {download}: {hints.DOWNLOAD_FIX}"
                )
            if pre.space.undeclared_input and not self.settings.probe.input_shapes and not data_given:
                raise SetupError(
                    f"--hypermodel {pre.target.spec}: the model declares no input shape (no keras.Input), so no "
                    "data can be synthesized for it: pass --hypermodel-input-shape (e.g. 28,28; ini "
                    "hypermodel_input_shape), start the model with keras.Input(shape=...), or override the "
                    "hypermodel_data fixture in conftest.py"
                )
        self.check_project(preflights)

    def check_project(self, preflights: Sequence[Preflight]) -> None:
        """``--hypermodel-project DIR/NAME`` (or the project a user's tuner names): its ``oracle.json``, which
        KerasTuner would reload, must hold the space now (a resumed search); it is only read."""
        project = self.settings.project
        for pre in preflights:
            own = pre.tuner.project if pre.tuner is not None else None
            if own and (project is None or Path(own).resolve() != Path(project).resolve()):  # else checked below
                _check_project(own, f"--hypermodel {pre.target.spec}: the tuner's project {own}", pre)
        if project is None or not preflights:
            return
        label = f"--hypermodel-project {project}"
        if len(preflights) > 1:
            raise SetupError(
                f"{label}: a project holds one search, and this run preflights "
                f"{progress_mod.plural(len(preflights), 'hypermodel')}: preflight the project's "
                "hypermodel alone with it"
            )
        _check_project(project, label, preflights[0])

    def space_warnings(self, preflights: Sequence[Preflight]) -> list[tuple[HypermodelWarning, tuple[str, int] | None]]:
        """The spaces' warnings, each with the build function's (file, line) to show it at; first, once, what the
        probe's settings cannot show (no place: they come from the command line, the ini or the API)."""
        found: list[tuple[HypermodelWarning, tuple[str, int] | None]] = []
        if preflights and self.settings.probe.epochs < 2:
            found.append((HypermodelWarning(ONE_EPOCH), None))
        return found + [
            (HypermodelWarning(f"{pre.target.spec}: {line}"), pre.space.definition)
            for pre in preflights
            for line in pre.space.warnings
        ]

    def hypermodel_of(self, pre: Preflight) -> Any:
        """The hypermodel itself, imported into this process on first use (isolation off, or unsendable data);
        the user's tuner, when the SPEC names one, comes with it (``pre.target.tuner``)."""
        if pre.target.hypermodel is None:
            devices.load_backend()
            with offline.blocked():
                target = target_mod.resolve(pre.target.spec, self.rootpath, self._conftest_module(), self.base)
            pre.target.hypermodel, pre.target.tuner = target.hypermodel, target.tuner
        return pre.target.hypermodel

    # ------------------------------------------------------------------------------------------- cases

    def probe(
        self,
        pre: Preflight,
        case: Case,
        data: Any = None,
        changes: tuple[Change, ...] = (),
        policy: Policy | None = None,
        show: bool = True,
    ) -> fit.Result:
        """One case, in the probe process; in this one with isolation off, or when the data cannot be sent there.
        ``show``: pass on the output of the user's code (a case's; not the probes after the cases)."""
        policy = self.policy_for(pre, policy)
        if changes and not case.varied:  # a repaired space's defaults: probed once, its other cases' reference
            key = (pre.target.spec, json.dumps(policy.to_dict(), sort_keys=True), data is None, repr(changes))
            if key not in self._repaired_defaults:
                self._repaired_defaults[key] = self._probe(pre, case, data, changes, policy, show)
            return self._repaired_defaults[key]
        return self._probe(pre, case, data, changes, policy, show)

    def _probe(
        self, pre: Preflight, case: Case, data: Any, changes: tuple[Change, ...], policy: Policy, show: bool
    ) -> fit.Result:
        result = self._probe_once(pre, case, data, changes, policy, show)
        if case.varied and fit.needs_reference(result):  # its loss grew: judged against where the default started
            reference = self.reference_loss(pre, data, changes, policy)
            if reference is not None:
                fit.judge_fit(result, reference)
        if result.confirmation:
            self.progress.step(confirmation_line(pre, case, result))
        return result

    def _probe_once(
        self, pre: Preflight, case: Case, data: Any, changes: tuple[Change, ...], policy: Policy, show: bool
    ) -> fit.Result:
        settings = self.probe_settings(pre)
        if case.kind == plan_mod.KIND_DEFAULT and not changes and settings.max_growth:
            # What a trial leaves behind is the hypermodel's, measured once: on its defaults, in their process.
            settings = dataclasses.replace(settings, growth_trials=fit.GROWTH_TRIALS)
        if self.runner is not None:
            try:
                return self.runner.probe(pre.target.spec, pre.space, case, policy, settings, data, changes, show)
            except parent.NotSendable as exc:
                if not changes:  # the cases warned already
                    warnings.warn(
                        HypermodelWarning(
                            f"hypermodel_data returned something the probe process cannot receive ({exc}): "
                            f"the case ran "
                            f"in {self.host}, where a crash ends the run; return arrays, or a module-level function"
                        ),
                        stacklevel=2,
                    )
        target = Target(pre.target.spec, pre.target.path, pre.target.name, self.hypermodel_of(pre), pre.target.tuner)
        if changes:  # a repaired space is a new hypermodel: a plain tuner runs it
            target = with_repair(target, changes)
        with offline.blocked():
            return fit.run(
                target.hypermodel, pre.space, case, policy, settings, search_data.afresh(data), tuner=target.tuner
            )

    def reference_loss(self, pre: Preflight, data: Any, changes: tuple[Change, ...], policy: Policy) -> float | None:
        """The default case's starting loss (its first batch, before any update) on the data the cases fit on: what
        a divergence is judged against. The default is probed once in this process (the first case of a plan, so
        usually already; an xdist worker without it probes it when a case of its own grew), with the same repair;
        None when it did not fit, and then the absolute rule judges."""
        default = plan_mod.make_case(pre.space, pre.space.complete({}), plan_mod.KIND_DEFAULT)
        if changes:  # a repair's verification probes its defaults first: kept (see probe)
            return fit.reference_from(self.probe(pre, default, data, changes, policy, show=False))
        return fit.reference_from(self._result(pre, default, data, policy, show=False))

    def run_case(self, pre: Preflight, case: Case, data: Any = None, policy: Policy | None = None) -> CaseRun:
        """Probe one case and judge it; a failing default fit is remembered for the other cases' hints, and a
        failing combination's hint names the values inside it that fail alone."""
        policy = self.policy_for(pre, policy)
        result = self._result(pre, case, data, policy)
        if case.kind == plan_mod.KIND_DEFAULT and result.exception and not pre.space.default_error:
            pre.space.default_fit_error = f"{result.exception}: {result.message}"
        if case.kind == plan_mod.KIND_DEFAULT and result.outcome == outcomes.OK:
            pre.space.default_seconds = result.seconds
        explained = None
        if len(case.varied) > 1 and verdict.verdict(result, policy.disposition(result)) == verdict.FAIL:
            explained = self.explaining(pre, case, data, policy)
        run = judge(pre, case, result, policy, explained)
        objective = self.probe_settings(pre).objective
        if objective:  # what the case's fit was checked against: the gated search must search for the same
            run.properties.append((record.CASE_OBJECTIVE, objective_text(objective)))
        return run

    def explaining(self, pre: Preflight, case: Case, data: Any, policy: Policy) -> list[Case]:
        """The one-value cases inside ``case`` (each varied value, with the parents that make it active) that
        fail: the culprits its hint names instead of the whole combination. The plan runs these cases too
        (extremes, choices), so in one process each is probed once, whichever comes first."""
        space, failing = pre.space, []
        parents = {p for name in case.varied for p in space.parents(name)}
        for name in case.varied:
            if name in parents:
                continue  # only there to make another value active: that value's case holds it
            values = {n: case.values[n] for n in (space.parents(name) | {name}) if n in case.values}
            kind = plan_mod.KIND_EXTREME if space.by_name[name].kind in ("int", "float") else plan_mod.KIND_CHOICE
            inner = plan_mod.make_case(space, space.complete(values), kind)
            if inner.varied == case.varied:
                continue
            result = self._result(pre, inner, data, policy, show=False)
            if verdict.verdict(result, policy.disposition(result)) == verdict.FAIL:
                failing.append(inner)
        return failing

    def _result(self, pre: Preflight, case: Case, data: Any, policy: Policy, show: bool = True) -> fit.Result:
        """The case's result, probed on first asking (the data is the same for a hypermodel within one run)."""
        key = (pre.target.spec, json.dumps(policy.to_dict(), sort_keys=True), data is None, culprits.key(case.values))
        if key not in self._results:
            self._results[key] = self.probe(pre, case, data, policy=policy, show=show)
        return self._results[key]

    # ------------------------------------------------------------------------------------------- after the cases

    def forecasts(self, preflights: Sequence[Preflight], entries: list[dict[str, Any]]) -> list[ForecastRecord]:
        """What the search over each hypermodel would do, from every case's record."""
        plan, forecasts, cases = self.settings.plan, [], record.records(entries)
        for pre in preflights:
            own = pre.tuner
            max_trials = own.max_trials if own is not None and own.max_trials is not None else plan.max_trials
            forecast = tuner_forecasts.forecast(
                pre,
                cases,
                self.policy_for(pre),
                own.tuner if own is not None and own.tuner is not None else plan.tuner,
                max_trials,
                self.settings.max_abort_risk,
                named=own.name if own is not None else None,
                own_oracle=own.oracle if own is not None else None,
            )
            per_trial = timing.timing(pre, cases, max_trials, self.settings.probe.epochs)
            forecasts.append(dataclasses.replace(forecast, timing=per_trial) if per_trial else forecast)
        return forecasts

    def rehearse(self, pre: Preflight, entries: list[dict[str, Any]], data: Any = None) -> list[Finding]:
        """Cases of ``pre`` that passed alone, run again one after another through KerasTuner's search, then the
        calls after it (``engine.rehearse``): its findings, also kept in ``findings``. None with the setting off."""
        if not self.settings.rehearsal:
            return []
        from pytest_hypermodel.engine import rehearse as rehearse_mod

        found = rehearse_mod.rehearse(self, pre, entries, data)
        self.findings.extend(found)
        return found

    def rehearse_all(
        self,
        preflights: Sequence[Preflight],
        entries: list[dict[str, Any]],
        data_for: Callable[[Preflight], AbstractContextManager[Any]] | None = None,
    ) -> list[Finding]:
        """:meth:`rehearse` for each hypermodel, with the data ``data_for(pre)`` sets up. An error of
        pytest-hypermodel's own there, or Ctrl-C, stops the rehearsals (with a progress line), not the report."""
        found: list[Finding] = []
        if not self.settings.rehearsal:  # before the data is set up: the user's fixture runs only when used
            return found
        try:
            for pre in preflights:
                try:
                    with data_for(pre) if data_for else contextlib.nullcontext() as data:
                        found += self.rehearse(pre, entries, data)
                except Exception as exc:
                    self.progress.done(
                        f"{pre.target.spec}: the rehearsal of the search stopped on an error of pytest-hypermodel "
                        f"({type(exc).__name__}: {exc}); the cases' results are complete"
                    )
        except KeyboardInterrupt:
            self.progress.done("the rehearsal of the search was interrupted: its findings so far are reported")
        return found

    def refine(
        self, pre: Preflight, cases: Sequence[record.CaseRecord], policy: Policy, data: Any = None
    ) -> Refinement | None:
        """Boundaries, repair and its verification for one hypermodel, probed where its cases were; None when
        nothing failed."""
        from pytest_hypermodel.engine import refine as refine_mod

        timeout = policy.timeout

        def probe_one(space: SearchSpace, case: Case, changes: tuple[Change, ...]) -> fit.Result:
            return self.probe(
                Preflight(pre.target, space, pre.plan, tuner=pre.tuner), case, data, changes, policy, show=False
            )

        options = dataclasses.replace(self.settings.plan, forecast=False)  # a repair's verification forecasts nothing

        def prepare_one(changes: tuple[Change, ...]) -> Preflight:
            if self.runner is not None:
                return cast(Preflight, self.runner.prepare(pre.target.spec, options, timeout, changes))
            target = Target(pre.target.spec, pre.target.path, pre.target.name, self.hypermodel_of(pre))
            with offline.blocked():
                return prepare_target(with_repair(target, changes) if changes else target, options, timeout)

        def ready() -> None:
            if self.runner is None:
                self.hypermodel_of(pre)
                return
            with contextlib.suppress(parent.Lost):  # it died starting: the first probe starts it again, and says so
                self.runner.ready()

        return refine_mod.refine(
            pre,
            cases,
            probe_one,
            prepare_one,
            self.rootpath,
            boundaries.DEFAULT_BUDGET,
            ready,
            self.settings.boundaries_seconds,
            self.progress,
        )

    def refine_all(
        self,
        preflights: Sequence[Preflight],
        entries: list[dict[str, Any]],
        data_for: Callable[[Preflight], AbstractContextManager[Any]] | None = None,
    ) -> tuple[list[Refinement], str | None]:
        """:meth:`refine` for each hypermodel with failures, under the policy its cases were judged by, with the
        data ``data_for(pre)`` sets up; Ctrl-C stops them (those found so far are kept, with a note), not the
        report."""
        found, notes = [], []
        try:
            cases = record.records(entries)
            for pre in preflights:
                mine = [c for c in cases if c.spec == pre.target.spec]
                try:
                    with data_for(pre) if data_for else contextlib.nullcontext() as data:
                        result = self.refine(pre, cases, tuner_forecasts.policy_of(mine, self.policy_for(pre)), data)
                except Exception as exc:  # a bug of ours must not cost the report: the cases' results are all there
                    notes.append(
                        f"{pre.target.spec}: the boundaries stopped on an error of pytest-hypermodel "
                        f"({type(exc).__name__}: {exc}); the cases' results are complete"
                    )
                    continue
                if result is not None:
                    found.append(result)
        except KeyboardInterrupt:
            notes.append("the boundaries were interrupted: those found so far are reported")
        return found, "\n".join(notes) or None

    @staticmethod
    def trial_findings(entries: Sequence[dict[str, Any]]) -> list[Finding]:
        """The health checks on what the cases' trials did (``rules.trial_health``): the warnings that mean a trial
        does not do what was asked, a callback's monitor the logs lack, a score that is not the objective."""
        return trial_health.findings(record.records(entries))

    @staticmethod
    def payload(
        preflights: Sequence[Preflight],
        entries: list[dict[str, Any]],
        forecasts: Sequence[ForecastRecord],
        refinements: list[Refinement],
        note: str | None = None,
        command: str = "",
        findings: Sequence[Finding] = (),
        written: Sequence[project_files.FileChange] = (),
    ) -> dict[str, Any]:
        """The JSON report's data: every case, the forecasts, the boundaries and repairs, the health checks'
        findings, the files the user's code wrote in the project (``written``), and how it was run."""
        data = full_payload(list(preflights), entries, forecasts, refinements)
        data["health"] = [f.to_dict() for f in findings]
        data["project_files"] = [c.to_dict() for c in written]
        data["warnings"] = trial_health.collected_warnings(record.records(entries))
        if note:
            data["note"] = note
        data["run"] = run_metadata(entries, command)
        return data

    # ------------------------------------------------------------------------------------------- health

    def health(self, preflights: Sequence[Preflight], entries: list[dict[str, Any]]) -> list[Finding]:
        """Every health check's findings that fail the run (those of a suppressed check left out), hypermodel by
        hypermodel: what preparing it found (``Preflight.findings``), what its cases carry (``health.CASE_HEALTH``),
        the objective given against its metric, and each of :attr:`health_checks`."""
        from pytest_hypermodel.rules import waste_checks

        found: list[Finding] = []
        for pre in preflights:
            mine = [e for e in entries if e.get(record.CASE_SPEC) == pre.target.spec]
            found.extend(pre.findings)
            found.extend(f for f in self.findings if f.spec == pre.target.spec)  # the rehearsal's (data's twice)
            found.extend(health.from_entries(mine))
            found.extend(self.trial_findings(mine))
            if pre.tuner is None or not pre.tuner.objective:  # a tuner's own is judged where it was read
                found.extend(
                    waste_checks.objective_findings(
                        pre.target.spec,
                        self.settings.probe.objective,
                        "the objective given (--hypermodel-objective)",
                        as_setting=True,
                    )
                )
            for check in self.health_checks:
                found.extend(check(self, pre, mine))
        return health.active(found, self.settings.suppress_health_check)

    # ------------------------------------------------------------------------------------------- all of it

    def run(
        self,
        specs: Sequence[str | Target],
        data: Any = None,
        data_given: bool | None = None,
        on_case: Callable[[dict[str, Any]], None] | None = None,
        command: str = "",
    ) -> dict[str, Any]:
        """A whole preflight of ``specs``: the payload of its JSON report. ``on_case(entry)`` after each case
        (a progress line, a partial report)."""
        self.check_specs([s for s in specs if isinstance(s, str)])
        self.watch_project()
        try:
            payload = self._run(specs, data, data_given, on_case, command)
        finally:
            written = self.put_back_project()
        if written:
            warnings.warn(HypermodelWarning(project_files.told(written)), stacklevel=_outside_stacklevel())
        payload["project_files"] = [c.to_dict() for c in written]
        return payload

    def _run(
        self,
        specs: Sequence[str | Target],
        data: Any,
        data_given: bool | None,
        on_case: Callable[[dict[str, Any]], None] | None,
        command: str,
    ) -> dict[str, Any]:
        preflights = self.prepare(specs, data)
        self.check_setup(preflights, data is not None if data_given is None else data_given)
        for warning, definition in self.space_warnings(preflights):
            if definition is None:  # the settings': at the user's call of the API (or the search command)
                warnings.warn(warning, stacklevel=_outside_stacklevel())
            else:
                warnings.warn_explicit(warning, type(warning), definition[0], definition[1])
        entries: list[dict[str, Any]] = []
        started = time.perf_counter()
        for pre in preflights:
            for case in pre.plan:
                entry = self.run_case(pre, case, data).entry(nodeid(pre, case, self.rootpath))
                entries.append(entry)
                if on_case is not None:
                    on_case(entry)
        evidence.restate(entries)  # a failure whatever the values is no value's: told once every case is known
        self.rehearse_all(preflights, entries, lambda pre: contextlib.nullcontext(data))
        forecasts = self.forecasts(preflights, entries)
        refinements: list[Refinement] = []
        note: str | None = None
        if self.settings.boundaries:
            refinements, note = self.refine_all(preflights, entries, lambda pre: contextlib.nullcontext(data))
        findings = self.health(preflights, entries)
        payload = self.payload(preflights, entries, forecasts, refinements, note, command, findings)
        payload["seconds"] = round(time.perf_counter() - started, 3)
        return payload


__all__ = ["CaseRun", "Engine", "Preflight", "SetupError", "case_name", "crash_run", "judge", "nodeid"]


def _outside_stacklevel() -> int:
    """The ``stacklevel`` of the first caller outside this package, counted from the function that calls this and
    warns: a warning about the user's settings points at the user's line (``preflight(...)``), not at the API."""
    package = Path(__file__).resolve().parents[1]
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and Path(frame.f_code.co_filename).resolve().is_relative_to(package):
        frame, level = frame.f_back, level + 1
    return level
