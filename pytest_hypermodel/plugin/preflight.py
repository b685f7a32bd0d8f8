"""The plugin of a pytest run that preflights: makes the engine, has this process's role plan the cases (see
``roles``), and adds the cases to pytest's collection.

Registered by ``pytest_configure`` only when a hypermodel is in use.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from pytest_hypermodel.plugin import roles
from pytest_hypermodel.plugin.keys import PREFLIGHTS_KEY
from pytest_hypermodel.plugin.options import check_search_data, preflight_settings, setting
from pytest_hypermodel.plugin.selection import given
from pytest_hypermodel.probe import devices as devices_mod

if TYPE_CHECKING:
    from pytest_hypermodel.engine.progress import Progress


class PreflightPlugin:
    """Resolves the SPECs, discovers their spaces and adds their cases to the collection (through the engine)."""

    def __init__(self, specs: list[str], base: Path | None) -> None:
        self.specs = specs
        self.base = base
        #: What this process does about the plans; chosen in pytest_sessionstart.
        self.role: roles.Role = roles.Role()
        #: The spaces' warnings, each with the build function's (file, line): issued in pytest_collection.
        self.warnings: list[tuple[Warning, tuple[str, int] | None]] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionstart(self, session: pytest.Session):
        """Before the other plugins start: the engine, and a mistyped SPEC refused before anything is imported.
        After them (pytest's header printed): a serial run's plans, so that discovery's progress lines follow the
        header; bad input stops the run there, once, with exit code 4 (and no JUnit file: no case ran)."""
        self._start_engine(session)
        self.role = roles.role_of(session.config)
        self.role.start(session, self)
        result = yield
        # After pytest's own sessionstart: a conftest.py's hypermodel_data fixture can be set up for discovery.
        self.role.plan(session, self)
        return result

    def _start_engine(self, session: pytest.Session) -> None:
        """This process's engine; on the controller (or a serial run), the SPECs and the search data checked."""
        from pytest_hypermodel.engine.engine import Engine, SetupError
        from pytest_hypermodel.plugin import collect

        config = session.config
        conftest_path = config.rootpath / "conftest.py"
        engine = Engine(
            preflight_settings(config),
            config.rootpath,
            conftest_path if conftest_path.is_file() else None,
            self.base,
            conftest_module=lambda: _conftest_module(config),
        )
        engine.host = "the pytest process"
        progress = _progress(config)
        if progress is not None and not hasattr(config, "workerinput"):  # a worker's output is not seen
            engine.progress = progress
        config.stash[collect.ENGINE_KEY] = engine
        config.add_cleanup(engine.close)
        if not hasattr(config, "workerinput"):
            # A mistyped SPEC is told before any backend starts (the rest of resolving it imports the user's code).
            try:
                engine.check_specs(self.specs)
            except SetupError as exc:
                raise pytest.UsageError(str(exc)) from None
            check_search_data(config)
            engine.watch_project(_run_outputs(config))  # before discovery: the first of the user's code to run

            def put_back() -> None:  # a run cut short before its end puts the project back too
                engine.put_back_project()

            config.add_cleanup(put_back)
        if engine.runner is None:
            devices_mod.load_backend()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        """The spaces' warnings, at their build functions' lines; first, on an xdist controller (which collects
        nothing itself), the plans, from the planning worker (or made here when every worker is on another
        machine), and the setup checks."""
        self.role.collect(session, self)
        # Here pytest records warnings as collection's, at the location given: the user's build function.
        pending, self.warnings = self.warnings, []
        for warning, definition in pending:
            if definition is None:
                warnings.warn(warning, stacklevel=2)
            else:
                warnings.warn_explicit(warning, type(warning), definition[0], definition[1])

    def prepare(self, session: pytest.Session) -> list:
        """Resolve, discover and plan every SPEC (in the probe process), on the search's data (a HyperModel's own
        fit() runs in discovery); a usage error for bad input."""
        from pytest_hypermodel.engine.engine import SetupError
        from pytest_hypermodel.plugin import collect

        config = session.config
        try:
            return collect.engine_of(config).prepare(
                self.specs, data_for=lambda spec: collect.discovery_data(session, spec, self.base)
            )
        except SetupError as exc:
            raise pytest.UsageError(str(exc)) from None

    def plan(self, session: pytest.Session) -> None:
        """The controller's (or a serial run's) planning: once, with the setup checks and the space warnings."""
        from pytest_hypermodel.plugin import collect

        config = session.config
        config.stash[PREFLIGHTS_KEY] = self.prepare(session)
        if getattr(config.option, "dist", "no") != "no" or config.option.collectonly:
            collect.engine_of(config).close()  # the xdist controller probes nothing: its workers have their own
        self.check(config)

    def check(self, config: pytest.Config) -> None:
        """What every case would share (no input shape, a download) is one usage error; the space's warnings."""
        from pytest_hypermodel.engine.engine import SetupError
        from pytest_hypermodel.plugin import collect

        engine, preflights = collect.engine_of(config), config.stash[PREFLIGHTS_KEY]
        try:
            engine.check_setup(preflights, collect.data_overridden(config))
        except SetupError as exc:
            raise pytest.UsageError(str(exc)) from None
        self.warnings = list(engine.space_warnings(preflights))

    def pytest_report_collectionfinish(self, config: pytest.Config) -> list[str]:
        """Under --hypermodel-plan, what each hypermodel's plan holds, above the listed cases."""
        if not setting(config, "hypermodel_plan"):
            return []
        from pytest_hypermodel.views import outputs

        return outputs.plan_lines(config.stash.get(PREFLIGHTS_KEY, []))

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector):
        """The cases of the hypermodels whose files the command line does not name go under the session (all of
        them for ``pytest --hypermodel SPEC`` alone)."""
        rep = yield
        if isinstance(collector, pytest.Session) and rep.passed:
            from pytest_hypermodel.plugin import collect

            preflights = [
                pre for pre in collector.config.stash[PREFLIGHTS_KEY] if not given(collector.config, pre.target.path)
            ]
            rep.result.extend(collect.file_nodes(collector, preflights))
        return rep

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector):
        """A hypermodel's file that the command line names (``models.py``, ``models.py::build[units=8]``) is collected
        where pytest looks for it, so that its node ids select cases as any test's do."""
        if not given(parent.config, file_path):
            return None
        from pytest_hypermodel.plugin import collect

        mine = [pre for pre in parent.config.stash.get(PREFLIGHTS_KEY, []) if pre.target.path == file_path]
        return collect.file_nodes(parent, mine)[0] if mine else None


def _progress(config: pytest.Config) -> Progress | None:
    """The progress lines' writer: pytest's terminal writer, whole lines (a terminal and a CI log read the same);
    ``-q`` only the ends of the steps, ``-qq`` none; None without a terminal reporter (``-p no:terminal``)."""
    from pytest_hypermodel.engine.progress import Progress

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:  # before get_verbosity: pytest 8.1 has no verbose option without the terminal plugin
        return None
    verbosity = config.get_verbosity()
    if verbosity < -1:
        return None

    def write(line: str) -> None:
        reporter.ensure_newline()  # ends a file's line of progress letters
        if getattr(reporter, "_width_of_current_line", 0):  # -q's letters, which ensure_newline does not end
            reporter.write("\n")
        reporter.write_line(line)

    return Progress(write, brief=verbosity < 0)


def _conftest_module(config: pytest.Config) -> ModuleType | Any:
    """The rootdir's conftest.py as pytest imported it (a SPEC may name something in it)."""
    path = config.rootpath / "conftest.py"
    return config.pluginmanager.get_plugin(str(path)) if path.is_file() else None


def _run_outputs(config: pytest.Config) -> list[Path]:
    """What this run itself writes in the project (its reports, pytest's temporary directories): not the user's
    code's writing."""
    paths = [getattr(config.option, "xmlpath", None), getattr(config.option, "basetemp", None)]
    paths += [setting(config, name) for name in ("hypermodel_report", "hypermodel_html")]
    return [Path(p) for p in paths if p]
