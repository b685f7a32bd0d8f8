"""Build one case, fit it a few steps, and say what happened.

Each case is one KerasTuner trial (``trial``): the tuner's own build, model
checks, ``run_trial`` and checks of what ``fit()`` returned. The probe adds
the seed, the memory estimate, the loss recorder and the checkpoint check.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_hypermodel.probe import devices, heap
from pytest_hypermodel.probe import watch as watch_mod
from pytest_hypermodel.rules import outcomes
from pytest_hypermodel.rules.outcomes import meaningful_line
from pytest_hypermodel.rules.policy import Policy
from pytest_hypermodel.space.hyperparameters import SearchSpace

if TYPE_CHECKING:
    import keras

    from pytest_hypermodel.space.plan import Case


#: The further trials of the default case that measure what a trial leaves behind (``FitSettings.growth_trials``):
#: the case's own trial warms up (first traces, allocator arenas), these give a reading each; the third runs only
#: when the first two readings differ by more than ``FLAT`` of the limit.
GROWTH_TRIALS = 3
#: Trials more when the first readings' growth is over the limit: a backend's warm-up can still take one step after
#: the case's own trial (JAX kept 7.5 MiB more after the first further trial of the getting-started model, then
#: nothing), which three readings cannot tell from a leak; over six readings one step is not the median slope, and
#: a leak's steady growth still is (``benchmarks/verdict_stability.py``).
CONFIRM_TRIALS = 3
#: What a trial may leave behind (``FitSettings.max_growth``): a tiny model kept alive by a module-level list stays
#: under it (about 1.6 MiB a trial); a real model kept so, or its data, does not. A clean tiny model's noise is
#: about 0.05 MiB a trial (``tests/plugin/test_memory.py``).
MAX_GROWTH = 4 * 2**20
#: Under this share of ``max_growth`` from the first further trial to the second, the third is not run.
FLAT = 0.25
#: Trials the message counts the growth over, as a long search runs them.
GROWTH_HORIZON = 100


@dataclass
class FitSettings:
    """How much work one probe does."""

    epochs: int = 3
    samples: int = 32
    seed: int = 0
    #: For models that declare no input: the shape of one example per input (:func:`parse_input_shapes`).
    input_shapes: Any = None
    #: The search's objective, ``(name, direction or None)`` each (several: a multi-objective); empty when not
    #: known, and then only what ``fit()`` returned is checked, as before.
    objective: tuple[tuple[str, str | None], ...] = ()
    #: The default case's starting loss on the same data (``Result.start_loss``), which a divergence is judged
    #: against (``outcomes.classify_losses``); None: the default case did not fit, or this is it.
    reference_loss: float | None = None
    #: Further trials of the case after its own, each followed by a reading of the process's resident memory: the
    #: memory a trial leaves behind (:func:`rss_growth`). 0: not measured (the engine asks it of the default case).
    growth_trials: int = 0
    #: Bytes a trial may leave behind before the case is ``memory_growth``.
    max_growth: int = MAX_GROWTH


def parse_input_shapes(texts: list[str]) -> list[tuple[int, ...]] | dict[str, tuple[int, ...]] | None:
    """``["28,28"]`` -> ``[(28, 28)]``; ``["image=32,32,3", "meta=4"]`` -> a dict by input name.

    ValueError if malformed."""
    if not texts:
        return None
    named, unnamed = {}, []
    for text in texts:
        name, sep, shape = text.rpartition("=")
        try:
            dims = tuple(int(part) for part in shape.split(","))
        except ValueError:
            dims = ()
        if not dims or any(d < 1 for d in dims) or (sep and not name.strip().isidentifier()):
            raise ValueError(
                f"{text!r}: write the shape of one example without the batch dimension, as sizes separated by "
                "commas (28,28), or name=28,28 for a named input; repeat it for several inputs"
            )
        if sep:
            named[name.strip()] = dims
        else:
            unnamed.append(dims)
    if named and unnamed:
        raise ValueError(f"{', '.join(texts)}: name every input shape (name=28,28) or none of them")
    return named or unnamed


@dataclass
class Result:
    """What happened to one case. Plain builtins only, so it can cross processes."""

    case_id: str
    kind: str
    values: dict
    outcome: str = outcomes.OK
    exception: str | None = None
    exception_bases: list[str] = field(default_factory=list)
    message: str | None = None
    traceback: str | None = None
    built: bool = False
    fitted: bool = False
    params: int | None = None
    memory_bytes: int | None = None
    #: The budget it was held to: --hypermodel-memory-budget, else its device's memory (``devices.memory_budget``).
    memory_budget: int | None = None
    predicted: bool = False
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    #: The loss on the fit's first batch, before any update: where the case started.
    start_loss: float | None = None
    #: The default case's starting loss it was judged against for a divergence (None: the absolute rule judged).
    reference_loss: float | None = None
    #: A loss that grew was followed further before it was judged (``follow_grown_loss``): each further epoch's
    #: loss, and the seconds that took (not in ``seconds``, the trial's own); empty when it did not grow.
    confirmation: list[float] = field(default_factory=list)
    confirmation_seconds: float = 0.0
    #: Whether the trial wrote its checkpoint (``get_best_models()`` reloads it); meaningful once it fitted.
    checkpoint: bool = True
    backend: str = ""
    device: str = ""
    #: The metric names the fit logged (what KerasTuner can find the objective among).
    logs: list[str] = field(default_factory=list)
    #: The shapes of the user's data the case fitted on (``x (64, 6), y (64, 1)``); empty for synthesized data.
    data: str = ""
    #: Bytes of resident memory the process kept after each further trial of the case (``FitSettings.growth_trials``);
    #: None when not measured.
    rss_growth_bytes: int | None = None
    #: The training batches the case's fit ran, the seconds of one (the median within an epoch: the first batch
    #: traces or compiles the step), and each epoch's own seconds beyond its batches (its end: the callbacks, the
    #: checkpoint, a validation pass): what the search's own batches and epochs cost. None when not measured.
    steps: int = 0
    step_seconds: float | None = None
    epoch_seconds: float | None = None
    #: One trial of the search: its epochs and its training batches an epoch (``data.search_size``); None when the
    #: search's data is not given.
    search_epochs: int | None = None
    search_batches: int | None = None
    #: Where in the trial it failed (``trial.BUILD``, ``FIT``, ``CALLBACK``...; ``""`` when it did not) and, for a
    #: callback, which one (``Boom.on_epoch_end``): what its hint blames.
    phase: str = ""
    failed_callback: str = ""
    #: The warnings Keras, TensorFlow or the user's code raised during the trial (``watch.Watch.warnings``).
    warnings: list[dict] = field(default_factory=list)
    #: What the trial's ``model.fit`` calls logged and which callbacks read the logs by name (``watch.Watch.fits``),
    #: and what KerasTuner recorded: the objective, its direction, its value (the trial's score), the type of what
    #: the trial returned and where that is written (``file:line`` of a ``HyperModel.fit`` or ``run_trial`` of the
    #: user's own; ``""`` for KerasTuner's).
    fits: list[dict] = field(default_factory=list)
    objective: str = ""
    direction: str = ""
    score: float | None = None
    returned: str = ""
    returned_by: str = ""
    returned_at: str = ""
    #: With no objective named: the keys of the dict the trial returned, which lacks the stand-in objective (the
    #: objectives the search must name one of; ``trial.Outcome.offered``).
    offered: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def judge_fit(result: Result, reference: float | None) -> None:
    """A fitted case's outcome from its losses (``outcomes.classify_losses``), judged against ``reference`` (where
    the default case started, on the same data; None: the absolute rule), then its checkpoint. A loss that grew
    is judged with the epochs that followed it (``result.confirmation``): only one that kept growing diverged."""
    losses, confirmation = result.losses, result.confirmation
    result.outcome = outcomes.classify_losses(losses, result.start_loss, reference, confirmation)
    base = outcomes.divergence_base(result.start_loss, reference)
    result.reference_loss = reference if base is not None else None
    result.message = None
    if result.outcome != outcomes.OK:
        result.message = f"loss went {' -> '.join(f'{loss:.4g}' for loss in losses)}"
        if result.outcome == outcomes.DIVERGED and base is not None:
            result.message += (
                f", over {outcomes.DIVERGENCE_RATIO:g} times where it started ({result.start_loss:.4g}, "
                f"its first batch) and where the default case started on the same data "
                f"({reference:.4g})"
            )
        if result.outcome == outcomes.DIVERGED and confirmation:
            result.message += (
                f"; followed {len(confirmation)} more {'epoch' if len(confirmation) == 1 else 'epochs'}, it "
                f"did not recover: {' -> '.join(f'{loss:.4g}' for loss in confirmation)}"
            )
    elif not result.checkpoint:
        result.outcome = outcomes.NO_CHECKPOINT
        result.message = (
            "the trial wrote no checkpoint: the callbacks the tuner passed to fit() never reached "
            "model.fit, so get_best_models() raises FileNotFoundError after the search"
        )


def saw_part_of_an_epoch(result: Result, steps: int) -> bool:
    """Whether the case's epochs were cut short of the search's (``data.BATCHES`` of its batches an epoch): then
    its losses show only the start of each epoch the search runs, and a loss that grew is followed further
    (``follow_grown_loss``). A case that fitted the search's whole epochs saw what its trial sees: its verdict
    stands (so do those on synthesized data, whose search is not known)."""
    if result.search_batches is None or not result.losses:
        return False
    return steps / len(result.losses) < result.search_batches


def confirmation_budget(fit_seconds: float) -> str:
    """What a grown loss is followed for, in words (the case's message and the progress line say it)."""
    return (
        f"up to {outcomes.CONFIRMATION_EPOCHS} more epochs of its data, at most "
        f"{outcomes.CONFIRMATION_TIME:g}x its fit's {fit_seconds:.1f} s"
    )


def follow_grown_loss(
    result: Result, fit: Callable[..., Any], args: tuple, kwargs: dict, fit_seconds: float, reference: float | None
) -> None:
    """Continue the case's fit (``fit(*args, **kwargs)``: its model and optimizer as the trial left them) for up to
    ``CONFIRMATION_EPOCHS`` more epochs of its data, and no longer than ``CONFIRMATION_TIME`` times its fit so far,
    recording each epoch's loss in ``result.confirmation``; it stops early once the loss is back where it started
    (``outcomes.recovered``) or is not finite. Adam's first steps on a wide layer can spike the loss over the two
    batches a case sees of each of the search's epochs, and the search's later batches bring it back: a search
    sees the spike pass, so a loss that grew fails the case only when it keeps growing. An error here leaves the
    case's result as the trial's."""
    import keras

    confirmation = result.confirmation
    deadline = time.perf_counter() + outcomes.CONFIRMATION_TIME * fit_seconds
    start = result.start_loss

    class Follow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            loss = float((logs or {}).get("loss", math.nan))
            confirmation.append(loss)
            # the line where the case started is the lowest a reference can make it: under it, it recovered
            passed = outcomes.recovered(result.losses, confirmation, start, reference or start)
            if not math.isfinite(loss) or passed or time.perf_counter() > deadline:
                self.model.stop_training = True

    follow = {k: v for k, v in kwargs.items() if k not in ("validation_data", "validation_steps", "callbacks")}
    follow.update(epochs=outcomes.CONFIRMATION_EPOCHS, initial_epoch=0, verbose=0, callbacks=[Follow()])
    began = time.perf_counter()
    try:
        fit(*args, **follow)
    except outcomes.CaseTimeout:
        raise
    except Exception:  # the trial's own result stands
        confirmation.clear()
    finally:
        result.confirmation_seconds = round(time.perf_counter() - began, 3)


def needs_reference(result: Result) -> bool:
    """Whether the default case's start could change ``result``'s verdict: it fitted, and its loss ended over
    ``DIVERGENCE_RATIO`` times its own start, or the absolute rule called it diverged. A case that learned needs
    none, so an xdist worker probes the default for its reference only when a case of its own grew."""
    if not result.fitted or result.outcome not in (outcomes.OK, outcomes.DIVERGED, outcomes.NO_CHECKPOINT):
        return False
    if result.outcome == outcomes.DIVERGED:
        return True
    start = result.start_loss
    return (
        bool(result.losses)
        and start is not None
        and start > 0
        and result.losses[-1] > outcomes.DIVERGENCE_RATIO * start
    )


def reference_from(default: Result) -> float | None:
    """What the other cases' divergence is judged against: where the default case started (``start_loss``), when
    it fitted with finite losses; None otherwise, and then the absolute rule judges (``outcomes.classify_losses``)."""
    fitted = default.fitted and default.outcome in (outcomes.OK, outcomes.NO_CHECKPOINT, outcomes.DIVERGED)
    return default.start_loss if fitted else None


def _fail(result: Result, exc: BaseException) -> None:
    result.outcome = outcomes.classify(exc)
    result.exception = type(exc).__name__
    result.exception_bases = outcomes.exception_bases(exc)
    result.message = meaningful_line(outcomes.text_of(exc))
    result.traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def estimate_memory(model: keras.Model, batch_size: int = 32) -> int:
    """Bytes to train ``model``: weights, gradients and two optimizer slots, plus activations."""
    import keras

    params = model.count_params()
    activations = 0
    for layer in model._flatten_layers(include_self=False):
        try:
            tensors = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError):  # a layer never called symbolically
            continue
        for tensor in tensors:
            activations += math.prod(int(d or 1) for d in tuple(tensor.shape)[1:])
    return 4 * (4 * params + 2 * batch_size * activations)


def fit_arguments(
    provided: Any, model: keras.Model, values: dict, settings: FitSettings, as_given: bool = False
) -> tuple[tuple, dict]:
    """What ``model.fit`` gets in a case: ``provided`` (the user's data, or a callable ``(model, values)`` giving
    it) cut to a few batches and the probe's epochs, else data synthesized from the model. ``as_given``: the
    rehearsal's, which passes a dataset of unknown length as it is (``data.cut``)."""
    from pytest_hypermodel.probe import data as data_mod
    from pytest_hypermodel.probe import redirect

    if callable(provided):
        provided = provided(model, values)
    if provided is None:
        x, y = data_mod.synthesize(model, settings.samples, settings.seed, settings.input_shapes)
        if any(name.startswith("val_") for name, _ in settings.objective):  # the search would get validation data
            return (x, y), {
                "validation_data": data_mod.synthesize(
                    model, settings.samples, settings.seed + 1, settings.input_shapes
                )
            }
        return (x, y), {}
    if not isinstance(provided, dict):
        x, y = provided
        n = data_mod.examples_for(None, settings.samples)
        return (data_mod.cut(x, n, as_given), data_mod.cut(y, n, as_given)), {}
    # The search's own arguments, as tuner.search passes them on to model.fit: the data cut to a few batches,
    # the epochs to the probe's; batch_size, callbacks and the validation arguments as they are.
    kwargs = dict(provided)
    if kwargs.get("callbacks"):  # what they write goes to the throwaway directory, not over the user's files
        kwargs["callbacks"] = redirect.callbacks(kwargs["callbacks"])
    n = data_mod.examples_for(kwargs, settings.samples)
    x, y = data_mod.cut(kwargs.pop("x"), n, as_given), data_mod.cut(kwargs.pop("y", None), n, as_given)
    for name in ("validation_data", "sample_weight"):
        if kwargs.get(name) is not None:
            kwargs[name] = data_mod.cut(kwargs[name], n, as_given)
    for name, most in (
        ("epochs", settings.epochs),
        ("steps_per_epoch", data_mod.BATCHES),
        ("validation_steps", data_mod.BATCHES),
    ):
        if isinstance(kwargs.get(name), int):
            kwargs[name] = min(kwargs[name], most)
    if getattr(provided, "keywords", False):  # a search that passes x and y to run_trial by name (AutoKeras's)
        return (), {"x": x, **({"y": y} if "y" in provided else {}), **kwargs}
    return (x, y), kwargs


def run(
    hypermodel,
    space: SearchSpace,
    case: Case,
    policy: Policy | None = None,
    settings: FitSettings | None = None,
    provided_data: Any = None,
    keep: Callable[[Any, Any], None] | None = None,
    tuner: Any = None,
    before_trial: Callable[[], None] | None = None,
) -> Result:
    """Probe one case as one trial of ``tuner`` (the user's; else a plain one, see ``trial.plain_tuner``).
    ``keep(hp, model)`` receives the built model, for fixtures that expose it. With ``settings.growth_trials``,
    a case that passed runs that many trials more, ``before_trial()`` called before each (each has the case's
    time limit), and the memory each leaves behind is measured (:func:`rss_growth`)."""
    policy = policy or Policy()
    settings = settings or FitSettings()
    heap.settle()
    result = _limited(hypermodel, space, case, policy, settings, provided_data, keep, tuner)
    if settings.growth_trials and result.outcome == outcomes.OK:
        _measure_growth(
            result,
            lambda: _limited(hypermodel, space, case, policy, settings, provided_data, None, tuner),
            settings,
            before_trial,
        )
    return result


def _limited(hypermodel, space, case, policy, settings, provided_data, keep, tuner) -> Result:
    """One trial of the case under its time limit."""
    with outcomes.time_limit(policy.timeout) as limit, outcomes.interrupts_told_apart(), _released_gradient_entries():
        try:
            result = _run(hypermodel, space, case, policy, settings, provided_data, keep, tuner)
        except Exception as exc:  # the limit struck outside the build's own try (a tiny one), as itself or, raised
            # inside a TensorFlow call, wrapped in pybind11's RuntimeError ("... REPLACED BY CaseTimeout")
            if not (isinstance(exc, outcomes.CaseTimeout) or limit.struck):
                raise
            result = Result(
                case.id, case.kind, dict(case.values), backend=devices.backend_name(), device=devices.current_device()
            )
            _fail(result, exc if isinstance(exc, outcomes.CaseTimeout) else limit.error())
        if limit.struck and result.outcome != outcomes.TIMEOUT:
            # It struck where the error was swallowed (a __del__) or turned into another (TensorFlow's DType.max
            # answers any exception with "TypeError: Cannot find maximum value"): the case ran past its limit.
            _fail(result, limit.error())
        return result


def rss_bytes() -> int | None:
    """This process's resident set size: /proc/self/statm (Linux), else the peak that getrusage reports (which
    grows with what is kept, too); None when neither can be read."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def _settled_rss() -> int | None:
    """The resident memory once what the trial let go of is freed, as the next trial's build finds it (KerasTuner's
    ``_try_build`` clears the session and collects first), and handed back to the system (:func:`trim_heap`)."""
    import keras

    keras.backend.clear_session()
    gc.collect()
    trim_heap()
    return rss_bytes()


def trim_heap() -> bool:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``): what a trial freed but the
    allocator kept for later is then not counted as kept, so a reading measures what is alive, not where the
    allocator's high-water mark stood (steps of 1.5 MiB, now and then, without it). False where there is no
    ``malloc_trim`` (macOS, Windows, musl): the readings are then as they are."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)  # the process's own symbols: libc's where it is glibc
    except (OSError, AttributeError, TypeError):
        return False
    return True


def rss_growth(samples: list[int]) -> int:
    """Bytes a trial leaves behind, from the resident memory read after each of several trials: the median of the
    slopes between every two readings (Theil-Sen), which an allocator returning memory once does not move."""
    n = len(samples)
    slopes = sorted((samples[j] - samples[i]) / (j - i) for i in range(n) for j in range(i + 1, n))
    middle = len(slopes) // 2
    return round(slopes[middle] if len(slopes) % 2 else (slopes[middle - 1] + slopes[middle]) / 2)


def _measure_growth(
    result: Result,
    trial: Callable[[], Result],
    settings: FitSettings,
    before_trial: Callable[[], None] | None,
    read: Callable[[], int | None] = _settled_rss,
) -> None:
    """Run ``trial`` up to ``settings.growth_trials`` times after the case's own, the resident memory read after
    each (two are enough when they differ by under ``FLAT`` of the limit); a growth over ``settings.max_growth``
    is confirmed by ``CONFIRM_TRIALS`` more, and judged over all the readings. The growth goes to ``result``,
    which becomes ``memory_growth`` when it stays over the limit. A further trial that fails
    stops the measure: the case's own result stands. ``read``: the reading after each trial."""
    samples: list[int] = []
    limit = settings.max_growth
    for _ in range(settings.growth_trials + CONFIRM_TRIALS):
        if len(samples) == 2 and samples[1] - samples[0] <= limit * FLAT:
            break  # clearly flat: the third trial is for a growth that needs confirming
        if len(samples) == max(settings.growth_trials, 2) and not (limit and rss_growth(samples) > limit):
            break  # under the limit: nothing to confirm
        if before_trial is not None:
            before_trial()
        if trial().outcome != outcomes.OK:
            return
        rss = read()
        if rss is None:
            return
        samples.append(rss)
    if len(samples) < 2:
        return
    growth = result.rss_growth_bytes = rss_growth(samples)
    if limit and growth > limit:
        result.outcome = outcomes.MEMORY_GROWTH
        horizon = growth * GROWTH_HORIZON
        result.message = (
            f"the process kept {growth / 2**20:.1f} MiB more after each trial of the defaults: "
            f"resident memory {samples[0] / 2**20:.0f} -> {samples[-1] / 2**20:.0f} MiB over "
            f"{len(samples)} more trials, {horizon / 2**30:.1f} GiB after {GROWTH_HORIZON}"
        )


#: TensorFlow names the gradient it registers for each ``tf.custom_gradient`` call so.
CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def gradient_registry() -> dict | None:
    """TensorFlow's global gradient registry, or None (another backend, or a TensorFlow without it)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


@contextlib.contextmanager
def _released_gradient_entries() -> Iterator[None]:
    """Drop the ``CustomGradient-*`` entries a case registered, so its traced step can be freed.

    Keras's optimizer sums gradients through a ``tf.custom_gradient``; TensorFlow registers
    one entry per traced train step and never removes it, and the entry's closure keeps the
    whole FuncGraph alive: about 2.8 MiB a case (TensorFlow's report:
    https://github.com/tensorflow/tensorflow/issues/97697). The entry's gradient is
    never taken (nothing differentiates through the optimizer's update), and a retrace
    registers a new one.
    """
    registry = gradient_registry()
    if registry is None:
        yield
        return
    before = set(registry)
    try:
        yield
    finally:
        for name in [n for n in registry if n.startswith(CUSTOM_GRADIENT_PREFIX) and n not in before]:
            del registry[name]


def _run(hypermodel, space, case, policy, settings, provided_data, keep, tuner) -> Result:
    import keras

    from pytest_hypermodel.probe import discovery
    from pytest_hypermodel.probe import trial as trial_mod

    result = Result(
        case.id, case.kind, dict(case.values), backend=devices.backend_name(), device=devices.current_device()
    )
    hp = discovery.hyperparameters(space, case.values)
    objective_known = tuner is not None or bool(settings.objective)  # a user's tuner holds its own
    if tuner is None:
        goal = search_objective(settings.objective or ((trial_mod.STAND_IN_OBJECTIVE, "min"),))
        tuner = trial_mod.plain_tuner(hypermodel, goal, policy.max_model_size)
    losses = result.losses

    def on_return(results: Any) -> None:
        first = results[0] if isinstance(results, list) and results else results
        result.logs = _log_names(first)
        # KerasTuner's run_trial returns one result an execution; one execution's is what its fit returned
        result.returned = type(results[0] if isinstance(results, list) and len(results) == 1 else results).__name__

    def on_build(model: Any) -> None:
        """The trial's model, just built (``_try_build`` cleared the session first; KerasTuner's model checks
        follow): what the probe adds to a KerasTuner trial."""
        if not isinstance(model, keras.Model):
            return  # KerasTuner's own FatalTypeError follows
        result.built = True
        built[:] = [model]
        if keep is not None:
            keep(hp, model)
        try:
            result.params = int(model.count_params())
            result.memory_bytes = estimate_memory(model)
        except ValueError:  # an unbuilt subclassed model has no weights yet
            pass
        budget = (policy.memory_budget, None) if policy.memory_budget else devices.memory_budget()
        if budget is not None:
            result.memory_budget = budget[0]
            if result.memory_bytes is not None:
                _check_memory_at_fit(model, result, budget, case.values)
        watch.watch_fit(model)

    from pytest_hypermodel.probe import data as data_mod

    batch_ends: list[tuple[int, float]] = []  # each training batch's epoch, and when it ended
    built: list[Any] = []  # the trial's model, as its last build made it
    watch = watch_mod.Watch()
    result.returned_by, result.returned_at = _returned_by(hypermodel, tuner)
    hooks = trial_mod.Hooks(lambda: keras.utils.set_random_seed(settings.seed), on_build, on_return)
    started = time.perf_counter()
    try:
        result.search_epochs, result.search_batches = data_mod.search_size(provided_data) or (None, None)
        prebuilt = None
        if provided_data is None or callable(provided_data):  # the data is made for (or by) the case's model
            with watch_mod.collecting(watch):
                prebuilt = trial_mod.build(tuner, hp, hooks)
        args, kwargs = fit_arguments(provided_data, prebuilt, dict(case.values), settings)
        if provided_data is not None:
            x, y = (args[0], args[1]) if args else (kwargs["x"], kwargs.get("y"))
            result.data = f"x {data_mod.shapes(x)}, y {data_mod.shapes(y)}"

        def on_batch_end(batch: int, logs: Any) -> None:
            batch_ends.append((len(losses), time.perf_counter()))  # losses: one an epoch ended
            if result.start_loss is None:  # the first batch's loss was computed before its update
                result.start_loss = float((logs or {}).get("loss", math.nan))

        recorder = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: losses.append(float((logs or {}).get("loss", math.nan))),
            on_train_batch_end=on_batch_end,
        )
        kwargs.setdefault("epochs", settings.epochs)
        kwargs.setdefault("verbose", 0)
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), recorder]
        with watch_mod.collecting(watch):
            done = trial_mod.run(tuner, hp, args, kwargs, hooks, objective_known, prebuilt)
        result.fitted = True
        result.checkpoint = bool(done.checkpoint)
        result.objective, result.direction, result.score = done.objective, done.direction, watch_mod.finite(done.score)
        result.offered = list(done.offered)
        judge_fit(result, settings.reference_loss)
        if built and needs_reference(result) and saw_part_of_an_epoch(result, len(batch_ends)):
            # its loss grew over a few of the search's batches: a spike the rest of them pass, or a divergence?
            fits = len(watch.fits)
            follow_grown_loss(
                result,
                functools.partial(tuner.hypermodel.fit, hp, built[0]),
                args,
                kwargs,
                time.perf_counter() - started,
                settings.reference_loss,
            )
            del watch.fits[fits:]  # the probe's own fit, not the trial's
            judge_fit(result, settings.reference_loss)
    except _OverBudget as exc:  # predicted: the fit did not start
        result.outcome = outcomes.OOM
        result.predicted = True
        result.message = str(exc)
    except Exception as exc:  # every failure of the user's code is a result
        _fail(result, exc)
        result.phase, result.failed_callback = trial_mod.failed_in(exc, hooks.phase, watch.callback)
    except BaseException as exc:  # sys.exit(), KeyboardInterrupt or another class KerasTuner does not catch
        if not outcomes.raised_by_the_build(exc):  # a real Ctrl-C or SIGTERM: stop the run
            raise
        _fail(result, exc)
        result.phase, result.failed_callback = trial_mod.failed_in(exc, hooks.phase, watch.callback)
    finally:
        result.warnings, result.fits = watch.warnings, watch.fits
        result.seconds = round(time.perf_counter() - started - result.confirmation_seconds, 3)
        result.steps = len(batch_ends)  # a timeout's too: what its batches cost
        result.step_seconds, result.epoch_seconds = step_costs(batch_ends)
    return result


def step_costs(batch_ends: list[tuple[int, float]]) -> tuple[float | None, float | None]:
    """The seconds of a training batch (the median gap between two batches of one epoch) and of an epoch beyond
    its batches (the median gap across an epoch's end, less a batch); None where no such gap was seen."""
    import statistics

    pairs = list(itertools.pairwise(batch_ends))
    within = [b - a for (ea, a), (eb, b) in pairs if ea == eb]
    across = [b - a for (ea, a), (eb, b) in pairs if ea != eb]
    if not within:
        return None, None
    step = statistics.median(within)
    epoch = max(statistics.median(across) - step, 0.0) if across else None
    return round(step, 6), None if epoch is None else round(epoch, 6)


class _OverBudget(BaseException):
    """The model would need more memory to train at the batch size ``fit`` was given than the budget allows (a
    BaseException: a ``HyperModel.fit`` that catches Exception around ``model.fit`` must not swallow it)."""


def _check_memory_at_fit(model: Any, result: Result, budget: tuple[int, str | None], values: Mapping[str, Any]) -> None:
    """Estimate the training memory when ``model.fit`` is called, at the ``batch_size`` it receives (the search's,
    or one ``HyperModel.fit`` tunes), not at a batch the probe assumes; over the budget, the fit does not start.
    The probe's few synthesized samples would hide a large batch's memory: the estimate does not."""
    original = model.fit

    def fit(*args: Any, **kwargs: Any) -> Any:
        batch = kwargs.get("batch_size") or 32  # Keras's default
        memory = estimate_memory(model, batch)
        result.memory_bytes = memory
        if memory > budget[0]:
            tuned = [name for name, value in values.items() if "batch" in name.lower() and value == batch]
            source = f" (the hyperparameter {tuned[0]})" if tuned else ""
            where = f" ({budget[1]}; --hypermodel-memory-budget sets another)" if budget[1] else ""
            raise _OverBudget(
                f"estimated {memory / 2**20:.1f} MiB to train at batch_size {batch}{source}, over the "
                f"memory budget of {budget[0] / 2**20:.1f} MiB{where}"
            )
        return original(*args, **kwargs)

    model.fit = fit


def search_objective(objective: tuple[tuple[str, str | None], ...]) -> Any:
    """KerasTuner's objective for ``(name, direction)`` pairs: a direction left out is inferred as KerasTuner
    infers it (``min`` for an unknown name), several make a MultiObjective."""
    import keras_tuner as kt
    from keras_tuner.src.engine import metrics_tracking

    goals = [
        kt.Objective(name, direction or metrics_tracking.infer_metric_direction(name) or "min")
        for name, direction in objective
    ]
    if len(goals) == 1:
        return goals[0]
    from keras_tuner.src.engine.objective import MultiObjective

    return MultiObjective(goals)


def _returned_by(hypermodel: Any, tuner: Any) -> tuple[str, str]:
    """What returns the trial's result to KerasTuner, and where it is written when it is the user's: the tuner's
    own ``run_trial``, else the hypermodel's own ``fit``; ``("", "")`` for KerasTuner's (``model.fit``'s History)."""
    import inspect

    import keras_tuner as kt

    for owner, base, name in ((tuner, kt.Tuner, "run_trial"), (hypermodel, kt.HyperModel, "fit")):
        method = getattr(type(owner), name, None)
        if method is None or method is getattr(base, name, None) or type(owner).__module__.startswith("keras_tuner"):
            continue
        try:
            where = f"{inspect.getsourcefile(method)}:{inspect.getsourcelines(method)[1]}"
        except (OSError, TypeError):
            where = ""
        return f"{type(owner).__name__}.{name}", where
    return "", ""


def _log_names(results: Any) -> list[str]:
    """The metric names in what ``fit()`` returned (a History's logs, a dict's keys)."""
    import keras

    if isinstance(results, keras.callbacks.History):
        return sorted(results.history)
    if isinstance(results, dict):
        return sorted(map(str, results))
    return []
