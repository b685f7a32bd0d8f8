"""Outcomes of a probe: what happened when one case was built and briefly fit.

Kept free of Keras imports: exceptions are classified by their class names
along the MRO, so a run on one backend never imports another backend to
recognise its out-of-memory error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import signal
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import NoReturn, Protocol

OK = "ok"
FAILED_TRIAL = "failed_trial"
FATAL = "fatal"
ERROR = "error"
NAN = "nan"
DIVERGED = "diverged"
OOM = "oom"
TIMEOUT = "timeout"
CRASH = "crash"
#: The trial completed but wrote no checkpoint: ``get_best_models()`` fails after the search.
NO_CHECKPOINT = "no_checkpoint"
#: The trial completed, but the process kept more memory after each trial of the defaults (``probe.FitSettings.
#: growth_trials``): a search of many trials runs out of host memory hours in.
MEMORY_GROWTH = "memory_growth"

ALL = (OK, FAILED_TRIAL, FATAL, ERROR, NAN, DIVERGED, OOM, TIMEOUT, CRASH, NO_CHECKPOINT, MEMORY_GROWTH)
#: Outcomes of a trial KerasTuner completes, that fail the case all the same: its result is of no use, or the
#: search dies of it later.
COMPLETED_USELESS = (DIVERGED, NO_CHECKPOINT, MEMORY_GROWTH)
#: Outcomes about the hypermodel as a whole, not about the values of the case that shows them (the default):
#: no boundary of a hyperparameter explains them.
HYPERMODEL_WIDE = (MEMORY_GROWTH,)

#: What a policy may make of a failure (``Policy.on``): KerasTuner's FailedTrialError, a retry, or its FatalError
#: (the same word as the outcome).
FAIL_TRIAL = "fail_trial"
RETRY = "retry"
ACTIONS = (FAIL_TRIAL, RETRY, FATAL)

#: Without a reference (the default case did not fit), a loss that grows by this factor within the short fit has
#: diverged: the old, absolute rule.
DIVERGENCE_FACTOR = 1e3
#: A case whose last loss ends this many times above where it started and above where the default case started on
#: the same data has diverged (``classify_losses`` with a reference). Measured on the seed article's Adam example:
#: learning rate 10 (and 1.0) ends 5.1x to 6.9x there under JAX and PyTorch, whose clipped cross-entropy saturates,
#: and 14x to 2300x under TensorFlow; a healthy case at most 1.2x.
DIVERGENCE_RATIO = 3.0
#: A loss that grew past the divergence line over a case's few batches of the search's epochs (``probe.fit``) is
#: followed before it fails the case: up to this many more epochs of the case's own data, on the same model and
#: optimizer, and for no longer than ``CONFIRMATION_TIME`` times the case's fit so far. Adam's early spike on a
#: wide layer (the getting-started guide's ``units_0=512, dropout, lr=0.01`` on random images: 2.5 -> 11 over its
#: first two batches) is back where it started within 5 or 6 more epochs of 2 batches; a real divergence (SGD at
#: learning rate 3 on a regression) keeps growing.
CONFIRMATION_EPOCHS = 8
CONFIRMATION_TIME = 2.0


class Probed(Protocol):
    """What the rules read of a case's result: ``probe.fit.Result`` (a layer above), or a stand-in with the same
    attributes (a configuration built without a fit)."""

    @property
    def outcome(self) -> str: ...
    @property
    def exception(self) -> str | None: ...
    @property
    def exception_bases(self) -> Sequence[str]: ...
    @property
    def losses(self) -> Sequence[float]: ...


# Class names of the backends' out-of-memory errors (TensorFlow, torch).
_OOM_CLASS_NAMES = {"ResourceExhaustedError", "OutOfMemoryError", "MemoryError"}
# JAX/XLA report memory exhaustion as a status inside a generic runtime error.
_OOM_MESSAGE_MARKERS = ("RESOURCE_EXHAUSTED", "CUDA out of memory", "Out of memory")


def _mro_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _is_keras_tuner(exc: BaseException, name: str) -> bool:
    return any(cls.__name__ == name and cls.__module__.startswith("keras_tuner") for cls in type(exc).__mro__)


class CaseTimeout(Exception):
    """Raised inside a probe that ran past its time limit."""


@dataclasses.dataclass
class Limit:
    """Whether a ``time_limit`` struck: a CaseTimeout raised inside a ``__del__`` or a weakref callback is
    swallowed ("Exception ignored in ..."), and the code it meant to stop runs on to the end."""

    seconds: float | None = None
    struck: bool = False

    def error(self) -> CaseTimeout:
        return CaseTimeout(f"the case ran past its time limit of {self.seconds:g} s")


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[Limit]:
    """Raise CaseTimeout in code running past ``seconds`` (Python-level hangs; the probe process's parent kills the
    rest)."""
    limit = Limit(seconds)
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield limit
        return

    def expire(signum: int, frame: FrameType | None) -> NoReturn:
        limit.struck = True
        raise limit.error()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield limit
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: BaseExceptions a build may raise that KerasTuner does not catch (it catches Exception): the search ends.
#: ``BaseException`` stands for any other class outside Exception (``probe`` keeps it among such a class's bases).
UNCAUGHT = ("SystemExit", "KeyboardInterrupt", "BaseException")


INTERRUPT_RECEIVED = threading.Event()


@contextlib.contextmanager
def interrupts_told_apart() -> Iterator[None]:
    """Note a real SIGINT, so a KeyboardInterrupt the build raises itself is told from Ctrl-C (the plugin's
    SIGTERM handler sets the same flag)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def received(signum: int, frame: FrameType | None) -> NoReturn:
        INTERRUPT_RECEIVED.set()
        if callable(previous):
            previous(signum, frame)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, received)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def raised_by_the_build(exc: BaseException) -> bool:
    """``sys.exit()``, any other BaseException, or a KeyboardInterrupt with no real signal behind it: the build's
    failure (which ends a KerasTuner search, as it catches Exception only), not a stop of this run."""
    return not isinstance(exc, KeyboardInterrupt) or not INTERRUPT_RECEIVED.is_set()


def text_of(exc: BaseException) -> str:
    """``str(exc)``; when the exception's own ``__str__`` raises, its repr and that it raised, so that its case is
    still a result (not a lost case, nor an INTERNALERROR)."""
    try:
        return str(exc)
    except Exception as broken:
        try:
            shown = repr(exc)
        except Exception:
            shown = object.__repr__(exc)
        return f"{shown} (its __str__ raised {type(broken).__name__})"


def exception_bases(exc: BaseException) -> list[str]:
    """The names of ``exc``'s classes, its own first; BaseException stays among the bases of a class outside
    Exception, which KerasTuner does not catch (``UNCAUGHT``)."""
    skipped = (object, BaseException, Exception) if isinstance(exc, Exception) else (object,)
    return [cls.__name__ for cls in type(exc).__mro__ if cls not in skipped]


def classify(exc: BaseException) -> str:
    """Map an exception raised by build or fit to an outcome name."""
    if isinstance(exc, CaseTimeout):
        return TIMEOUT
    if _is_keras_tuner(exc, "FailedTrialError"):
        return FAILED_TRIAL
    if _is_keras_tuner(exc, "FatalError"):
        return FATAL
    if _mro_names(exc) & _OOM_CLASS_NAMES:
        return OOM
    text = text_of(exc)
    if any(marker in text for marker in _OOM_MESSAGE_MARKERS):
        return OOM
    return ERROR


def _finite(value: float) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))


def divergence_base(start: float | None, reference: float | None) -> float | None:
    """What a case's last loss is held to: the larger of its own starting loss (its first batch, before any update)
    and the default case's on the same data; None when either is missing or not a positive number (a loss that
    can be negative has no ratio), and then the absolute rule judges."""
    if start is None or reference is None or not (_finite(start) and _finite(reference)):
        return None
    if start <= 0 or reference <= 0:
        return None
    return max(start, reference)


def recovered(
    losses: Sequence[float], confirmation: Sequence[float], start: float | None, reference: float | None
) -> bool:
    """Whether the epochs that followed a grown loss (``confirmation``) show a spike that passed, not a divergence:
    the last is back where the case started (``divergence_base``: its own start and the default's), or, for the
    absolute rule, under its 1000-fold jump. Back under ``DIVERGENCE_RATIO`` times the start is not enough, nor
    is a loss that only falls: the seed article's Adam at learning rate 10 falls 5571 -> 73 from 2.4 over 8 more
    epochs under TensorFlow. A non-finite loss among them never recovered."""
    if not confirmation or any(not _finite(loss) for loss in confirmation):
        return False
    base = divergence_base(start, reference)
    if base is not None:
        return confirmation[-1] <= base
    return bool(losses) and _finite(losses[0]) and abs(confirmation[-1]) < DIVERGENCE_FACTOR * abs(losses[0])


def classify_losses(
    losses: list[float],
    start: float | None = None,
    reference: float | None = None,
    confirmation: Sequence[float] = (),
) -> str:
    """`nan` for a non-finite loss, `diverged` for an exploding one, else `ok`.

    With ``start`` (the case's loss on its first batch, before any update) and ``reference`` (the default case's,
    on the same data), a loss has diverged when the last one ends ``DIVERGENCE_RATIO`` times above both: the same
    verdict on every backend, whether its cross-entropy grows without bound (TensorFlow reads the softmax's
    logits) or saturates at -log(epsilon) (JAX, PyTorch). Without them, the absolute rule: a 1000-fold jump.
    ``confirmation``: the losses of the epochs that followed a loss that grew (``CONFIRMATION_EPOCHS``); a
    divergence they show ``recovered`` is a spike that passed, and `ok`."""
    if any(not _finite(loss) for loss in losses):
        return NAN
    outcome = OK
    base = divergence_base(start, reference)
    if base is not None and losses:
        outcome = DIVERGED if losses[-1] > DIVERGENCE_RATIO * base else OK
    elif len(losses) >= 2:
        first = abs(losses[0])
        if first > 0 and max(abs(loss) for loss in losses[1:]) >= DIVERGENCE_FACTOR * first:
            outcome = DIVERGED
    if outcome == DIVERGED and recovered(losses, confirmation, start, reference):
        return OK
    return outcome


#: Keras wraps an error raised inside a layer's call() in these lines, around the real message.
_KERAS_WRAPPER = re.compile(r"^(Exception encountered when calling|Arguments received by|Call arguments received by|•)")
_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def meaningful_line(text: str) -> str:
    """The line of an error message that says what went wrong (the whole text stays in the traceback).

    Usually the last line; for an error Keras raised from inside a layer's ``call()``, the message it
    wraps, not the argument dump that ends it (``• inputs=tf.Tensor(shape=...)``).
    """
    lines = [line.strip() for line in _ANSI.sub("", text).strip().splitlines() if line.strip()]
    wrapped = any(line.startswith("Exception encountered when calling") for line in lines)
    if wrapped:
        kept: list[str] = []
        for line in lines:
            if line.startswith(("Arguments received by", "Call arguments received by")):
                break
            if line.endswith("Error encountered:"):  # "Could not automatically infer the output shape ..."
                kept = []
            elif not _KERAS_WRAPPER.match(line):
                kept.append(line)
        lines = kept or lines
    line = (lines[0] if wrapped else lines[-1]) if lines else ""
    return _FUNCTION_NODE.sub("", line).strip().rstrip(".")
