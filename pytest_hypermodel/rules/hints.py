"""What a reader of a failed case is told: the paragraph of what went wrong, and the likely fix.

A fix is phrased as an edit to the search space or the build function. The objective-missing hint's change is
also a case's own property (``objective_fix``), which the forecast repeats, so it is made here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_hypermodel.rules import culprits, evidence, offline, outcomes
from pytest_hypermodel.rules.policy import Disposition, Policy
from pytest_hypermodel.space.plan import Case, format_value

if TYPE_CHECKING:
    from pytest_hypermodel.probe.fit import Result
    from pytest_hypermodel.rules.health import Finding
    from pytest_hypermodel.space.hyperparameters import SearchSpace

#: What to do about a build that downloads (weights, a dataset): a preflight never does.
DOWNLOAD_FIX = "pass weights=None in the build, or provide the file locally (nothing is downloaded during a preflight)"


#: What keeps memory from one trial to the next (as reported on KerasTuner's tracker:
#: https://github.com/keras-team/keras-tuner/issues/395, https://github.com/keras-team/keras-tuner/issues/873),
#: and how to stop it.
MEMORY_GROWTH_FIX = (
    "drop what outlives a trial: a module-level list or dict the build appends each model (or its "
    "data) to, a callback that keeps references to the models or their outputs in a global or a "
    "class attribute, or a loop of your own around builds and fits that never calls "
    "keras.backend.clear_session()"
)

#: How an objective-missing hint starts.
OBJECTIVE_MISSING = "KerasTuner's objective"


def _values_text(case: Case) -> str:
    """The values a case moved (``defaults: ...`` for the default case), as its paragraph starts."""
    shown = case.varied or tuple(case.values)
    text = ", ".join(f"{name}={format_value(case.values[name])}" for name in shown)
    return ("defaults: " if not case.varied else "") + (text or "no hyperparameters")


#: The data checks whose findings make a trial raise (``probe.search_data``): a case that raises while one of them
#: stands is the data's, not a value's.
RAISING_DATA_CHECKS = ("data_used_up", "data_arguments", "labels_outside_outputs")


def hint(
    case: Case,
    result: Result,
    space: SearchSpace,
    explained: Sequence[Case] | None = None,
    findings: Sequence[Finding] = (),
) -> str:
    """The likely fix, phrased as an edit to the search space or the build function.

    ``explained``: for a case that moved several values, the failing cases whose values are a proper subset of its
    own (see ``culprits``); empty when every such case passes, None when they are not known (then no value is
    blamed alone, nor the combination). ``findings``: the health findings on the hypermodel's search data, made
    before the cases: a case that raises while one stands is blamed on the data, with the finding's fix.
    """
    if result.outcome == outcomes.MEMORY_GROWTH:
        return MEMORY_GROWTH_FIX
    if result.outcome == outcomes.NO_CHECKPOINT:
        return (
            "pass the callbacks HyperModel.fit receives on to model.fit (model.fit(*args, **kwargs), or "
            "callbacks=kwargs['callbacks']): the tuner's checkpoint callback is among them"
        )
    if result.exception == "FatalValueError" and "deep-copyable" in (result.message or ""):
        return (
            "make every callback passed to the search deep-copyable (copy.deepcopy): build it from plain "
            "values, not from open files, locks or models"
        )
    if result.exception == "FatalTypeError" and "objective` is left unspecified" in (result.message or ""):
        return (
            'give the tuner an objective its fit logs (objective="val_loss", or a keras_tuner.Objective): '
            "without one, KerasTuner accepts only a float from fit(), and stops at the end of the first trial"
        )
    if result.exception == "FatalTypeError" and "HyperModel.fit" in (result.message or ""):
        return (
            "make HyperModel.fit return what model.fit returns (its History), a dict of metrics holding the "
            "objective, or a float"
        )
    if result.exception == "FatalTypeError":
        return "make the build function return the compiled keras.Model"
    if result.exception == "DataError":
        return "override the hypermodel_data fixture in conftest.py to supply (x, y)"
    download = offline.attempted_download(f"{result.message or ''} {result.traceback or ''}")
    if download is not None:  # the harness's problem, not the value's
        return f"the build downloads {download}: {DOWNLOAD_FIX}"
    missing = objective_hint(result)
    if missing:  # the search's setup, not a value: every case that fits says so
        return missing
    if result.outcome == outcomes.TIMEOUT:  # time, not a failure to KerasTuner: no value is to blame as failing
        return _timeout_hint(case, space)
    data_hint = _data_hint(result, findings)
    if data_hint:
        return data_hint
    default_failure = space.default_error or space.default_fit_error
    same_as_default = bool(default_failure and result.message and default_failure.rstrip(".").endswith(result.message))
    if _data_mismatch(result) and (not case.varied or same_as_default):  # the data, not a value
        return (
            f"the data ({result.data}) does not fit the model's input: give it the shape the model's first "
            "layer expects (its keras.Input), or the model the data's; no hyperparameter is to blame"
        )
    place = trial_place(result) if result.outcome not in (outcomes.OOM, outcomes.CRASH) else ""
    fix = f"fix {place}" if "'s " not in place else "fix the arguments it is given (what it raised says which)"
    if place and not case.varied:  # the user's code the trial runs after the build
        return f"the default values already fail in {place}, not in the build: {fix}"
    if place and same_as_default:
        return f"it fails as the defaults already do, in {place}: {fix} first"
    user_data = bool(getattr(result, "data", ""))
    if not case.varied and user_data and result.built and not space.default_error:
        return (
            f"the defaults fail in fit on the search's data ({result.data}), before any other value is tried: look "
            f"at {evidence.OWNERS} where the traceback points; the other cases say whether a value is to blame"
        )
    if same_as_default and user_data:
        return f"it fails as the defaults do, whatever the values: {evidence.OWNERS}, not a hyperparameter"
    if not case.varied:
        if space.default_error:
            return (
                "the default values already fail: fix the build function or the defaults "
                "(KerasTuner builds them before the first trial)"
            )
        return "the default values already fail: fix the build function or the defaults"
    if same_as_default:
        return "it fails as the defaults already do: fix the defaults first"
    if len(case.varied) == 1:
        return _value_hint(case.varied[0], case, result, space)
    names = ", ".join(case.varied)
    if explained:  # values (or smaller combinations) that fail without the rest of this case are the culprits
        return _explained_hint(case, explained, space)
    if explained is None:
        return (
            f"one of {names} fails alone, or their combination does: the preflight's culprits (the forecast, "
            "the HTML report) say which"
        )
    # A value that exists only under another one's (filters_3 under conv_blocks=4) is not its partner: unnamed.
    moved = {name: case.values[name] for name in case.varied}
    names = ", ".join(culprits.attributed(moved, culprits.requires_of(space)))
    return f"the combination of {names} fails: constrain them together, or raise FailedTrialError for it in the build"


def _timeout_hint(case: Case, space: SearchSpace) -> str:
    """A case past its time limit: when the defaults passed in time, the values it moved off them make it slow
    (``batch_size=1``), each with the edit that keeps it out; else the time limit to raise."""
    raise_limit = "raise --hypermodel-timeout if the time a trial takes{} is acceptable for the search"
    if not case.varied:
        return raise_limit.format("") + ", or narrow what makes it slow"
    values = ", ".join(f"{name}={format_value(case.values[name])}" for name in case.varied)
    if space.default_seconds is None:  # the defaults' time is not known here: the values are only where it ran
        return raise_limit.format(f" with {values}") + ", or narrow what makes it slow"
    edits = "; ".join(f"{name}: {_edit(name, case, space)}" for name in case.varied)
    slow = "makes" if len(case.varied) == 1 else "make"
    return (
        f"{values} {slow} a trial slow (the defaults passed in {space.default_seconds:.1f} s): {edits}, "
        "or " + raise_limit.format(f" with {values}")
    )


def trial_place(result: Result) -> str:
    """The user's code after the build where a case failed, named for its hint (``the callback
    Boom.on_epoch_end``, ``FitRaises.fit``, ``MyTuner.run_trial``); ``""`` for the build, KerasTuner's checks of
    the model or of the result (their own hints say what to change), and KerasTuner's own fit of the built model
    (what fails there is the model the build returned, or the data: an uncompiled model)."""
    phase, returned_by = getattr(result, "phase", ""), getattr(result, "returned_by", "")
    if phase == "callback":
        callback = getattr(result, "failed_callback", "") or "of the fit"
        return callback.replace("Keras's ", "Keras's callback ") if "'s " in callback else f"the callback {callback}"
    if phase == "fit" and returned_by.endswith(".fit"):
        return returned_by
    if phase in ("fit", "run_trial") and returned_by.endswith(".run_trial"):
        return returned_by
    return ""


def _data_hint(result: Result, findings: Sequence[Finding]) -> str | None:
    """The search's data as the cause of a case that raised: a data finding that makes trials raise, or Keras's
    words for data an earlier fit used up; None otherwise."""
    if not result.exception or result.exception == "FailedTrialError":
        return None
    raising = [f for f in findings if f.check in RAISING_DATA_CHECKS]
    if raising:
        return f"{evidence.DATA_HINT}: {raising[0].fix} ([{raising[0].check}], found before the cases)"
    if any(marker in (result.message or "") for marker in evidence.USED_UP_MARKERS):
        return (
            "the search's data ran out: an earlier fit used it up (a generator or an iterator can be iterated "
            f"once); no hyperparameter is to blame: {evidence.USED_UP_FIX}"
        )
    return None


#: What Keras says when the data fed to a model does not match its input (InputSpec, a loss's shapes).
_SHAPE_MISMATCH = ("is incompatible with the layer", "must have the same shape", "are incompatible")


def _data_mismatch(result: Result) -> bool:
    """A case fitted on the user's data that failed on a shape Keras checks between data and model."""
    return bool(getattr(result, "data", "")) and any(marker in (result.message or "") for marker in _SHAPE_MISMATCH)


@dataclass(frozen=True)
class ObjectiveMissing:
    """A fit whose logs lack the search's objective: the objective, the logs it has, and what to change."""

    name: str
    logs: tuple[str, ...]
    #: What to change: log the objective (or pass validation data), or give the tuner one the logs have.
    fix: str

    @property
    def text(self) -> str:
        """The hint, as a failing case's paragraph says it."""
        return f"{OBJECTIVE_MISSING} {self.name} is not among the fit's logs ({', '.join(self.logs)}): {self.fix}"


def objective_missing(result: Result) -> ObjectiveMissing | None:
    """For a fit whose logs lack the search's objective (KerasTuner's KeyError when it reads a History, the
    oracle's "Objective value missing" ValueError for other results): what the logs have and what to change."""
    logs = list(getattr(result, "logs", None) or [])
    message = result.message or ""
    if not logs:
        return None
    if result.exception == "KeyError" and message.strip("'\"") not in logs:
        name = message.strip("'\"")
    elif result.exception == "ValueError" and message.startswith("Objective value missing"):
        name = message.partition("expected: ")[2].partition(", found")[0] or "the objective"
    else:
        return None
    if "val_" in name and not any(log.startswith("val_") for log in logs):
        fix = "pass validation data to the search (validation_data=, or validation_split=)"
    else:
        fix = "compile the metric it names (metrics=[...]) and log it from fit()"
    fix += ", or give the tuner an objective the logs have (objective=; --hypermodel-objective here)"
    return ObjectiveMissing(name, tuple(logs), fix)


def objective_hint(result: Result) -> str | None:
    """The objective-missing hint's text (``objective_missing``), None for another fit."""
    missing = objective_missing(result)
    return missing.text if missing is not None else None


def objective_fix(
    case: Case, result: Result, space: SearchSpace, explained: Sequence[Case] | None = None
) -> str | None:
    """The change a failed case's likely fix asks for when that fix is the objective-missing one (what its
    paragraph, ``failure_message``, says after ``Likely fix:``); None when its fix is another."""
    missing = objective_missing(result)
    if missing is None or result.outcome == outcomes.FAILED_TRIAL:
        return None
    return missing.fix if hint(case, result, space, explained) == missing.text else None


def _explained_hint(case: Case, explained: Sequence[Case], space: SearchSpace) -> str:
    """The failing cases inside ``case``, said as the forecast says culprits: a value that fails alone, with its
    edit; combinations, as ``culprits.text`` phrases them."""
    singles = [c for c in explained if len(c.varied) == 1]
    parts = list(
        dict.fromkeys(
            f"{c.varied[0]}={format_value(c.values[c.varied[0]])} fails alone ({_edit(c.varied[0], c, space)})"
            for c in singles
        )
    )
    requires = culprits.requires_of(space)
    combos = [culprits.off_defaults(c.values, space) for c in explained if len(c.varied) > 1]
    if combos:
        parts.append(f"constrain {culprits.text(combos, culprits.space_order(space), requires)}")
    blamed = {name for c in explained for name in culprits.attributed(culprits.off_defaults(c.values, space), requires)}
    blamed |= {name for c in explained if len(c.varied) == 1 for name in c.varied}
    # A value that exists only under a blamed one's is neither its partner nor an innocent beside it: unsaid.
    innocent = [name for name in case.varied if name not in blamed and not set(requires.get(name, ())) & blamed]
    if innocent:
        parts[-1] += f" ({', '.join(innocent)} {'is' if len(innocent) == 1 else 'are'} not to blame)"
    return "; ".join(parts)


def _edit(name: str, case: Case, space: SearchSpace) -> str:
    """How to change the space so that ``case``'s value of ``name`` is no longer drawn."""
    param = space.by_name[name]
    value = case.values[name]
    if param.kind in ("int", "float"):
        return "raise min_value" if value == param.levels[0] and len(param.levels) > 1 else "lower max_value"
    if param.kind == "choice":
        return "remove it from the values"
    return "fix the build for it, or make it hp.Fixed"


def _value_hint(name: str, case: Case, result: Result, space: SearchSpace) -> str:
    """The fix for a case that moved one value: that value, the edit, and what else KerasTuner offers."""
    param = space.by_name[name]
    value = case.values[name]
    if param.kind in ("int", "float"):
        text = f"{name} can be {format_value(value)}: {_edit(name, case, space)}"
    elif param.kind == "choice":
        text = f"{name} can be {value!r}: {_edit(name, case, space)}"
    else:
        text = f"{name}={value} fails: {_edit(name, case, space)}"
    if result.outcome == outcomes.OOM and "batch" not in name.lower():  # a batch's memory is not the model's size
        text += ", or set max_model_size so KerasTuner skips oversized models"
    if param.note:
        text += f" (note: {param.note})"
    return text


def failure_message(
    case: Case,
    result: Result,
    disposition: Disposition,
    policy: Policy,
    space: SearchSpace,
    explained: Sequence[Case] | None = None,
    findings: Sequence[Finding] = (),
    built_when_created: bool = True,
) -> str:
    """One readable paragraph: values, what went wrong, what KerasTuner does, the fix (``explained``,
    ``findings``: see ``hint``). ``built_when_created`` False: the tuner's constructor does not build the defaults
    (AutoKeras's: its own search() builds them before its first trial)."""
    what = {
        outcomes.NAN: "the loss became NaN",
        outcomes.DIVERGED: "the loss diverged",
        outcomes.NO_CHECKPOINT: "no checkpoint",
        outcomes.MEMORY_GROWTH: "memory grows from trial to trial",
        outcomes.OOM: "out of memory" + (" (predicted)" if result.predicted else ""),
        outcomes.TIMEOUT: "the case ran past its time limit",
        outcomes.CRASH: "the process running the case died",
    }.get(result.outcome)
    if result.exception == "CaseTimeout":  # its message says it all
        what = result.message
    elif result.exception:
        what = f"{result.exception}: {result.message}" if not what else f"{what}: {result.exception}: {result.message}"
    elif result.message:
        what = f"{what} ({result.message})"
    if not case.varied and space.default_error and not result.built and not built_when_created:
        kerastuner = (
            "The tuner's own search() builds the defaults before its first trial, outside any trial: the search "
            "raises there, before any trial runs."
        )
    elif not case.varied and space.default_error and not result.built:
        # Every tuner's constructor builds the defaults outside any trial's try: no trial is ever marked.
        kerastuner = (
            "KerasTuner builds the defaults in the tuner's constructor, outside any trial: the tuner "
            "cannot be created, so the search never starts."
        )
    elif result.outcome == outcomes.MEMORY_GROWTH:
        kerastuner = (
            "KerasTuner would complete each trial, and its process would grow by as much after each, "
            "until the host runs out of memory and the search is killed, hours in."
        )
    else:
        kerastuner = policy.describe(disposition)
    text = f"{_values_text(case)} -> {what}. {kerastuner}"
    if result.outcome == outcomes.DIVERGED or (result.outcome == outcomes.NAN and disposition.name == "completed"):
        text += " Its score would be useless."
    if result.outcome != outcomes.FAILED_TRIAL:
        text += f" Likely fix: {hint(case, result, space, explained, findings)}."
    return text
