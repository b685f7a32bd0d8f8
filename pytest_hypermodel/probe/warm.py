"""A warm start for probe processes: one process imports the backend once, and each probe process is forked from it.

A probe process is spawned (``parent.ProbeProcess.start``), and a spawned process imports Keras and its backend
again: about 5 s of CPU, more than most cases cost. A run that starts many of them (a test suite that runs pytest
over and over, a notebook that preflights again and again) can start one warm process instead
(:class:`Server`) and name its socket in
``PYTEST_HYPERMODEL_WARM_START``: each probe process is then a fork of it, ready in milliseconds.

A warm start changes how fast a probe process starts, never what runs in it. The fork takes the requester's
environment, working directory, ``sys.path``, ``sys.argv``, main script (as spawn prepares them) and standard streams;
its exit code or signal is reported as a spawned process's would be. A request whose import environment differs
from the warm process's (another Python, another copy of Keras or of this package, another backend, another Keras
configuration) is refused, and the probe process is spawned as before. The warm process never starts a device (no
``cuInit``): what a fork inherits is the backend's modules, not its runtime.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import json
import os
import pickle
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

#: The socket of the warm process that probe processes are forked from; spawned as usual when unset.
VARIABLE = "PYTEST_HYPERMODEL_WARM_START"
#: Environment variables that a backend reads as it is imported, by backend: a request that sets them otherwise
#: than the warm process did is refused. The others (CUDA_VISIBLE_DEVICES, thread counts...) are read when the
#: runtime starts, which happens in the fork, under the requester's environment.
IMPORT_VARIABLES = {
    "": ("KERAS_", "TF_USE_LEGACY_KERAS", "PYTHONHASHSEED"),
    "jax": ("JAX_",),
    "torch": ("TORCH_", "PYTORCH_", "OMP_", "MKL_"),
}
#: The modules whose copy the warm process and the requester must share.
MODULES = ("pytest_hypermodel", "keras", "keras_tuner", "tensorflow", "jax", "torch", "numpy")
#: What Keras's configuration file holds where there is none (Keras writes these on its first import).
KERAS_DEFAULTS = {"floatx": "float32", "epsilon": 1e-07, "backend": "tensorflow", "image_data_format": "channels_last"}
_LENGTH = struct.Struct("!Q")


def key() -> dict[str, Any]:
    """What decides what importing the backend gives: equal keys, equal imports."""
    config = _keras_config()
    backend = os.environ.get("KERAS_BACKEND") or str(config.get("backend"))
    prefixes = IMPORT_VARIABLES[""] + IMPORT_VARIABLES.get(backend, ())
    return {
        "python": sys.executable,
        "modules": {name: _origin(name) for name in MODULES},
        "environment": {name: value for name, value in os.environ.items() if name.startswith(prefixes)},
        "keras_config": config,
    }


def _origin(name: str) -> str | None:
    """Where ``name`` is imported from, without importing it."""
    module = sys.modules.get(name)
    if module is not None:
        return getattr(module, "__file__", None)
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return None if spec is None else spec.origin


def _keras_config() -> dict[str, Any]:
    """Keras's configuration as its import would read it (``keras.src.backend.config``), defaults filled in."""
    base = os.environ.get("KERAS_HOME")
    if base is None:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    try:
        loaded = json.loads(Path(os.path.expanduser(base), "keras.json").read_text())
    except (OSError, ValueError):
        loaded = {}
    return {**KERAS_DEFAULTS, **(loaded if isinstance(loaded, dict) else {})}


# ----------------------------------------------------------------------------------------- the requester's side


@dataclass
class Request:
    """What a fork needs to become the probe process that spawn would have started."""

    key: dict[str, Any]
    environment: dict[str, str]
    #: ``multiprocessing.spawn.get_preparation_data``: sys.path, sys.argv, the working directory, the main script.
    preparation: dict[str, Any]
    #: The probe process's function (``module:name``) and its arguments after its end of the pipe.
    target: str
    args: tuple[Any, ...]


class WarmProcess:
    """A probe process forked by the warm process: the part of multiprocessing's ``Process`` that
    ``parent.ProbeProcess`` uses. Its end is reported by the warm process, which reaps it."""

    def __init__(self, connection: socket.socket, pid: int) -> None:
        self._connection: socket.socket | None = connection
        self.pid = pid
        self._exitcode: int | None = None

    @property
    def exitcode(self) -> int | None:
        self.join(0)
        return self._exitcode

    def is_alive(self) -> bool:
        return self.exitcode is None and self._connection is not None

    def join(self, timeout: float | None = None) -> None:
        connection = self._connection
        if connection is None or not wait([connection], timeout):
            return
        self._connection = None
        try:
            ended = _receive(connection)
            self._exitcode = int(ended[1])
        except (OSError, EOFError, pickle.UnpicklingError, IndexError, TypeError, ValueError):
            self._exitcode = -signal.SIGKILL  # the warm process itself is gone: so is what it would have said
        finally:
            connection.close()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)


def start(target: str, pipe_end: Any, args: tuple[Any, ...], name: str) -> WarmProcess | None:
    """Fork the probe process ``target(pipe_end, *args)`` from the warm process named in :data:`VARIABLE`; None
    where there is none, it cannot be reached, or it refuses (another import environment): spawn it then."""
    address = os.environ.get(VARIABLE)
    if not address:
        return None
    from multiprocessing import spawn

    preparation = spawn.get_preparation_data(name)
    preparation["authkey"] = bytes(preparation["authkey"])  # spawn's own pickler sends it; pickle refuses to
    request = Request(key(), dict(os.environ), preparation, target, args)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(address)
        payload = pickle.dumps(request)
        fds = [pipe_end.fileno(), 1, 2]  # the standard streams as a spawned process inherits them (pytest's capture)
        socket.send_fds(connection, [_LENGTH.pack(len(payload))], fds)
        connection.sendall(payload)
        reply = _receive(connection)
    except (OSError, EOFError, ValueError, TypeError, pickle.PicklingError, AttributeError):
        connection.close()
        return None
    if reply[0] != "started":
        connection.close()
        return None
    return WarmProcess(connection, int(reply[1]))


def _receive(connection: socket.socket) -> Any:
    (length,) = _LENGTH.unpack(_exactly(connection, _LENGTH.size))
    return pickle.loads(_exactly(connection, length))


def _send(connection: socket.socket, message: Any) -> None:
    payload = pickle.dumps(message)
    connection.sendall(_LENGTH.pack(len(payload)) + payload)


def _exactly(connection: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = connection.recv(left)
        if not chunk:
            raise EOFError("the warm process closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class Server:
    """A warm process for the life of a ``with`` block, named in :data:`VARIABLE` for this process and what it
    starts (a test suite's pytester runs, xdist's workers)."""

    def __init__(self) -> None:
        self.address = os.path.join(tempfile.mkdtemp(prefix="hypermodel-warm-"), "socket")
        self._process: subprocess.Popen[bytes] | None = None
        self._previous: str | None = None

    def __enter__(self) -> Server:
        self._process = subprocess.Popen(
            [sys.executable, "-c", f"import {__name__} as warm; warm.serve({self.address!r})"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C to the owner's process group is not its: it ends with its stdin
        )
        assert self._process.stdout is not None
        ready = self._process.stdout.readline()  # after its import: the first fork is then warm
        if ready.strip() == b"ready":
            self._previous = os.environ.get(VARIABLE)
            os.environ[VARIABLE] = self.address
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = self._previous
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()  # its end: the warm process exits
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        with contextlib.suppress(OSError):
            os.unlink(self.address)
            os.rmdir(os.path.dirname(self.address))


# ----------------------------------------------------------------------------------------- the warm process


def serve(address: str) -> None:
    """The warm process: import the backend and the probe's modules, then fork a probe process for each request
    until its standard input ends (the one who started it is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # its end is its standard input's: the one who started it is gone
    _import_backend()
    own_key = key()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    woken, wake = os.pipe()
    os.set_blocking(wake, False)
    signal.set_wakeup_fd(wake)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # its wake-up byte: a probe process ended
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "request")
    selector.register(woken, selectors.EVENT_READ, "ended")
    selector.register(sys.stdin, selectors.EVENT_READ, "stop")
    #: Each probe process's pid, with the connection its requester waits on (None once the requester hung up).
    children: dict[int, socket.socket | None] = {}
    print("ready", flush=True)
    while True:
        for selected, _ in selector.select():
            if selected.data == "stop":
                if not os.read(sys.stdin.fileno(), 1):
                    return
            elif selected.data == "ended":
                with contextlib.suppress(BlockingIOError):
                    os.read(woken, 4096)
                _reap(children, selector)
            elif isinstance(selected.data, int):
                _orphaned(selected.data, children, selector)
            else:
                connection, _ = listener.accept()
                closing = [selector, listener, connection, woken, wake]
                pid = _answer(connection, own_key, children, closing)
                if pid is not None:
                    selector.register(connection, selectors.EVENT_READ, pid)


def _answer(
    connection: socket.socket, own_key: dict, children: dict[int, socket.socket | None], closing: list
) -> int | None:
    """Fork the requested probe process, or refuse; the requester hears its pid, and later its end. The pid."""
    fds: list[int] = []
    try:
        header, fds, _, _ = socket.recv_fds(connection, _LENGTH.size, 3)
        (length,) = _LENGTH.unpack(header)
        request: Request = pickle.loads(_exactly(connection, length))
        if request.key != own_key or len(fds) != 3:
            _send(connection, ("refused", "another import environment"))
            connection.close()
            return None
        pid = os.fork()
        if pid == 0:
            _become_probe(request, fds, closing + [held for held in children.values() if held is not None])
        children[pid] = connection
        _send(connection, ("started", pid))
        return pid
    except (OSError, EOFError, ValueError, pickle.UnpicklingError, struct.error):
        connection.close()
        return None
    finally:
        for fd in fds:
            os.close(fd)


def _orphaned(pid: int, children: dict[int, socket.socket | None], selector: selectors.BaseSelector) -> None:
    """The requester hung up before its probe process ended (it died, or dropped it): end that process and what it
    started, as a spawned one dies with pytest (``child._detach``)."""
    connection = children.get(pid)
    if connection is not None:
        selector.unregister(connection)
        connection.close()
        children[pid] = None
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(OSError):
            kill(pid, signal.SIGKILL)


def _reap(children: dict[int, socket.socket | None], selector: selectors.BaseSelector) -> None:
    """Tell each requester whose probe process ended how it ended (as ``Process.exitcode`` says it)."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is not None:
            selector.unregister(connection)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            with contextlib.suppress(OSError):
                _send(connection, ("ended", code))
            connection.close()


def _become_probe(request: Request, fds: list[int], closing: list) -> None:
    """In the fork: become the probe process that spawn would have started, run it, and exit as it would."""
    code = 1
    try:
        pipe_end, stdout, stderr = fds
        for kept, standard in ((stdout, 1), (stderr, 2)):
            os.dup2(kept, standard)
        for item in closing:
            with contextlib.suppress(OSError):
                item.close() if hasattr(item, "close") else os.close(item)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.clear()
        os.environ.update(request.environment)
        code = _run(request, pipe_end)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _run(request: Request, pipe_end: int) -> int:
    """Spawn's preparation, then the target, as multiprocessing's bootstrap runs it: the exit code."""
    from multiprocessing import connection, spawn, util

    util._close_stdin()  # type: ignore[attr-defined]  # as multiprocessing's bootstrap does
    try:
        spawn.prepare(request.preparation)  # the main script imported again, as spawn does: it may fail as there
    except SystemExit as exc:
        return _exit_code(exc)
    except BaseException:
        traceback.print_exc()
        return 1
    module, _, name = request.target.partition(":")
    try:
        getattr(importlib.import_module(module), name)(connection.Connection(pipe_end), *request.args)
        return 0
    except SystemExit as exc:
        return _exit_code(exc)
    except BaseException:
        sys.stderr.write(f"Process {request.preparation.get('name')}:\n")
        traceback.print_exc()
        return 1


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    sys.stderr.write(f"{exc.code}\n")
    return 1


def _import_backend() -> None:
    """Keras, its backend and every module a probe process runs, without starting a device."""
    import pkgutil

    from pytest_hypermodel.probe import devices

    with devices.stderr_held_back():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow  # noqa: F401
        import keras_tuner  # noqa: F401

    import pytest_hypermodel

    for module in pkgutil.walk_packages(pytest_hypermodel.__path__, "pytest_hypermodel."):
        if module.name.split(".")[1] in ("space", "rules", "probe") and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    # Frozen here, each fork starts with its start-up heap out of the collector's reach (``heap``: its builds'
    # collections skip it, and leave the pages it shares with this process unwritten).
    gc.collect()
    gc.freeze()
