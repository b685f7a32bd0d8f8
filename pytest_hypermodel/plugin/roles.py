"""Each pytest process's part in a preflight: the device it runs on, and who plans the cases.

A serial run plans itself, once pytest has printed its header. Under xdist the plans are made once, by one
worker, and handed to the others through a file (see ``handoff``):

- the controller runs no case: it stays on the CPU and, in pytest_collection, waits for the plans (or makes them
  itself when every worker is on another machine) while its workers start and import the backend;
- the planning worker (the first on the controller's machine) plans in its probe process and hands the plans over;
- another worker on the controller's machine waits for them, starting its probe process meanwhile;
- a worker on another machine (``--tx ssh=...``) plans the same cases itself: plans are deterministic.

Each role is a small class with three steps, called by ``PreflightPlugin``'s hooks; a step a role does not need
does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn, Protocol

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
from pytest_hypermodel.plugin.options import setting
from pytest_hypermodel.probe import devices as devices_mod


class Planner(Protocol):
    """What a role asks of the plugin: the SPECs' preflights, made in this process."""

    specs: list[str]

    def prepare(self, session: pytest.Session) -> list[Any]:
        """Resolve, discover and plan every SPEC; a usage error for bad input."""

    def plan(self, session: pytest.Session) -> None:
        """Plan once, with the setup checks and the space warnings (the controller's or a serial run's)."""

    def check(self, config: pytest.Config) -> None:
        """The setup checks and the space warnings of the plans in the stash."""


class Role:
    """What one kind of pytest process does about the plans; each step does nothing unless a role says."""

    def start(self, session: pytest.Session, planner: Planner) -> None:
        """Before the other plugins' pytest_sessionstart, the engine made."""

    def plan(self, session: pytest.Session, planner: Planner) -> None:
        """After them: pytest's header is printed, and a conftest.py's ``hypermodel_data`` can be set up."""

    def collect(self, session: pytest.Session, planner: Planner) -> None:
        """At the start of pytest_collection."""


class SerialRun(Role):
    """No xdist (or ``--collect-only`` under it): this process plans, after pytest's header."""

    def plan(self, session: pytest.Session, planner: Planner) -> None:
        planner.plan(session)


class Controller(Role):
    """The xdist controller: plans later, in pytest_collection, so that its workers start (and import the backend)
    meanwhile; it waits for the planning worker's plans, or plans itself when no worker is on this machine."""

    def start(self, session: pytest.Session, planner: Planner) -> None:
        import shutil
        import tempfile

        config = session.config
        directory = Path(tempfile.mkdtemp(prefix="hypermodel-plans-"))
        config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))
        config.stash[HANDOFF_KEY] = directory / "plans.pickle"

    def collect(self, session: pytest.Session, planner: Planner) -> None:
        config = session.config
        if PLANNER_KEY not in config.stash:
            planner.plan(session)
            return
        import time

        from pytest_hypermodel.engine.engine import discovered_line, planned_line
        from pytest_hypermodel.engine.progress import plural
        from pytest_hypermodel.plugin import collect, handoff

        say, worker, started = collect.engine_of(config).progress, config.stash[PLANNER_KEY], time.perf_counter()
        say.start(f"discovering {plural(len(planner.specs), 'hypermodel')} on worker {worker}")
        try:
            preflights = config.stash[PREFLIGHTS_KEY] = handoff.await_handoff(config.stash[HANDOFF_KEY], planner=True)
        except handoff.HandoffStopped as exc:
            raise pytest.UsageError(str(exc)) from None
        for pre in preflights:
            say.step(planned_line(pre))
        say.total(discovered_line(preflights, time.perf_counter() - started))
        planner.check(config)


class PlanningWorker(Role):
    """The xdist worker that plans: its probe process discovers (no other process imports the backend for it), and
    it hands the plans, or the error that stopped it, to the controller and the other workers."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def start(self, session: pytest.Session, planner: Planner) -> None:
        from pytest_hypermodel.plugin import handoff

        handoff.announce_planner(self.path)

    def plan(self, session: pytest.Session, planner: Planner) -> None:
        from pytest_hypermodel.plugin import handoff

        config = session.config
        try:
            preflights = config.stash[PREFLIGHTS_KEY] = planner.prepare(session)
        except pytest.UsageError as exc:
            handoff.write_handoff(self.path, error=str(exc))
            leave(config)
        handoff.write_handoff(self.path, preflights)


class WaitingWorker(Role):
    """Another xdist worker on the controller's machine: imports the backend while the planning worker plans, then
    takes its plans."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def start(self, session: pytest.Session, planner: Planner) -> None:
        from pytest_hypermodel.plugin import collect, handoff

        config = session.config
        engine = collect.engine_of(config)
        if engine.runner is not None:
            engine.runner.start()
        try:
            config.stash[PREFLIGHTS_KEY] = handoff.await_handoff(self.path)
        except handoff.HandoffStopped:
            leave(config)


class RemoteWorker(Role):
    """An xdist worker on another machine: it plans the same cases itself (plans are deterministic)."""

    def plan(self, session: pytest.Session, planner: Planner) -> None:
        session.config.stash[PREFLIGHTS_KEY] = planner.prepare(session)


def role_of(config: pytest.Config) -> Role:
    """This process's role, from xdist's worker input (or its absence) and the command line."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get(WORKER_PLANNER):
        return PlanningWorker(Path(workerinput[WORKER_PLANS_FILE]))
    if workerinput is not None and WORKER_PLANS_FILE in workerinput:
        return WaitingWorker(Path(workerinput[WORKER_PLANS_FILE]))
    if workerinput is not None:
        return RemoteWorker()
    if getattr(config.option, "dist", "no") != "no" and not config.option.collectonly:
        return Controller()
    return SerialRun()


def leave(config: pytest.Config) -> NoReturn:
    """A worker whose run is stopped by bad input: the controller says why, once; this worker leaves quietly."""
    from pytest_hypermodel.plugin import collect

    collect.engine_of(config).close()
    os._exit(int(pytest.ExitCode.USAGE_ERROR))


def pin_device(config: pytest.Config) -> None:
    """Pin this process to its device (and a worker to its share of the cores) before anything imports Keras."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and WORKER_DEVICE in workerinput:
        devices_mod.pin(workerinput[WORKER_DEVICE], workerinput.get(WORKER_THREADS))
        return
    try:
        devices = devices_mod.parse(setting(config, "hypermodel_devices"))
    except devices_mod.DeviceError as exc:
        raise pytest.UsageError(str(exc)) from None
    devices = devices_mod.detect() if devices is None else devices
    if workerinput is not None:  # a worker on another machine (--tx ssh=...): its own GPUs, its own cores
        devices_mod.pin(devices_mod.assign(devices_mod.worker_index(workerinput.get("workerid")), devices))
        return
    config.stash[DEVICES_KEY] = devices
    distributed = getattr(config.option, "dist", "no") != "no"
    # Under xdist the controller only discovers spaces: it stays on the CPU, the GPUs go to the workers.
    devices_mod.pin("" if distributed else devices_mod.assign(0, devices))
    if config.pluginmanager.hasplugin("xdist"):
        from pytest_hypermodel.plugin.xdist import XdistHooks

        config.pluginmanager.register(XdistHooks(config), "hypermodel-xdist")
