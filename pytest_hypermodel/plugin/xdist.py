"""xdist's hooks: each worker's device, cores and part in planning, and a case that killed its worker.

Registered only when xdist is installed (its hooks do not exist otherwise) and a preflight runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_hypermodel.plugin.keys import (
    DEVICES_KEY,
    HANDOFF_KEY,
    PLANNER_KEY,
    PREFLIGHTS_KEY,
    WORKER_DEVICE,
    WORKER_PLANNER,
    WORKER_PLANS_FILE,
    WORKER_THREADS,
)
from pytest_hypermodel.plugin.options import policy_from_config
from pytest_hypermodel.probe import devices as devices_mod


class XdistHooks:
    """xdist-only hooks, registered only when xdist is installed (its hooks do not exist otherwise)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.crashed: dict[str, list[tuple[str, object]]] = {}

    def pytest_configure_node(self, node: Any) -> None:
        """A worker on this machine: where the plans will be, its device and its cores (another machine plans, and
        detects its devices and cores, itself)."""
        if not node.gateway.spec.popen:
            return
        node.workerinput[WORKER_PLANS_FILE] = str(self.config.stash[HANDOFF_KEY])
        if PLANNER_KEY not in self.config.stash:
            self.config.stash[PLANNER_KEY] = node.gateway.id
            node.workerinput[WORKER_PLANNER] = True
        index = devices_mod.worker_index(node.gateway.id)
        node.workerinput[WORKER_DEVICE] = devices_mod.assign(index, self.config.stash.get(DEVICES_KEY, []))
        local = sum(1 for spec in node.nodemanager.specs if spec.popen)
        node.workerinput[WORKER_THREADS] = devices_mod.threads_per_worker(local)

    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        """A case that killed its worker is a `crash`; xdist starts a new worker for the rest."""
        from pytest_hypermodel.engine import engine
        from pytest_hypermodel.plugin import collect

        found = collect.find_case(self.config.stash.get(PREFLIGHTS_KEY, []), self.config.rootpath, crashitem)
        if found is None:
            return
        run = engine.crash_run(*found, policy_from_config(self.config), report.longrepr)
        report.user_properties, report.longrepr = run.properties, run.message
        report.when = "call"  # a failure of the case, not an error of the harness
        self.crashed[crashitem] = report.user_properties

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """JUnit writes a case's properties at its teardown, which a crashed case never reaches: send one."""
        props = self.crashed.pop(report.nodeid, None)
        if props is not None and report.when == "call":
            teardown = pytest.TestReport(
                report.nodeid, report.location, {}, "passed", None, "teardown", user_properties=props
            )
            if hasattr(report, "node"):  # JUnit keys a testcase by node id and worker
                teardown.node = report.node  # type: ignore[attr-defined]  # xdist's attribute, read by junitxml
            self.config.hook.pytest_runtest_logreport(report=teardown)
