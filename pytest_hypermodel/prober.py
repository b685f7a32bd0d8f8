"""The probe process: a child that runs the user's code, so that pytest survives whatever that code does.

Discovery and every case build the user's model, and a build may abort, segfault, hang in C code,
call ``os._exit()`` or meet the OOM killer. All of it runs in one persistent child process per pytest
process (or xdist worker), which imports the backend once and answers requests over a pipe. A child
that dies, or says nothing past the time limit, is killed and replaced at the next request: a case
gets ``crash`` or ``timeout``, and a discovery build that did it counts as a failed build, which
discovery then goes on without.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import pickle
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from . import outcomes
from .plan import Case
from .policy import Policy
from .probe import Result, Settings
from .space import SearchSpace
from .spec import SpecError

#: Where the user's code runs: one persistent child (the default), a fresh child per case, or in pytest itself.
PROCESS, CASE, OFF = "process", "case", "off"
MODES = (PROCESS, CASE, OFF)

#: Seconds past a build's own time limit (enforced in the child, for Python code) before the child is killed:
#: as long as the limit itself, at most this.
GRACE = 5.0
#: Seconds a new child may take to import the backend before it counts as hung.
START_LIMIT = 300.0
#: Discovery builds that may kill the child before the hypermodel is given up as a usage error.
MAX_FAULTS = 16
#: What the child announces before the GridSearch forecast's own builds (not discovery's).
GRID_BUILDS = "grid-order"


class NotSendable(Exception):
    """The ``hypermodel_data`` cannot be pickled to the child (a lambda, a generator, an open file)."""


class Lost(Exception):
    """The child died, or ran past its limit and was killed, while serving a request."""

    def __init__(self, outcome: str, detail: str, during: str | None) -> None:
        super().__init__(detail)
        self.outcome = outcome
        #: ``killed by SIGABRT``, ``exit code 3``; or for a timeout ``ran past 8 s``.
        self.detail = detail
        #: The last build the child announced (a discovery build's fault key), if any.
        self.during = during

    @property
    def how(self) -> str:
        """What happened to the child: ``died (killed by SIGABRT)``, ``ran past 8 s and was killed``."""
        return f"{self.detail} and was killed" if self.outcome == outcomes.TIMEOUT else f"died ({self.detail})"


class Prober:
    """The pytest side of the probe process: starts it lazily, restarts it after a crash or a hang."""

    def __init__(self, rootpath: Path, conftest: Path | None = None, base: Path | None = None,
                 fresh_each_case: bool = False) -> None:
        self.rootpath = rootpath
        self.conftest = conftest
        self.base = base
        self.fresh_each_case = fresh_each_case
        self.backend = ""
        self.device = ""
        self._process = None
        self._conn = None
        self._data: tuple[int, Any] | None = None  # (id, object) of the data the child holds
        self._ready = False  # whether the child said it imported the backend
        #: The files the child's stdout and stderr go to, with how far this side has read them.
        self._output: list[list] = []

    # ----------------------------------------------------------------------------------- requests

    def prepare(self, spec: str, options: Any, timeout: float | None, repair: tuple = ()) -> Any:
        """Resolve, discover and plan ``spec`` in the child: a ``prepare.Preflight`` whose target holds no
        hypermodel (that stays in the child); SpecError (one line) on bad input.

        A discovery build that kills or hangs the child is remembered, the child restarted, and discovery
        run again with that build counted as failed: its value then becomes a case of the plan, probed
        (and reported) like any other. ``repair``: changes the hypermodel's declarations are held to.
        """
        faults: dict[str, str] = {}
        grid_builds = True
        limit = None if timeout is None else timeout + min(timeout, GRACE)
        while True:
            try:
                kind, payload = self._request(("prepare", spec, options, timeout, dict(faults), grid_builds, repair),
                                              limit)
            except Lost as lost:
                self._relay(show=False)
                if lost.during == GRID_BUILDS:  # the forecast's own builds: infer the grid's order instead
                    grid_builds = False
                    continue
                if lost.during is None:
                    raise SpecError(
                        f"--hypermodel {spec}: the probe process {lost.how} while starting or importing it, before any "
                        f"build; run {_import_command(spec)} to see why"
                    ) from None
                if lost.during in faults or len(faults) >= MAX_FAULTS:
                    raise SpecError(
                        f"--hypermodel {spec}: {len(faults) + 1} discovery builds {lost.how}; fix the build function "
                        "(run it once by hand with its defaults to see why)"
                    ) from None
                faults[lost.during] = f"its process {lost.how} during discovery"
                continue
            self._relay(show=False)  # discovery's output (TensorFlow's warnings...) is not a case's
            if kind == "error":
                raise SpecError(payload)
            return payload

    def probe(self, spec: str, space: SearchSpace, case: Case, policy: Policy, settings: Settings,
              data: Any = None, repair: tuple = (), show: bool = True) -> Result:
        """One case in the child; a child that dies or hangs is the case's ``crash`` or ``timeout``. ``show``: pass
        on what the child wrote (into the capture of the case running); off for the probes after the cases, whose
        output (TensorFlow's retracing warnings) would land in the terminal's progress line."""
        limit = None if policy.timeout is None else policy.timeout + min(policy.timeout, GRACE)
        started = time.perf_counter()
        try:
            self._ensure_started()  # a fresh child holds no data yet
            if self._data is None or self._data[0] != id(data):
                try:
                    pickled = pickle.dumps(data)
                except Exception as exc:
                    raise NotSendable(f"{type(exc).__name__}: {exc}") from None
                self._conn.send(("data", pickled))
                self._data = (id(data), data)  # holding it keeps its id from being reused
            kind, payload = self._request(("probe", spec, space, case, policy, settings, repair), limit)
        except Lost as lost:
            result = Result(case.id, case.kind, dict(case.values), outcome=lost.outcome, backend=self.backend,
                            device=self.device)
            result.message = (f"it did not stop at {policy.timeout:g} s: its process was killed"
                              if lost.outcome == outcomes.TIMEOUT else lost.detail)
            result.seconds = round(time.perf_counter() - started, 3)
            return result
        finally:
            self._relay(show=show)  # into pytest's capture of this case, as if the case had run here
            if self.fresh_each_case:
                self.close()
        if kind == "error":
            raise SpecError(payload)
        return Result(**payload)

    # ----------------------------------------------------------------------------------- the child

    def start(self) -> None:
        """Start the child without waiting for its backend import: an xdist worker overlaps it with the wait for
        the controller's plan. The first request waits for it to be ready."""
        if self._process is not None and self._process.is_alive():
            return
        self.close()
        context = multiprocessing.get_context("spawn")  # fork after a backend started its threads is unsafe
        parent, child = context.Pipe()
        for suffix in (".out", ".err"):
            handle, path = tempfile.mkstemp(prefix="hypermodel-probe-", suffix=suffix)
            os.close(handle)
            self._output.append([path, 0])
        process = context.Process(
            # Pickled by name: the copy of this module that sys.modules holds (a pytester run may hold another).
            target=importlib.import_module(__name__).serve, name="hypermodel-probe", daemon=True,
            args=(child, str(self.rootpath), str(self.conftest) if self.conftest else None,
                  str(self.base) if self.base else None, [path for path, _ in self._output]),
        )
        process.start()
        child.close()  # so that the child's death closes the pipe
        self._process, self._conn, self._data, self._ready = process, parent, None, False

    def ready(self) -> None:
        """Start the child, if it is not running, and wait for its backend import."""
        self._ensure_started()

    def _ensure_started(self) -> None:
        self.start()
        if not self._ready:
            _, (self.backend, self.device) = self._receive(START_LIMIT, None)
            self._ready = True
            self._relay(show=False)  # the backend's start-up chatter

    def _relay(self, show: bool) -> None:
        """Pass on what the child wrote since the last call, to this process's stdout and stderr."""
        for entry, stream in zip(self._output, (sys.stdout, sys.stderr)):
            path, offset = entry
            try:
                with open(path, "rb") as file:
                    file.seek(offset)
                    text = file.read()
            except OSError:
                continue
            entry[1] = offset + len(text)
            if show and text:
                stream.write(text.decode(errors="replace"))
                stream.flush()

    def _request(self, request: tuple, limit: float | None) -> tuple[str, Any]:
        self._ensure_started()
        self._conn.send(request)
        kind, payload = self._receive(limit, None)
        if kind == "bug":
            raise RuntimeError(f"pytest-hypermodel's probe process failed:\n{payload}")
        return kind, payload

    def _receive(self, limit: float | None, during: str | None) -> tuple[str, Any]:
        """The child's reply; Lost when it dies, or says nothing for ``limit`` seconds (each build it announces
        starts the clock again)."""
        while True:
            try:
                message = self._conn.recv() if self._conn.poll(limit) else TimeoutError
            except (EOFError, OSError):
                message = None
            if message is TimeoutError:
                self._stop()
                raise Lost(outcomes.TIMEOUT, f"ran past {limit:g} s", during)
            if message is None:
                raise Lost(outcomes.CRASH, self._death(), during)
            kind, payload = message
            if kind != "building":
                return kind, payload
            during = payload

    def _death(self) -> str:
        """How the child ended: ``killed by SIGABRT``, ``exit code 3``."""
        process = self._process
        process.join(5)
        code = process.exitcode
        self._stop()
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def _stop(self) -> None:
        """Kill the child (after a crash or a hang); its output stays to be relayed."""
        process, conn = self._process, self._conn
        self._process = self._conn = self._data = None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join(5)

    def close(self) -> None:
        """Stop the child and remove its output files (at the end of the session, or before a restart)."""
        self._stop()
        output, self._output = self._output, []
        for path, _ in output:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _import_command(spec: str) -> str:
    """How to import a SPEC's module by hand: ``python models.py``, ``python -c 'import pkg.models'``."""
    module = spec.rpartition(":")[0] or "conftest.py"
    return f"python {module}" if module.endswith(".py") else f"python -c 'import {module}'"


def serve(conn, rootpath: str, conftest: str | None, base: str | None, output: list[str]) -> None:
    """The child: import the backend once, then answer requests until the pipe closes.

    Its stdout and stderr go to the files in ``output``, which the pytest side relays into the capture of
    the case that wrote them (what a dying child wrote last is there too).
    """
    _detach()
    for fd, path in zip((1, 2), output):
        handle = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.dup2(handle, fd)
        os.close(handle)
    from . import devices

    devices.load_backend()
    conn.send(("ready", (devices.backend_name(), devices.current_device())))
    from . import offline

    offline.block()  # after the backend's start-up: from here on, only the user's code runs
    hypermodels: dict[str, Any] = {}
    data = None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the pytest process is done
            return
        kind, args = request[0], request[1:]
        if kind == "data":
            data = pickle.loads(args[0])
            continue
        try:
            if kind == "prepare":
                reply = _prepare(conn, hypermodels, Path(rootpath), conftest, base, *args)
            else:
                reply = _probe(hypermodels, Path(rootpath), conftest, base, data, *args)
        except SpecError as exc:
            reply, kind = str(exc), "error"
        except Exception:
            reply, kind = traceback.format_exc(), "bug"
        else:
            kind = "done"
        sys.stdout.flush()
        sys.stderr.flush()
        conn.send((kind, reply))


def _detach() -> None:
    """A Ctrl-C at the terminal is pytest's to handle (it then stops this process); die with pytest."""
    os.setpgrp()
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: Linux only
    except (OSError, AttributeError):
        pass


def _target(hypermodels: dict, spec: str, rootpath: Path, conftest: str | None, base: str | None, repair: tuple = ()):
    from . import spec as spec_mod

    if spec not in hypermodels:
        module = spec_mod._import_file(Path(conftest), rootpath, spec) if conftest else None
        hypermodels[spec] = spec_mod.resolve(spec, rootpath, module, Path(base) if base else None)
    if repair and (spec, repair) not in hypermodels:
        from . import prepare as prepare_mod

        hypermodels[spec, repair] = prepare_mod.with_repair(hypermodels[spec], repair)
    return hypermodels[(spec, repair) if repair else spec]


def _prepare(conn, hypermodels, rootpath, conftest, base, spec, options, timeout, faults, grid_builds, repair):
    from . import discovery
    from . import prepare as prepare_mod

    target = _target(hypermodels, spec, rootpath, conftest, base, repair)
    pre = prepare_mod.prepare_target(
        target, options, timeout, faults,
        before_build=lambda overrides: conn.send(("building", discovery.fault_key(overrides))),
        grid_builds=grid_builds, before_grid=lambda: conn.send(("building", GRID_BUILDS)),
    )
    pre.target = prepare_mod.plain(target)
    return pre


def _probe(hypermodels, rootpath, conftest, base, data, spec, space, case, policy, settings, repair) -> dict:
    from . import probe

    target = _target(hypermodels, spec, rootpath, conftest, base, repair)
    return probe.run(target.hypermodel, space, case, policy, settings, data).to_dict()
