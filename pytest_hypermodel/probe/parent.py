"""The probe process: a child that runs the user's code, so that pytest survives whatever that code does.

Discovery and every case build the user's model, and a build may abort, segfault, hang in C code,
call ``os._exit()`` or meet the OOM killer. All of it runs in one persistent child process per pytest
process (or xdist worker), which imports the backend once and answers requests over a pipe. A child
that dies, or says nothing past the time limit, is killed and replaced at the next request: a case
gets ``crash`` or ``timeout``, and a discovery build that did it counts as a failed build, which
discovery then goes on without.

The child's death is watched through a pidfd, not the pipe: a process that the user's code forked holds
the pipe open after the child is gone (and multiprocessing's sentinel too, another pipe the child holds).
The child leads its own process group, and stopping it kills the whole group, so nothing a case started
outlives the run. Each request starts from the state a fresh child has (:class:`Fresh`): what one build
changes (Keras's floatx, the working directory, the environment, the standard streams...) reaches no
other case and no other hypermodel.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import pickle
import re
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, TypeVar

from pytest_hypermodel.probe import devices, messages, warm
from pytest_hypermodel.probe.fit import FitSettings, Result
from pytest_hypermodel.rules import outcomes
from pytest_hypermodel.rules.policy import Policy
from pytest_hypermodel.space.hyperparameters import SearchSpace
from pytest_hypermodel.space.plan import Case
from pytest_hypermodel.space.target import SpecError

#: The probe process's name (multiprocessing's): spawned or forked from a warm process (``warm``).
PROCESS_NAME = "hypermodel-probe"
#: Where the user's code runs: one persistent child (the default), a fresh child per case, or in pytest itself.
PROCESS, CASE, OFF = "process", "case", "off"
MODES = (PROCESS, CASE, OFF)

#: Seconds past a build's own time limit (enforced in the child, for Python code) before the child is killed:
#: as long as the limit itself, at least MIN_GRACE (the child's own work around a build, and the pipe), at most GRACE.
GRACE = 5.0
MIN_GRACE = 1.0
#: Seconds a new child may take to import the backend before it counts as hung.
START_LIMIT = 300.0
#: Seconds the child may take to import a SPEC's module (and construct its hypermodel) when builds have a time
#: limit: the import is not a build, and gets this limit of its own, never --hypermodel-timeout.
IMPORT_LIMIT = 300.0
#: Seconds between looks at whether the child still runs, where there is no pidfd to wait on.
POLL = 0.1
#: Discovery builds that may kill the child before the hypermodel is given up as a usage error.
MAX_FAULTS = 16

_Answer = TypeVar("_Answer", bound=messages.Reply)

#: The line of a dying child's stderr that says why: an exception's last line, or the interpreter's fatal error.
_RAISED = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*|Fatal Python error: .*)$")


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


def kill_limit(timeout: float | None) -> float | None:
    """Seconds of silence after which the child running a build under ``timeout`` is killed (None: never)."""
    return None if timeout is None else _kill_after(timeout)


def _kill_after(timeout: float) -> float:
    return timeout + min(max(timeout, MIN_GRACE), GRACE)


def import_limit(timeout: float | None) -> float | None:
    """Seconds the child may take before its first build: with builds limited, IMPORT_LIMIT (or more), else none."""
    return None if timeout is None else max(IMPORT_LIMIT, _kill_after(timeout))


class ProbeProcess:
    """The pytest side of the probe process: starts it lazily, restarts it after a crash or a hang, and sends it
    requests (``messages``) to which it answers with replies."""

    def __init__(
        self, rootpath: Path, conftest: Path | None = None, base: Path | None = None, fresh_each_case: bool = False
    ) -> None:
        self.rootpath = rootpath
        self.conftest = conftest
        self.base = base
        self.fresh_each_case = fresh_each_case
        self.backend = ""
        self.device = ""
        self._process: Any = None  # the child (multiprocessing's SpawnProcess, or a warm.WarmProcess), once started
        self._conn: Any = None  # our end of its pipe
        self._pidfd: int | None = None  # readable once the child has ended (Linux); else polled
        self._data: tuple[int, Any] | None = None  # (id, object) of the data the child holds
        self._ready = False  # whether the child said it imported the backend
        self._served = 0  # requests the child answered: with a process per case, a case needs one that ran nothing
        #: The files the child's stdout and stderr go to, with how far this side has read them.
        self._output: list[list] = []

    # ----------------------------------------------------------------------------------- requests

    def prepare(
        self, spec: str, options: Any, timeout: float | None, repair: tuple = (), data: Any = None, settings: Any = None
    ) -> Any:
        """Resolve, discover and plan ``spec`` in the child: a ``prepare.Preflight`` whose target holds no
        hypermodel (that stays in the child); SpecError (one line) on bad input.

        A discovery build that kills or hangs the child is remembered, the child restarted, and discovery
        run again with that build counted as failed: its value then becomes a case of the plan, probed
        (and reported) like any other. ``repair``: changes the hypermodel's declarations are held to. ``data``
        (NotSendable when it cannot be pickled) and the probe's ``settings``: what a HyperModel's own fit()
        runs on during discovery.
        """
        faults: dict[str, str] = {}
        grid_builds = True
        while True:
            try:
                if data is not None:
                    self._ensure_started()
                    self._send_data(data)
                request = messages.Prepare(
                    spec=spec,
                    options=options,
                    timeout=timeout,
                    faults=dict(faults),
                    grid_builds=grid_builds,
                    repair=repair,
                    with_data=data is not None,
                    settings=settings,
                )
                reply = self._request(request, import_limit(timeout), kill_limit(timeout))
            except Lost as lost:
                written = self._relay(show=False)
                if lost.during == messages.GRID_BUILDS:  # the forecast's own builds: infer the grid's order instead
                    grid_builds = False
                    continue
                if lost.during is None:
                    why = self._start_failure(spec, lost, timeout, written)
                    raise SpecError(f"--hypermodel {spec}: {why}") from None
                if lost.during in faults or len(faults) >= MAX_FAULTS:
                    raise SpecError(
                        f"--hypermodel {spec}: {len(faults) + 1} discovery builds {lost.how}; fix the build function "
                        "(run it once by hand with its defaults to see why)"
                    ) from None
                faults[lost.during] = f"its process {lost.how} during discovery"
                continue
            self._relay(show=False)  # discovery's output (TensorFlow's warnings...) is not a case's
            return _answer(reply, messages.Prepared).preflight

    def probe(
        self,
        spec: str,
        space: SearchSpace,
        case: Case,
        policy: Policy,
        settings: FitSettings,
        data: Any = None,
        repair: tuple = (),
        show: bool = True,
    ) -> Result:
        """One case in the child; a child that dies or hangs is the case's ``crash`` or ``timeout``. ``show``: pass
        on what the child wrote (into the capture of the case running); off for the probes after the cases, whose
        output (TensorFlow's retracing warnings) would land in the terminal's progress line."""
        started = time.perf_counter()
        try:
            if self.fresh_each_case and self._served:  # it ran discovery (or a case): a case gets a fresh one
                self.close()
            self._ensure_started()  # a fresh child holds no data yet
            self._send_data(data)
            request = messages.Probe(spec=spec, space=space, case=case, policy=policy, settings=settings, repair=repair)
            reply = self._request(request, import_limit(policy.timeout), kill_limit(policy.timeout))
        except Lost as lost:
            result = Result(
                case.id, case.kind, dict(case.values), outcome=lost.outcome, backend=self.backend, device=self.device
            )
            result.message = (
                f"it did not stop at {policy.timeout:g} s: its process was killed"
                if lost.outcome == outcomes.TIMEOUT
                else lost.detail
            )
            result.seconds = round(time.perf_counter() - started, 3)
            return result
        finally:
            self._relay(show=show)  # into pytest's capture of this case, as if the case had run here
            if self.fresh_each_case:
                self.close()
        result = Result(**_answer(reply, messages.Probed).result)
        if result.outcome == outcomes.OOM:
            # What the process could not free stays with it (the allocator's arenas, a half-built model): the next
            # case, another hypermodel's default among them, gets a fresh process, not the leftovers.
            self.close()
        return result

    def rehearse(
        self, spec: str, space: SearchSpace, cases: tuple[Case, ...], policy: Policy, settings: FitSettings, data: Any
    ) -> dict[str, Any]:
        """The rehearsal of the search in the child (``rehearsal.run``), as its ``Rehearsed.to_dict()``; a child
        that dies or hangs there is the search's end (``stopped``), as the user's search would end. Its output
        is not shown (it is no case's)."""
        try:
            self._ensure_started()
            self._send_data(data)
            request = messages.Rehearse(spec=spec, space=space, cases=cases, policy=policy, settings=settings)
            reply = self._request(request, import_limit(policy.timeout), kill_limit(policy.timeout))
        except Lost as lost:
            return {"stopped": f"the process running the search {lost.how}"}
        finally:
            self._relay(show=False)
        return _answer(reply, messages.Rehearsed).rehearsed

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
        serve = __name__.rpartition(".")[0] + ".child:serve"
        args = (
            str(self.rootpath),
            str(self.conftest) if self.conftest else None,
            str(self.base) if self.base else None,
            [path for path, _ in self._output],
        )
        with _main_unguarded_hidden():
            process: Any = warm.start(serve, child, args, PROCESS_NAME)  # forked from a warm process, if there is one
            if process is None:
                module, _, name = serve.partition(":")
                process = context.Process(
                    # Pickled by name: the copy of this module that sys.modules holds (a pytester run may hold another).
                    target=getattr(importlib.import_module(module), name),
                    name=PROCESS_NAME,
                    daemon=True,
                    args=(child, *args),
                )
                process.start()
        child.close()
        self._process, self._conn, self._data, self._ready, self._served = process, parent, None, False, 0
        self._pidfd = None
        with contextlib.suppress(AttributeError, OSError):  # os.pidfd_open: Linux 5.3 and Python 3.9 on
            self._pidfd = os.pidfd_open(process.pid)

    def ready(self) -> None:
        """Start the child, if it is not running, and wait for its backend import."""
        self._ensure_started()

    def _ensure_started(self) -> None:
        self.start()
        if not self._ready:
            ready = messages.expect(self._receive(START_LIMIT, None), messages.Ready)
            self.backend, self.device = ready.backend, ready.device
            self._ready = True
            self._relay(show=False)  # the backend's start-up chatter

    def _relay(self, show: bool) -> str:
        """Pass on what the child wrote since the last call, to this process's stdout and stderr; what it wrote to
        its stderr (for the cause of its death)."""
        written = ""
        for entry, stream in zip(self._output, (sys.stdout, sys.stderr)):
            path, offset = entry
            try:
                with open(path, "rb") as file:
                    file.seek(offset)
                    text = file.read()
            except OSError:
                continue
            entry[1] = offset + len(text)
            shown = devices.without_backend_noise(text.decode(errors="replace")) if show and text else ""
            if shown:
                stream.write(shown)
                stream.flush()
        return written

    def _start_failure(self, spec: str, lost: Lost, timeout: float | None, written: str) -> str:
        """Why the child died (or hung) before its first build, and the way out: one line."""
        main = _main_imported_again()
        if not self._ready and not written.strip() and main is not None:
            # It died before serve() took its output: in spawn's own start, which imports the main script again.
            return (
                f"the probe process {lost.how} as it started, before any build: multiprocessing's spawn imports the "
                f"main script {main} again in it, and that failed (its traceback is on stderr); move the script's "
                "top-level code under if __name__ == '__main__':, or run the hypermodel in this process, where its "
                "traceback shows (--hypermodel-isolation off)"
            )
        limit = (
            f" (importing has a limit of its own, {import_limit(timeout):g} s; --hypermodel-timeout limits each build)"
            if lost.outcome == outcomes.TIMEOUT
            else ""
        )
        raised = [line.strip() for line in written.splitlines() if _RAISED.match(line)]
        cause = f" ({raised[-1][:200]})" if raised else ""
        return (
            f"the probe process {lost.how} while starting or importing it, before any build{limit}{cause}; run "
            f"{_import_command(spec)} to see why"
        )

    def _send_data(self, data: Any) -> None:
        """Send ``data`` to the child, unless it holds it already; NotSendable when it cannot be pickled."""
        if self._data is None or self._data[0] != id(data):
            try:
                pickled = pickle.dumps(data)
            except Exception as exc:
                raise NotSendable(f"{type(exc).__name__}: {exc}") from None
            self._conn.send(messages.HoldData(pickled=pickled).wire())
            self._data = (id(data), data)  # holding it keeps its id from being reused

    def _request(self, request: messages.Request, limit: float | None, build_limit: float | None) -> messages.Reply:
        """Send ``request``; the reply, within ``limit`` seconds until the child announces its first build (the
        import before it), then ``build_limit`` for each build."""
        self._ensure_started()
        self._conn.send(request.wire())
        reply = self._receive(limit, None, build_limit)
        self._served += 1
        if isinstance(reply, messages.Bug):
            raise RuntimeError(f"pytest-hypermodel's probe process failed:\n{reply.traceback}")
        return reply

    def _receive(self, limit: float | None, during: str | None, build_limit: Any = ...) -> messages.Reply:
        """The child's reply, other than a ``Building``; Lost when it dies, or says nothing for ``limit`` seconds
        (each build it announces starts the clock again, with ``build_limit`` when given).

        The child's death is seen as such, not as the end of the pipe: a process that the user's code forked
        inherits the child's end of the pipe and keeps it open after the child died.
        """
        while True:
            conn = self._conn
            if not self._wait(limit):
                self._stop()
                raise Lost(outcomes.TIMEOUT, f"ran past {limit:g} s", during)
            message = None
            if conn.poll(0):  # what the child sent before it ended is still read
                with contextlib.suppress(EOFError, OSError):
                    message = conn.recv()
            if message is None:
                raise Lost(outcomes.CRASH, self._death(), during)
            reply = messages.reply(message)
            if not isinstance(reply, messages.Building):
                return reply
            during = reply.during
            if build_limit is not ...:
                limit = build_limit

    def _wait(self, limit: float | None) -> bool:
        """Until the child sends something or ends (True), or ``limit`` seconds pass (False)."""
        conn, process = self._conn, self._process
        if self._pidfd is not None:
            return bool(wait([conn, self._pidfd], limit))
        deadline = None if limit is None else time.monotonic() + limit
        while True:  # no pidfd: poll the pipe, and whether the child still runs
            step = POLL if deadline is None else max(0.0, min(POLL, deadline - time.monotonic()))
            if conn.poll(step) or not process.is_alive():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def _death(self) -> str:
        """How the child ended: ``killed by SIGABRT``, ``exit code 3``."""
        process = self._process
        if self._pidfd is not None:  # ended, not reaped yet: its pid still names its group
            wait([self._pidfd], 5)
        else:
            process.join(5)
        _kill_group(process.pid)  # what it started
        process.join(5)
        code = process.exitcode
        self._stop(reaped=True)
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def _stop(self, reaped: bool = False) -> None:
        """Kill the child and every process it started (after a crash or a hang, or at the end); its output stays
        to be relayed."""
        process, conn, pidfd = self._process, self._conn, self._pidfd
        self._process = self._conn = self._data = self._pidfd = None
        if conn is not None:
            conn.close()
        if process is not None:
            if not reaped:
                _kill_group(process.pid)
                process.kill()
            process.join(5)
        if pidfd is not None:
            os.close(pidfd)

    def close(self) -> None:
        """Stop the child and remove its output files (at the end of the session, or before a restart)."""
        self._stop()
        output, self._output = self._output, []
        for path, _ in output:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _answer(reply: messages.Reply, kind: type[_Answer]) -> _Answer:
    """The ``kind`` of reply that was due; SpecError (one line) when the request's SPEC was bad input."""
    if isinstance(reply, messages.SpecFailed):
        raise SpecError(reply.message)
    return messages.expect(reply, kind)


@contextlib.contextmanager
def _main_unguarded_hidden() -> Iterator[None]:
    """Keep a spawned child from running the parent's main script again, when it has no ``__main__`` guard.

    Spawn imports the main script in the child, to find what was pickled from it. A script that calls preflight()
    at its top level, with no ``if __name__ == "__main__":``, would run its whole body there, and its preflight
    would try to start one more process and kill the child. The child serves probes only: it needs none of it.
    """
    main = sys.modules.get("__main__")
    if main is None or _main_imported_again() is None or _guarded(_main_source(main)):
        yield
        return
    hidden: dict[str, Any] = {name: vars(main)[name] for name in ("__file__", "__spec__") if name in vars(main)}
    main.__spec__ = None  # spawn's preparation data then names no module (python -m) to import
    with contextlib.suppress(AttributeError):
        del main.__file__  # nor a script
    try:
        yield
    finally:
        vars(main).update(hidden)


def _main_imported_again() -> str | None:
    """The main script (or ``-m`` module) that spawn imports again in the child, as spawn finds it; None when none
    (``python -c``, ``python -m pkg``, IPython)."""
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None:  # spawn skips a package's __main__ (python -m pytest)
        return None if name == "__main__" or name.endswith(".__main__") else str(name)
    path = getattr(main, "__file__", None)
    if not path or os.path.splitext(os.path.basename(path))[0] == "ipython":  # spawn skips IPython's
        return None
    return str(path)


def _main_source(main: Any) -> str:
    """The file of the main script or ``-m`` module (``<stdin>`` for a script read from stdin)."""
    spec = getattr(main, "__spec__", None)
    return str(getattr(spec, "origin", None) or getattr(main, "__file__", None) or "")


def _guarded(path: str) -> bool:
    """Whether the script at ``path`` guards its top-level code with ``if __name__ == "__main__":``."""
    try:
        source = Path(path).read_text(errors="replace")
    except OSError:
        return False  # no file to import again (a script read from stdin: "<stdin>"): spawn must not try
    return re.search(r"""__name__\s*==\s*['"]__main__['"]|['"]__main__['"]\s*==\s*__name__""", source) is not None


def _kill_group(pid: int) -> None:
    """SIGKILL the process group the child leads (it and whatever the user's code started there), if it exists."""
    with contextlib.suppress(OSError):  # it never got to lead one, or it is empty already
        os.killpg(pid, signal.SIGKILL)


def _import_command(spec: str) -> str:
    """How to import a SPEC's module by hand: ``python models.py``, ``python -c 'import pkg.models'``."""
    module = spec.rpartition(":")[0] or "conftest.py"
    return f"python {module}" if module.endswith(".py") else f"python -c 'import {module}'"
