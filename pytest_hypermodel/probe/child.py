"""The probe process's side (``parent`` is the pytest side): import the backend once, then answer requests to
prepare a hypermodel or probe a case, each from the state a fresh process has.

Runs only in the child: the pytest process never imports it (``parent.ProbeProcess.start`` names it to
multiprocessing), so the Keras and TensorFlow it reaches are the child's alone. A request arrives as its name and
its fields (``messages``), and goes by its name to a handler below that takes the fields as keyword arguments.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import random
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_hypermodel.probe import messages
from pytest_hypermodel.space.target import SpecError


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
    from pytest_hypermodel.probe import devices, writes

    devices.load_backend()
    writes.install()  # what the user's code writes, noted for the project's watch (engine.project_files)
    conn.send(messages.Ready(backend=devices.backend_name(), device=devices.current_device()).wire())
    from pytest_hypermodel.rules import offline

    offline.block()  # after the backend's start-up: from here on, only the user's code runs
    global _streams
    streams = _streams = Streams.take()
    fresh = Fresh.take()  # what each request starts from; each SPEC's own, once its module is imported
    child = Child(conn, Path(rootpath), conftest, base)
    while True:
        try:
            name, fields = conn.recv()
        except (EOFError, OSError):  # the pytest process is done
            return
        if name in KEEPING:
            KEEPING[name](child, **fields)
            continue
        fresh.restore()
        try:
            reply = ANSWERING[name](child, **fields)
        except SpecError as exc:
            reply = messages.SpecFailed(message=str(exc))
        except Exception:
            reply = messages.Bug(traceback=traceback.format_exc())
        finally:
            streams.restore()  # a build that closed sys.stdout must not stop this process from replying
        sys.stdout.flush()
        sys.stderr.flush()
        conn.send(reply.wire())


@dataclass
class Child:
    """What the child holds from one request to the next."""

    #: Its end of the pipe: for the ``Building`` announcements during a request.
    conn: Any
    #: Where SPECs are resolved (``target.resolve``): the rootdir, conftest.py (for a name in it), and the
    #: directory a relative path is taken from.
    rootpath: Path
    conftest: str | None
    base: str | None
    #: SPEC -> its resolved target; ("fresh", SPEC) -> the state just after importing it (``_target``).
    hypermodels: dict[Any, Any] = field(default_factory=dict)
    #: The user's data (``HoldData``), for the requests that follow.
    data: Any = None
    #: The data as it came (``HoldData``'s bytes): data whose state its use changes (a PyDataset, a dataset) is
    #: made again from them for each request, so that each case and the rehearsal get it as the user gave it.
    pickled: bytes = b""

    def fresh_data(self) -> Any:
        """The user's data for a request: as it came, when using it changes it (``search_data.consumable``)."""
        from pytest_hypermodel.probe import search_data

        if self.pickled and search_data.consumable(self.data):
            self.data = pickle.loads(self.pickled)
        return self.data


@dataclass
class Streams:
    """The child's standard streams, as it set them up: put back after a build closed or replaced one."""

    #: ``sys.stdin``, ``sys.stdout``, ``sys.stderr`` as they were.
    objects: list
    #: fd -> a duplicate of what it was (the output files), for a build that closed or redirected 1 or 2.
    fds: dict[int, int]

    @classmethod
    def take(cls) -> Streams:
        fds = {}
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                fds[fd] = os.dup(fd)
        return cls([sys.stdin, sys.stdout, sys.stderr], fds)

    def restore(self) -> None:
        for fd, copy in self.fds.items():
            os.dup2(copy, fd)
        for index, name in enumerate(("stdin", "stdout", "stderr")):
            stream = self.objects[index]
            if getattr(stream, "closed", False):  # closing sys.stdout leaves fd 1 open: a new object on it
                with contextlib.suppress(OSError, ValueError):
                    stream = self.objects[index] = (
                        open(os.devnull)  # noqa: SIM115  (the process's stdin from now on: never closed here)
                        if name == "stdin"
                        else os.fdopen(
                            index, "w", buffering=1, encoding=stream.encoding, errors=stream.errors, closefd=False
                        )
                    )
            setattr(sys, name, stream)


_streams: Streams | None = None

#: Keras's process-wide settings: (getter, setter) in ``keras.config``; a pair missing from this Keras is skipped.
_KERAS_SETTINGS = (
    ("floatx", "set_floatx"),
    ("epsilon", "set_epsilon"),
    ("image_data_format", "set_image_data_format"),
    ("max_epochs", "set_max_epochs"),
    ("max_steps_per_epoch", "set_max_steps_per_epoch"),
)
#: Keras's switches: (getter, enable, disable) in ``keras.config``.
_KERAS_SWITCHES = (
    ("is_traceback_filtering_enabled", "enable_traceback_filtering", "disable_traceback_filtering"),
    ("is_interactive_logging_enabled", "enable_interactive_logging", "disable_interactive_logging"),
)


@dataclass
class Fresh:
    """What a fresh probe process has: each request starts from it, so that nothing one build changes reaches
    another case or another hypermodel. Restoring costs about 0.1 ms; a fresh process, a backend import (109 µs
    against 6.55 s in ``benchmarks/fresh_state.py`` on a loaded 2-core machine), so this is restored, not restarted.

    What cannot be put back (a module's globals, memory a build leaked) needs ``--hypermodel-isolate``.
    """

    cwd: str
    path: list[str]
    environ: dict[str, str]
    #: ``keras.config`` setter -> value; then the switches to call (``enable_traceback_filtering``...).
    keras: dict[str, Any] = field(default_factory=dict)
    switches: list[str] = field(default_factory=list)
    #: Keras's global dtype policy (``keras.mixed_precision``): None until a build sets one.
    dtype_policy: Any = None
    random: Any = None
    numpy_random: Any = None
    #: TensorFlow's ``run_functions_eagerly``, when it is the backend.
    eager: bool | None = None

    @classmethod
    def take(cls) -> Fresh:
        import keras
        import numpy

        state = cls(
            os.getcwd(),
            list(sys.path),
            dict(os.environ),
            random=random.getstate(),
            numpy_random=numpy.random.get_state(),
        )
        for getter, setter in _KERAS_SETTINGS:
            if hasattr(keras.config, getter) and hasattr(keras.config, setter):
                state.keras[setter] = getattr(keras.config, getter)()
        for getter, enable, disable in _KERAS_SWITCHES:
            if all(hasattr(keras.config, name) for name in (getter, enable, disable)):
                state.switches.append(enable if getattr(keras.config, getter)() else disable)
        state.dtype_policy = _global_state().get_global_attribute("dtype_policy")
        if keras.config.backend() == "tensorflow":
            import tensorflow as tf

            state.eager = tf.config.functions_run_eagerly()
        return state

    def restore(self) -> None:
        import keras
        import numpy

        if _streams is not None:
            _streams.restore()
        with contextlib.suppress(OSError):  # a directory since removed: the build's own problem
            if os.getcwd() != self.cwd:
                os.chdir(self.cwd)
        sys.path[:] = self.path
        if os.environ != self.environ:
            for name in [name for name in os.environ if name not in self.environ]:
                del os.environ[name]
            for name, value in self.environ.items():
                if os.environ.get(name) != value:
                    os.environ[name] = value
        for setter, value in self.keras.items():
            getattr(keras.config, setter)(value)
        for switch in self.switches:
            getattr(keras.config, switch)()
        _global_state().set_global_attribute("dtype_policy", self.dtype_policy)
        random.setstate(self.random)
        numpy.random.set_state(self.numpy_random)
        if self.eager is not None:
            import tensorflow as tf

            tf.config.run_functions_eagerly(self.eager)


def _global_state():
    """Keras's global state, where its dtype policy lives (``keras.config.dtype_policy()`` would set one)."""
    from keras.src.backend.common import global_state

    return global_state


def _detach() -> None:
    """A Ctrl-C at the terminal is pytest's to handle (it then stops this process); die with pytest."""
    os.setpgrp()
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: Linux only
    except (OSError, AttributeError):
        pass


def _target(hypermodels: dict, spec: str, rootpath: Path, conftest: str | None, base: str | None, repair: tuple = ()):
    """The resolved SPEC, imported on first use; the process is then in the state a fresh child has just after
    importing it (what its module does at import, such as a ``set_floatx``, holds for all its builds)."""
    from pytest_hypermodel.space import target as target_mod

    if spec not in hypermodels:
        module = target_mod._import_file(Path(conftest), rootpath, spec) if conftest else None
        hypermodels[spec] = target_mod.resolve(spec, rootpath, module, Path(base) if base else None)
        hypermodels["fresh", spec] = Fresh.take()
    else:
        hypermodels["fresh", spec].restore()
    if repair and (spec, repair) not in hypermodels:
        from pytest_hypermodel.probe import prepare as prepare_mod

        hypermodels[spec, repair] = prepare_mod.with_repair(hypermodels[spec], repair)
    return hypermodels[(spec, repair) if repair else spec]


# ----------------------------------------------------------------------------------- handlers, one per request


def _hold_data(child: Child, *, pickled: bytes) -> None:
    """``messages.HoldData``: no reply (data the child cannot unpickle ends it: the next request's ``crash``)."""
    child.data, child.pickled = pickle.loads(pickled), pickled


def _prepare(
    child: Child,
    *,
    spec: str,
    options: Any,
    timeout: float | None,
    faults: dict[str, str],
    grid_builds: bool,
    repair: tuple,
    with_data: bool,
    settings: Any,
) -> messages.Prepared:
    """``messages.Prepare``: each discovery build, and the GridSearch forecast's builds, announced first."""
    from pytest_hypermodel.probe import discovery
    from pytest_hypermodel.probe import prepare as prepare_mod

    conn = child.conn
    target = _target(child.hypermodels, spec, child.rootpath, child.conftest, child.base, repair)
    pre = prepare_mod.prepare_target(
        target,
        options,
        timeout,
        faults,
        before_build=lambda overrides: conn.send(messages.Building(during=discovery.fault_key(overrides)).wire()),
        grid_builds=grid_builds,
        before_grid=lambda: conn.send(messages.Building(during=messages.GRID_BUILDS).wire()),
        data=child.fresh_data() if with_data else None,
        settings=settings,
    )
    pre.target = prepare_mod.plain(target)
    return messages.Prepared(preflight=pre)


def _probe(
    child: Child, *, spec: str, space: Any, case: Any, policy: Any, settings: Any, repair: tuple
) -> messages.Probed:
    """``messages.Probe``: the case's build announced once its SPEC is imported, and each further trial's."""
    from pytest_hypermodel.probe import fit

    target = _target(child.hypermodels, spec, child.rootpath, child.conftest, child.base, repair)

    def before_trial() -> None:  # a further trial measuring memory (``Settings.growth_trials``) has its own limit
        child.conn.send(messages.Building(during=None).wire())

    before_trial()  # imported: the case's own time limit starts
    return messages.Probed(
        result=fit.run(
            target.hypermodel,
            space,
            case,
            policy,
            settings,
            child.fresh_data(),
            tuner=target.tuner,
            before_trial=before_trial,
        ).to_dict()
    )


def _rehearse(child: Child, *, spec: str, space: Any, cases: tuple, policy: Any, settings: Any) -> messages.Rehearsed:
    """``messages.Rehearse``: each trial announced, so that each has the cases' time limit."""
    from pytest_hypermodel.probe import rehearsal

    target = _target(child.hypermodels, spec, child.rootpath, child.conftest, child.base)

    def before_trial() -> None:
        child.conn.send(messages.Building(during=None).wire())

    before_trial()
    rehearsed = rehearsal.run(
        target.hypermodel,
        space,
        cases,
        policy,
        settings,
        child.fresh_data(),
        target.tuner,
        target.factory,
        before_trial,
    )
    return messages.Rehearsed(rehearsed=rehearsed.to_dict())


#: The requests the child answers, each from the state a fresh process has: name -> handler(child, **fields).
ANSWERING: dict[str, Callable[..., messages.Reply]] = {
    messages.Prepare.name: _prepare,
    messages.Probe.name: _probe,
    messages.Rehearse.name: _rehearse,
}
#: The requests that only change what the child holds for those that follow: no reply, no fresh state.
KEEPING: dict[str, Callable[..., None]] = {messages.HoldData.name: _hold_data}
