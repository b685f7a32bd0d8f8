"""What a trial does besides what it returns: the warnings Keras and TensorFlow raise during it, what each
``model.fit`` call logged and which callbacks read those logs by name, and the score KerasTuner recorded.

Recorded per case, as plain builtins on the case's ``Result`` (``rules.trial_health`` judges them): a
``model.fit`` that logged no ``val_loss`` under an ``EarlyStopping(monitor="val_loss")`` never stops early, and
Keras only warns; a ``HyperModel.fit`` returning a bare number has KerasTuner rank the trials by it, whatever it is.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import sysconfig
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

#: Where library code lives: a frame outside these (and outside this package) is the user's.
_LIBRARY_DIRS = tuple(
    os.path.normcase(os.path.realpath(p))
    for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
)
_PACKAGE_DIR = os.path.normcase(os.path.realpath(os.path.dirname(os.path.dirname(__file__))))
#: The loggers whose warnings a case collects with Python's (TensorFlow's, absl's, Keras's own).
LOGGERS = ("tensorflow", "absl", "keras")
#: Warnings a case keeps (a warning repeated each batch is one entry; the rest are counted, not kept).
MOST_WARNINGS = 50


def _library(filename: str) -> bool:
    if not filename or filename.startswith("<") or "__autograph_generated" in filename:
        return True
    path = os.path.normcase(os.path.realpath(filename))
    return path.startswith(_PACKAGE_DIR) or any(path.startswith(d) for d in _LIBRARY_DIRS)


#: Where the trial starts (``probe.trial``'s ``run`` and ``build``): the user's frames outside it are not the trial's.
_TRIAL_FILE = os.path.normcase(os.path.realpath(os.path.join(os.path.dirname(__file__), "trial.py")))
_TRIAL_ENTRIES = ("run", "build")


def user_frame(skip: int = 1) -> str:
    """``file:line`` of the innermost frame of the user's code on the current stack inside the trial (a
    ``HyperModel.fit``, a callback, a layer's ``call``); ``""`` when none (KerasTuner's own fit of the model)."""
    frame: Any = sys._getframe(skip)
    while frame is not None:
        code = frame.f_code
        if code.co_name in _TRIAL_ENTRIES and os.path.normcase(os.path.realpath(code.co_filename)) == _TRIAL_FILE:
            return ""
        if not _library(code.co_filename):
            return f"{code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


@dataclass
class Watch:
    """What one case's trial did, filled while it runs (plain builtins: it crosses processes on the Result)."""

    #: ``{"message", "category", "location"}`` per distinct warning, in the order raised.
    warnings: list[dict[str, str]] = field(default_factory=list)
    #: One per ``model.fit`` call: ``{"history": {key: [float per epoch]}, "monitors": [[callback, key]],
    #: "steps": whether it was given steps_per_epoch}``.
    fits: list[dict[str, Any]] = field(default_factory=list)

    def note_warning(self, message: str, category: str, location: str) -> None:
        if len(self.warnings) < MOST_WARNINGS and all(w["message"] != message for w in self.warnings):
            self.warnings.append({"message": message, "category": category, "location": location})

    #: The callback hook running (``EarlyStopping.on_epoch_end``), left set when it raised: what a failure blames.
    callback: str = ""

    def watch_fit(self, model: Any) -> None:
        """Record each ``model.fit`` call on ``model``: the callbacks that read its logs by name, and the logs; and
        note which callback hook runs (Keras filters its own frames out of a traceback)."""
        original = model.fit

        def fit(*args: Any, **kwargs: Any) -> Any:
            callbacks = list(getattr(kwargs.get("callbacks"), "callbacks", kwargs.get("callbacks")) or [])
            entry: dict[str, Any] = {
                "history": {},
                "monitors": monitors(callbacks),
                "steps": kwargs.get("steps_per_epoch") is not None,
            }
            self.fits.append(entry)
            for callback in callbacks:
                self._track(callback)
            history = original(*args, **kwargs)
            entry["history"] = logged(history)
            return history

        model.fit = fit

    def _track(self, callback: Any) -> None:
        """Wrap ``callback``'s per-epoch and per-fit hooks (not the per-batch ones: they run each step) so that
        ``self.callback`` names the one running. KerasTuner's own callbacks are left alone: what they raise is
        KerasTuner's handling of the trial."""
        kind = type(callback)
        package = kind.__module__.partition(".")[0]
        if package == "keras_tuner" or getattr(callback, "_watched", False):
            return
        prefix = "Keras's " if package == "keras" else ""  # a Keras callback raises on the arguments it was given
        for hook in CALLBACK_HOOKS:
            method = getattr(callback, hook, None)
            if callable(method):
                setattr(callback, hook, self._hooked(method, f"{prefix}{kind.__qualname__}.{hook}"))
        with contextlib.suppress(AttributeError):  # __slots__
            callback._watched = True

    def _hooked(self, method: Any, label: str) -> Any:
        def hook(*args: Any, **kwargs: Any) -> Any:
            self.callback = label
            value = method(*args, **kwargs)
            self.callback = ""
            return value

        return hook


#: The callback hooks a failure is traced to (``Watch.callback``).
CALLBACK_HOOKS = ("on_train_begin", "on_epoch_begin", "on_epoch_end", "on_train_end")


def monitors(callbacks: Any) -> list[list[str]]:
    """``[class name, key]`` for each callback that reads the fit's logs by name (its ``monitor``)."""
    found = []
    for callback in list(getattr(callbacks, "callbacks", callbacks) or []):
        key = getattr(callback, "monitor", None)
        if getattr(callback, "save_best_only", True) is False:  # a ModelCheckpoint saving each epoch reads nothing
            continue
        if isinstance(key, str) and key:
            found.append([type(callback).__name__, key])
    return found


def logged(history: Any) -> dict[str, list[float | None]]:
    """A History's logs per epoch (what a callback's ``monitor`` and KerasTuner's objective read): floats, None for
    a value that is not a finite number."""
    out: dict[str, list[float | None]] = {}
    for key, values in dict(getattr(history, "history", None) or {}).items():
        with contextlib.suppress(TypeError):
            out[str(key)] = [finite(v) for v in values]
    return out


#: What the backends log about their own machinery, which the preflight's many small builds and fits cause and
#: a search does not: not the user's to act on, and not the same from one run to the next (a count, an address).
BACKEND_NOISE = ("triggered tf.function retracing",)


class _LogHandler(logging.Handler):
    def __init__(self, watch: Watch) -> None:
        super().__init__(logging.WARNING)
        self.watch = watch

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            message = record.getMessage()
            if not any(noise in message for noise in BACKEND_NOISE):
                self.watch.note_warning(message, f"{record.name} log", user_frame(2))


#: The places whose warning this process showed (``collecting``).
_shown: set[tuple[str, str, int]] = set()


@contextlib.contextmanager
def collecting(watch: Watch) -> Iterator[None]:
    """Collect the Python warnings raised during the block (each shown as before, once per place) and the
    warnings Keras, TensorFlow and absl log, into ``watch``. The filters the user set stand (an ``error`` filter
    still raises); only a warning no filter names is now seen each time rather than once per place."""
    handler = _LogHandler(watch)
    loggers = [logging.getLogger(name) for name in LOGGERS]
    with warnings.catch_warnings():
        warnings.filterwarnings("always", append=True)
        previous = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            watch.note_warning(str(message), category.__name__, user_frame(2))
            if (category.__name__, filename, lineno) not in _shown:  # as Python's "default": once per place
                _shown.add((category.__name__, filename, lineno))
                previous(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        for logger in loggers:
            logger.addHandler(handler)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeHandler(handler)


def finite(value: Any) -> float | None:
    """``value`` as a finite float, or None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
