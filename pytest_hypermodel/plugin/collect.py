"""The pytest nodes of a preflight: one file node per hypermodel module, one item per case.

The work is the engine's (``engine.Engine``): an item asks it to run its case and turns the verdict into pytest's
pass, xfail or fail.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_hypermodel.engine.engine import CaseRun, Engine, case_name
from pytest_hypermodel.plugin.options import setting
from pytest_hypermodel.probe.prepare import Preflight
from pytest_hypermodel.rules import verdict
from pytest_hypermodel.rules.policy import Policy
from pytest_hypermodel.space import target as target_mod
from pytest_hypermodel.space.plan import Case, format_value


@dataclass(frozen=True)
class CaseRef:
    preflight: Preflight
    case: Case


CASE_KEY = pytest.StashKey[CaseRef]()
#: The engine of this pytest process (each xdist worker has its own, with its own probe process).
ENGINE_KEY = pytest.StashKey[Engine]()


def engine_of(config: pytest.Config) -> Engine:
    """This pytest process's engine (made in pytest_sessionstart)."""
    return config.stash[ENGINE_KEY]


class CaseFailure(Exception):
    """A case KerasTuner would not complete; carries the paragraph to show."""

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def run_case(request: pytest.FixtureRequest, hypermodel_data: Any, hypermodel_policy: Policy) -> None:
    """The test function behind every preflight item."""
    request.node.probe_case(hypermodel_data, hypermodel_policy)


def long_failure(config: pytest.Config, message: str, details: str | None) -> str:
    """The paragraph, with the traceback under ``--tb=long`` or ``-v``."""
    long = config.option.tbstyle == "long" or config.get_verbosity() > 0
    return f"{message}\n\n{details}" if long and details else message


class CaseItem(pytest.Function):
    """Builds and briefly fits one case; passes, xfails or fails as KerasTuner would treat it."""

    def probe_case(self, data: Any, policy: Policy) -> None:
        ref = self.stash[CASE_KEY]
        run: CaseRun = self.config.stash[ENGINE_KEY].run_case(ref.preflight, ref.case, data, policy)
        self.user_properties.extend(run.properties)
        if run.verdict == verdict.XFAIL:
            pytest.xfail(run.message)
        if run.verdict == verdict.FAIL:
            raise CaseFailure(run.message, run.details)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CaseFailure):
            return long_failure(self.config, excinfo.value.message, excinfo.value.details)
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
                    self,
                    name=case_name(pre, case),
                    callobj=run_case,
                    callspec=case_callspec(case.id),
                    originalname=pre.target.name,
                    keywords={case.id: True},
                )
                item.stash[CASE_KEY] = CaseRef(pre, case)
                item.extra_keyword_matches.add(case.kind)  # -k corner, -k "not extreme"
                # -k "units=8" (read as units:8, see selection.keyword_values): one keyword per value of the case.
                item.extra_keyword_matches.update(
                    f"{name}:{format_value(value)}" for name, value in case.values.items()
                )
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


def file_nodes(parent: pytest.Collector, preflights: list[Preflight]) -> list[HypermodelFile]:
    """One node per module path, in the order the SPECs were given, under ``parent`` (the session, or the
    directory pytest collects the module from)."""
    by_path: dict[Path, list[Preflight]] = {}
    for pre in preflights:
        by_path.setdefault(pre.target.path, []).append(pre)
    nodes = []
    for path, group in by_path.items():
        node = HypermodelFile.from_parent(parent, path=path)
        node.preflights = group
        nodes.append(node)
    return nodes


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


def data_overridden(config: pytest.Config) -> bool:
    """Whether the cases fit on the user's data (``--hypermodel-search-data``, or a conftest.py's own
    hypermodel_data fixture), which then has the right shapes."""
    if setting(config, "hypermodel_search_data"):
        return True
    return any(
        str(getattr(plugin, "__file__", "")).endswith("conftest.py") and hasattr(plugin, "hypermodel_data")
        for plugin in config.pluginmanager.get_plugins()
    )


def _wants_data(hypermodel_data):
    """The signature through which the controller sets up the user's ``hypermodel_data`` fixture."""


@contextlib.contextmanager
def user_data(session: pytest.Session, pre: Preflight) -> Iterator[Any]:
    """The ``hypermodel_data`` fixture's value, set up on this process as a test would get it, for the probes that
    run after the cases (boundaries, the repair's preflight); None when the plugin's own (synthesized) is in use."""
    with fixture_data(session, pre.target.path, f"{pre.target.name}[boundaries]") as data:
        yield data


@contextlib.contextmanager
def fixture_data(session: pytest.Session, path: Path, name: str) -> Iterator[Any]:
    """The ``hypermodel_data`` fixture's value for a test in ``path`` (the conftest.py files above it decide, or
    the plugin's own, which returns ``--hypermodel-search-data``'s), set up and torn down as a test's; None
    without either, when the cases synthesize their data."""
    if not data_overridden(session.config):
        yield None
        return
    node = HypermodelFile.from_parent(session, path=path)
    node.preflights = []
    item = pytest.Function.from_parent(node, name=name, callobj=_wants_data)
    try:
        setup = pytest.CallInfo.from_call(
            lambda: item.ihook.pytest_runtest_setup(item=item),
            "setup",
            reraise=(pytest.exit.Exception, KeyboardInterrupt),
        )
        # Its report, as a test's: fixtures that read their phase's outcome at teardown (tmp_path) find it.
        item.ihook.pytest_runtest_makereport(item=item, call=setup)
        if setup.excinfo is not None:
            raise setup.excinfo.value
        yield item.funcargs["hypermodel_data"]
    finally:  # after a failed setup too: what it set up is torn down, so that the tests' own setup starts clean
        item.ihook.pytest_runtest_teardown(item=item, nextitem=None)


@contextlib.contextmanager
def discovery_data(session: pytest.Session, spec: str, base: Path | None) -> Iterator[Any]:
    """What discovery fits a HyperModel's own fit() on, for ``spec``: what its cases fit on, the
    ``hypermodel_data`` fixture (pytest plans before any test, so it is set up here once more), or None. Data
    that fails to load gives None: each case reports its failure."""
    config = session.config
    try:
        location = target_mod.locate(spec, config.rootpath, (config.rootpath / "conftest.py").is_file(), base)
    except target_mod.SpecError:  # resolving it says why, in one line
        yield None
        return
    path = location.path or config.rootpath / (location.module.replace(".", "/") + ".py")
    with contextlib.ExitStack() as stack:
        try:
            data = stack.enter_context(fixture_data(session, path, f"{location.name or 'hypermodel'}[discovery]"))
        except (Exception, pytest.skip.Exception, pytest.fail.Exception):
            data = None
        yield data
