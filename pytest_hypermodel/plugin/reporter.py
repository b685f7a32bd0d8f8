"""The controller's reporting: every case's properties (from xdist workers too) gathered into pytest's summary,
the forecast, the boundaries and the JSON, HTML and GitHub reports, computed once over all cases by the engine.

Registered by ``pytest_configure`` only when a hypermodel is in use, on the controller (or a serial run).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from pytest_hypermodel.plugin.keys import CACHE_ENTRIES, PREFLIGHTS_KEY
from pytest_hypermodel.plugin.options import FIX_OPTION, setting

if TYPE_CHECKING:
    from types import FrameType

    from pytest_hypermodel.engine.rerun import WholePlan
    from pytest_hypermodel.rules.forecasts.protocol import ForecastRecord


def interrupt_on_sigterm() -> None:
    """A CI runner cancels with SIGTERM: end the session as Ctrl-C does, so JUnit, JSON and forecast are written."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return  # someone else's handler: leave it

    def interrupt(signum: int, frame: FrameType | None) -> None:
        from pytest_hypermodel.rules import outcomes

        outcomes.INTERRUPT_RECEIVED.set()  # a real signal: the case it lands in is not to blame
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
        raise KeyboardInterrupt("SIGTERM")

    try:
        signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        pass


def _junit_suite_properties(config: pytest.Config, props: list) -> None:
    """Testsuite-level JUnit properties, as the ``record_testsuite_property`` fixture adds them (the controller
    writes the file, and the boundaries are found after every case has been written)."""
    xml = _log_xml(config)  # None under a pytest that moved it: the JSON report still has them
    if xml is not None:
        from pytest_hypermodel.space.plan import printable

        for name, value in props:
            xml.add_global_property(printable(name), value)  # a hyperparameter's name may hold a BEL


def _log_xml(config: pytest.Config) -> Any:
    """pytest's JUnit writer (``--junitxml``) of this run; None without one."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # a pytest that moved it
        return None
    return config.stash.get(xml_key, None)


class WholeReportFiles:
    """The JUnit file written whole. pytest's junitxml opens ``--junitxml``'s path and writes into it in place,
    so two runs writing one path could leave a mix of both; here it writes to a name of its own beside the path,
    which is renamed over it once written, with the run's JSON report written again under the same lock
    (``PreflightReporter.place_reports``): a run's JSON and JUnit files agree, whichever run writes last."""

    def __init__(self, reporter: PreflightReporter) -> None:
        self.reporter = reporter

    # The innermost wrapper: junitxml writes within it, and the terminal's summary ("generated xml file: PATH"),
    # after it, names the path again.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Any:
        xml = _log_xml(self.reporter.config)
        if xml is None or not getattr(xml, "logfile", None):
            return (yield)
        from pytest_hypermodel.views import outputs

        junit = Path(xml.logfile)
        written = outputs.beside(junit)
        xml.logfile = str(written)
        try:
            result = yield
        finally:
            xml.logfile = str(junit)
        self.reporter.place_reports(junit, written)
        return result


class PreflightReporter:
    """Controller side: gathers every case's properties (from xdist workers too) into the summary,
    the forecast and the JSON report, computed once over all cases by the engine."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.entries: dict[str, dict] = {}
        self.forecasts: list[ForecastRecord] = []
        self.refinements: list = []
        self.refine_note: str | None = None
        self.fixed: list[str] = []
        self.html: str | None = None
        self.annotations: list[str] = []
        #: The health checks' findings that fail the run (``health.Finding``s; see ``report_health``).
        self.findings: list = []
        path = setting(config, "hypermodel_report")
        self.path = Path(path) if path else None
        #: The JSON report's data last written (``write_json``): written again beside the JUnit file at the end.
        self.written: dict | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = [(k, v) for k, v in report.user_properties if k == "outcome" or k.startswith(("hp.", "case."))]
        if not props or report.when not in ("call", "setup", "???"):  # "???": xdist's report of a crashed worker
            return
        from pytest_hypermodel.rules import verdict

        outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        self.entries[report.nodeid] = verdict.entry(report.nodeid, report.user_properties, outcome)
        self.write_json(list(self.entries.values()))  # after every case: a killed run keeps what it had

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes its file: the boundaries add testsuite properties
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.entries:
            self.put_back()
            return
        from pytest_hypermodel.engine import rerun
        from pytest_hypermodel.plugin import collect
        from pytest_hypermodel.rules import evidence
        from pytest_hypermodel.views import outputs

        config = self.config
        engine = collect.engine_of(config)
        preflights = config.stash.get(PREFLIGHTS_KEY, [])
        plan = self.whole_plan(preflights, list(self.entries.values()))
        entries = plan.entries
        evidence.restate(entries)  # each case's hint was written before the others were known
        if session.exitstatus != pytest.ExitCode.INTERRUPTED:  # its findings: engine.findings
            engine.rehearse_all(preflights, entries, lambda pre: collect.user_data(session, pre))
        self.forecasts = rerun.note_sources(engine.forecasts(preflights, entries), preflights, plan)
        for pre, forecast in zip(preflights, self.forecasts):
            if forecast.fails_run:
                self.report_forecast(pre, forecast)
        if any(f.fails_run for f in self.forecasts) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.report_health(session, preflights, entries)
        self.write_json(entries)  # what is known now, in case the boundaries are interrupted
        if engine.settings.boundaries and session.exitstatus != pytest.ExitCode.INTERRUPTED:
            self.refine(session, entries, preflights)
        written = self.put_back()
        data = self.payload(entries)
        if self.path and (self.refinements or written):
            outputs.write_json(self.path, data)
            self.written = data
        self.write_views(data)

    def put_back(self) -> list:
        """What the user's code wrote or deleted in the project, put back (the repair ``--hypermodel-fix`` wrote
        is the user's asking, and stays); the controller's (or a serial run's) engine watched it."""
        engine = self._engine()
        return engine.put_back_project(keep=self.fixed) if engine is not None else []

    def project_files(self) -> list:
        """What :meth:`put_back` put back, for the report and the terminal."""
        engine = self._engine()
        return engine.project_files if engine is not None else []

    def _engine(self) -> Any:
        from pytest_hypermodel.plugin import collect

        return self.config.stash.get(collect.ENGINE_KEY, None)

    def whole_plan(self, preflights: list, entries: list[dict]) -> WholePlan:
        """Every planned case's record (see ``engine.rerun``), with the last run's from pytest's cache (a run under
        --lf or -k reruns a subset); this run's are cached for the next."""
        from pytest_hypermodel.engine import rerun

        cache = getattr(self.config, "cache", None)
        earlier_runs: dict = cache.get(CACHE_ENTRIES, {}) if cache is not None else {}
        plan = rerun.whole_plan(preflights, entries, earlier_runs, self.config.rootpath)
        if cache is not None:
            cache.set(CACHE_ENTRIES, plan.remembered)
        return plan

    def report_forecast(self, pre: Any, forecast: ForecastRecord) -> None:
        """A forecast that fails the run is a failing test, ``models.py::build_model[forecast]``: in JUnit (every CI
        dashboard reads its failures), in the short summary and in pytest's last line, as the terminal says it."""
        props: list[tuple[str, object]] = [
            ("forecast.tuner", forecast.tuner),
            ("forecast.aborts", forecast.aborts),
            ("forecast.spec", forecast.spec),
        ]
        if forecast.abort_probability is not None:
            props.append(("forecast.abort_probability", round(forecast.abort_probability, 4)))
        self.report_failing_item(pre, "forecast", forecast.message, props)

    def report_failing_item(self, pre: Any, kind: str, message: str, props: list[tuple[str, object]]) -> None:
        """One failing test of a hypermodel as a whole, ``models.py::build_model[forecast]`` or ``[health]``, told
        to pytest as a test's three phases: in JUnit, the short summary and pytest's last line alike."""
        path = pre.target.path
        try:
            path = path.relative_to(self.config.rootpath)
        except ValueError:
            pass
        name = f"{pre.target.name}[{kind}]"
        nodeid, location = f"{path.as_posix()}::{name}", (path.as_posix(), None, name)
        steps: tuple[tuple[Literal["setup", "call", "teardown"], Literal["passed", "failed"], str | None], ...] = (
            ("setup", "passed", None),
            ("call", "failed", message),
            ("teardown", "passed", None),
        )
        for when, outcome, longrepr in steps:
            report = pytest.TestReport(
                nodeid,
                location,
                {name: 1},
                outcome,
                longrepr,
                when,
                user_properties=props if when == "teardown" else [],
            )
            report.hypermodel_forecast = True  # type: ignore[attr-defined]
            self.config.hook.pytest_runtest_logreport(report=report)
            report.hypermodel_forecast = False  # type: ignore[attr-defined]  # the short summary says FAILED

    def report_health(self, session: pytest.Session, preflights: list, entries: list[dict]) -> None:
        """The health checks' findings (``Engine.health``) that fail the run: one failing test per hypermodel with
        any, ``models.py::build_model[health]``, whose message lists them (one line each: what, where, the fix),
        with JUnit properties ``health.check`` and ``health.location`` per finding."""
        from pytest_hypermodel.plugin import collect
        from pytest_hypermodel.plugin.options import SUPPRESS_HEALTH_CHECK_OPTION
        from pytest_hypermodel.rules import health

        self.findings = collect.engine_of(self.config).health(preflights, entries)
        grouped = health.by_spec(self.findings)
        for pre in preflights:
            mine = grouped.get(pre.target.spec)
            if not mine:
                continue
            props: list[tuple[str, object]] = [("health.spec", pre.target.spec)]
            for found in mine:
                props.append(("health.check", found.check))
                props.append(("health.location", f"{found.location[0]}:{found.location[1]}" if found.location else ""))
            checks = ", ".join(dict.fromkeys(f.check for f in mine))
            message = "\n".join(
                [
                    *(self.shown(f).line() for f in mine),
                    f"(a check you know better than: {SUPPRESS_HEALTH_CHECK_OPTION} {checks.split(', ')[0]}, "
                    "ini hypermodel_suppress_health_check, preflight(suppress_health_check=[...]))",
                ]
            )
            self.report_failing_item(pre, "health", message, props)
        if self.findings and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def shown(self, finding: Any) -> Any:
        """The finding with its file relative to the rootdir, as pytest shows paths (the JSON keeps it whole)."""
        import dataclasses

        if finding.location is None:
            return finding
        try:
            path = Path(finding.location[0]).relative_to(self.config.rootpath).as_posix()
        except ValueError:
            return finding
        return dataclasses.replace(finding, location=(path, finding.location[1]))

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport):
        """A failing forecast counts in the summary, with no progress letter while it is reported (the progress
        line has ended); asked again by the short summary, it is an ordinary failure."""
        if getattr(report, "hypermodel_forecast", False):
            return ("failed" if report.when == "call" else ""), "", ""
        return None

    def refine(self, session: pytest.Session, entries: list[dict], preflights: list) -> None:
        """Boundaries and a verified repair for each hypermodel with failures (see ``refine``), with the user's
        ``hypermodel_data`` set up here as a test would get it."""
        from pytest_hypermodel.engine import refine as refine_mod
        from pytest_hypermodel.plugin import collect

        config = self.config
        self.refinements, self.refine_note = collect.engine_of(config).refine_all(
            preflights, entries, lambda pre: collect.user_data(session, pre)
        )
        _junit_suite_properties(config, refine_mod.junit_properties(self.refinements))
        if config.getoption("hypermodel_fix"):
            self.fixed = refine_mod.apply(self.refinements)

    def payload(self, entries: list[dict]) -> dict:
        from pytest_hypermodel.engine.engine import Engine

        command = " ".join(["pytest", *self.config.invocation_params.args])
        preflights: list[Any] = self.config.stash.get(PREFLIGHTS_KEY, [])
        return Engine.payload(
            preflights,
            entries,
            self.forecasts,
            self.refinements,
            command=command,
            findings=self.findings,
            written=self.project_files(),
        )

    def write_json(self, entries: list[dict]) -> None:
        if self.path:
            from pytest_hypermodel.views import outputs

            self.written = self.payload(entries)
            outputs.write_json(self.path, self.written)

    def place_reports(self, junit: Path, written: Path) -> None:
        """The JUnit file pytest wrote to ``written`` renamed over ``junit``, and the JSON report written again,
        under one lock on their directories: two runs writing the same paths leave one run's pair."""
        from pytest_hypermodel.views import outputs

        with outputs.folders_locked([p for p in (self.path, junit) if p is not None]):
            if self.path is not None and self.written is not None:
                outputs.write_json(self.path, self.written)
            if written.exists():
                os.replace(written, junit)

    def write_views(self, data: dict) -> None:
        """Once, at the end (an interrupted run included): the HTML report, GitHub's job summary and annotations."""
        html = setting(self.config, "hypermodel_html")
        github = os.environ.get("GITHUB_ACTIONS") == "true"
        if html or github:
            from pytest_hypermodel.views import outputs

            self.annotations = outputs.write_views(data, Path(html) if html else None, github)
            self.html = html or None

    def report_warnings(self, terminalreporter: Any) -> None:
        """The warnings Keras, TensorFlow or the user's code raised during the cases, each once per hypermodel."""
        from pytest_hypermodel.views import outputs

        lines = outputs.warning_lines(list(self.entries.values()))
        if lines:
            terminalreporter.line("warnings raised during the cases (each once per hypermodel):")
            for line in lines:
                terminalreporter.line(f"  {line}", yellow=True)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.entries:
            return
        from pytest_hypermodel.views import outputs

        terminalreporter.section("hypermodel preflight")
        for line in outputs.summary_lines(list(self.entries.values())):
            terminalreporter.line(line)
        self.report_warnings(terminalreporter)
        verbose = terminalreporter.verbosity >= 1  # how each forecast was computed: behind -v, as in the reports
        for forecast in self.forecasts:
            said = forecast.message if verbose else forecast.short()
            terminalreporter.line(f"{forecast.spec}: {said}", red=forecast.fails_run)
            if forecast.timing is not None:
                terminalreporter.line(forecast.timing.line if verbose else forecast.timing.headline)
        for finding in self.findings:
            terminalreporter.line(self.shown(finding).line(), red=True)
        for found in self.refinements:
            for line in found.lines():
                terminalreporter.line(line)
        if self.refine_note:
            terminalreporter.line(self.refine_note)
        written = self.project_files()
        if written:
            from pytest_hypermodel.engine.project_files import told

            terminalreporter.line(told(written), yellow=True)
        for path in self.fixed:
            terminalreporter.line(f"{FIX_OPTION}: wrote the verified repair into {path}")
        if self.path:
            terminalreporter.line(f"JSON report: {self.path}")
        if self.html:
            terminalreporter.line(f"HTML report: {self.html}")
        for line in self.annotations:  # GitHub Actions reads workflow commands from the step's output
            terminalreporter.write_line(line)
