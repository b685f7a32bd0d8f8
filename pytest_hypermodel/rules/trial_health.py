"""Health checks on what a case's trial did besides passing: the warnings it raised that say it does not do what
was asked, the callbacks that read a key its logs lack, a score KerasTuner records that is not the objective, and a
dict of metrics returned with no objective naming one of them.

Read from the cases' records (``record.TRIAL_WARNINGS``, ``record.TRIAL_LOGS``, which the probe fills while the
trial runs: ``probe.watch``); plain rules, no Keras. Each finding names the first case that showed it; a check
reports a thing once per hypermodel, in the plan's order, so a run finds the same findings each time.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_hypermodel.rules.health import Finding
from pytest_hypermodel.rules.record import CaseRecord


@dataclass(frozen=True)
class TrialWarning:
    """A warning Keras raises that means the trial does not do what was asked: how its message starts, what it
    means for the trial, and the fix."""

    marker: str
    means: str
    fix: str


#: The warnings of ``keras/src`` (trainers, optimizers, layers) whose trial runs, and is scored, without doing
#: part of what was asked. The monitors' own warnings (EarlyStopping's "conditioned on metric ... which is not
#: available") are ``log_key_missing``'s.
TRIAL_WARNINGS = (
    TrialWarning(
        "Your input ran out of data",
        "the fit ran fewer steps than asked: the data ran out before steps_per_epoch * epochs batches, so the "
        "trial trains and is scored on less than the search asks",
        "repeat the dataset (dataset.repeat()), or ask for no more steps_per_epoch * epochs than it holds",
    ),
    TrialWarning(
        "Gradients do not exist for variables",
        "variables of the model get no gradient from the loss, so the fit never trains them",
        "connect those variables to the loss, or make their layers non-trainable (trainable=False)",
    ),
    TrialWarning(
        "A layer's `trainable` state has changed since the model was compiled",
        "a layer's trainable flag was changed after compile(), and the fit trains as compiled",
        "set trainable before model.compile(), or compile again after changing it",
    ),
    TrialWarning(
        "Argument `decay` is no longer supported and will be ignored",
        "the optimizer ignores its decay argument, so a decay (or a hyperparameter setting it) changes nothing",
        "pass a keras.optimizers.schedules.LearningRateSchedule (ExponentialDecay, InverseTimeDecay) as the "
        "learning_rate",
    ),
    TrialWarning(
        "will therefore destroy the mask information",
        "a layer that does not support masking drops the mask it is given, so the layers after it train on the "
        "padding as data",
        "put only mask-supporting layers between the mask (mask_zero=True, Masking) and its use, or drop the mask",
    ),
)

#: Keras's warning at the end of a dataset before the steps asked (and at each epoch's end of one of unknown length).
RAN_OUT = TRIAL_WARNINGS[0]

#: What a callback that finds no value under its ``monitor`` does instead (Keras warns each epoch and goes on).
_NEVER = {
    "EarlyStopping": "it never stops a trial early, so every trial runs all its epochs",
    "ReduceLROnPlateau": "it never lowers the learning rate",
    "ModelCheckpoint": "it cannot tell the best epoch (save_best_only keeps nothing new)",
}


#: The counter Keras appends to a layer's or model's name (``dense_3``): no part of what a warning says.
_NUMBERED = re.compile(r"_\d+\b")


def collected_warnings(records: Iterable[CaseRecord]) -> list[dict[str, Any]]:
    """Each warning raised during the cases, once per hypermodel (by its message), with the first case that
    raised it and how many cases did: the JSON report's ``warnings``."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        for w in r.warnings:
            message = str(w.get("message", ""))
            key = (r.spec, _NUMBERED.sub("", message))  # "dense_3/kernel" in one case is "dense/kernel" in another
            if key in found:
                found[key]["cases"] += 1
                continue
            found[key] = {
                "spec": r.spec,
                "message": message,
                "category": str(w.get("category", "")),
                "location": str(w.get("location", "")),
                "case": r.id,
                "cases": 1,
            }
    return list(found.values())


def findings(records: Iterable[CaseRecord]) -> list[Finding]:
    """The ``warning_in_trial``, ``log_key_missing``, ``score_not_objective`` and ``objective_unnamed`` findings
    of the cases, each once per hypermodel, with the first case that showed it."""
    out: list[Finding] = []
    seen: set[tuple[str, ...]] = set()

    def add(key: tuple[str, ...], finding: Finding) -> None:
        if key not in seen:
            seen.add(key)
            out.append(finding)

    for r in records:
        for w in r.warnings:
            meaning = _meaning(str(w.get("message", "")))
            if meaning is RAN_OUT and _no_steps_asked(r):
                continue  # a dataset of unknown length, read whole: Keras warns at each epoch's end regardless
            if meaning is not None:
                add((r.spec, "warning", meaning.marker), _warning_finding(r, w, meaning))
        for fit in _fits(r):
            history = fit.get("history") or {}
            if not isinstance(history, Mapping) or not history:  # the fit raised: its failure is the case's
                continue
            for monitor in fit.get("monitors") or []:
                callback, key = str(monitor[0]), str(monitor[1])
                if key in history or (key.startswith("val_") and r.trial.get("synthesized")):
                    continue  # the probe's own data has no validation split the search may have
                add((r.spec, "monitor", callback, key), _monitor_finding(r, callback, key, sorted(history)))
        score = _score_finding(r)
        if score is not None:
            add((r.spec, "score", r.trial.get("objective", "")), score)
        offered = r.trial.get("offered")
        if isinstance(offered, list) and offered:
            add((r.spec, "offered"), _unnamed_finding(r, [str(key) for key in offered]))
    return out


def _fits(r: CaseRecord) -> list[Mapping[str, Any]]:
    fits = r.trial.get("fits")
    return [f for f in fits if isinstance(f, Mapping)] if isinstance(fits, list) else []


def _no_steps_asked(r: CaseRecord) -> bool:
    """Whether every fit of the case is known to have run without ``steps_per_epoch``: then "ran out of data"
    says only that Keras met the end of a dataset whose length it did not know, which is how each epoch ends."""
    fits = _fits(r)
    return bool(fits) and all(f.get("steps") is False for f in fits)


def _meaning(message: str) -> TrialWarning | None:
    return next((t for t in TRIAL_WARNINGS if t.marker in message), None)


def _location(text: Any) -> tuple[str, int] | None:
    """``(file, line)`` from ``file:line``; None when there is none."""
    file, _, line = str(text or "").rpartition(":")
    return (file, int(line)) if file and line.isdigit() else None


def _first_line(message: str, most: int = 160) -> str:
    line = message.strip().splitlines()[0] if message.strip() else ""
    return line if len(line) <= most else line[: most - 3] + "..."


def _warning_finding(r: CaseRecord, warning: Mapping[str, Any], meaning: TrialWarning) -> Finding:
    message = f'{meaning.means} (Keras warned "{_first_line(str(warning.get("message", "")))}" in case {r.id})'
    return Finding("warning_in_trial", r.spec, message, meaning.fix, _location(warning.get("location")), r.id)


def _monitor_finding(r: CaseRecord, callback: str, key: str, keys: Sequence[str]) -> Finding:
    never = _NEVER.get(callback, "it never acts on it")
    message = (
        f"{callback}(monitor={key!r}) reads {key} from the fit's logs at each epoch's end, and the logs of case "
        f"{r.id} have no {key} ({', '.join(keys)}): {never}; Keras only warns"
    )
    close = closest(key, keys)
    if key.startswith("val_") and not any(k.startswith("val_") for k in keys):
        fix = "pass validation data to the search (validation_data=, validation_split=)"
        fix += f", or monitor {close[0]!r}" if close else ""
    elif close:
        fix = f"monitor={close[0]!r} (the logged key closest to {key!r})"
    else:
        fix = f"monitor a key the fit logs ({', '.join(keys)}), or compile the metric {key!r} names"
    return Finding("log_key_missing", r.spec, message, fix, None, r.id)


#: Keras's long and short names of one metric: a monitor names one, the logs hold the other.
_ALIASES = {
    "mean_absolute_error": "mae",
    "mean_squared_error": "mse",
    "mean_absolute_percentage_error": "mape",
    "mean_squared_logarithmic_error": "msle",
    "acc": "accuracy",
}


def closest(key: str, keys: Sequence[str]) -> list[str]:
    """The logged key ``key`` most likely meant (``val_acc`` -> ``val_accuracy``): an alias, else the closest."""
    prefix = "val_" if key.startswith("val_") else ""
    bare = key[len(prefix) :]
    for long, short in _ALIASES.items():
        other = short if bare == long else long if bare == short else None
        if other is not None and prefix + other in keys:
            return [prefix + other]
    return difflib.get_close_matches(key, keys, n=1, cutoff=0.6)


def _close(a: float, b: float | None) -> bool:
    return b is not None and math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)


def _score_finding(r: CaseRecord) -> Finding | None:
    """KerasTuner's recorded value of the objective against the objective's value in the fit's logs: when the
    trial returned a number or a dict (not the History, which KerasTuner reads the objective from) and its one
    ``model.fit`` logged the objective, the recorded value must be one of the logged values."""
    trial = r.trial
    objective, score, returned = str(trial.get("objective") or ""), trial.get("score"), str(trial.get("returned"))
    fits = _fits(r)
    if not objective or not isinstance(score, (int, float)) or returned in ("", "History", "list") or len(fits) != 1:
        return None
    history = fits[0].get("history") or {}
    logged = history.get(objective) if isinstance(history, Mapping) else None
    if not isinstance(logged, list) or not logged or any(_close(score, v) for v in logged):
        return None
    other = next(
        (
            k
            for k, values in history.items()
            if k != objective and isinstance(values, list) and values and any(_close(score, v) for v in values)
        ),
        None,
    )
    which = f", the logs' {other}" if other else ""
    by = str(trial.get("returned_by") or "the trial")
    direction = str(trial.get("direction") or "")
    values = ", ".join(f"{v:.4g}" if isinstance(v, (int, float)) else "nan" for v in logged)
    message = (
        f"KerasTuner recorded {score:.6g} as the trial's {objective} in case {r.id} "
        f"({by} returned a {returned}{which}), while its fit logged {objective} {values} per epoch: the search "
        f"ranks the trials by {direction or 'the'} {objective} on a value that is not {objective}"
    )
    fix = (
        f"return model.fit's History from {by} (KerasTuner reads {objective} from it), or a dict whose "
        f"{objective!r} is the logged value; if the number is what to rank by, name it as the objective "
        "(objective=keras_tuner.Objective(NAME, DIRECTION))"
    )
    return Finding("score_not_objective", r.spec, message, fix, _location(trial.get("returned_at")), r.id)


def _unnamed_finding(r: CaseRecord, offered: Sequence[str]) -> Finding:
    """No objective named (no tuner's, no ``--hypermodel-objective``), and the trial returned a dict without the
    stand-in objective: which of its keys the search ranks by is the user's choice, not the preflight's."""
    by = str(r.trial.get("returned_by") or "the trial")
    keys = ", ".join(offered)
    message = (
        f"{by} returns a dict ({keys}) in case {r.id}, and no objective is named: KerasTuner ranks the trials by "
        "the objective the tuner names, which must be one of these keys (a tuner with none stops the search at its "
        "first trial, FatalTypeError), so the preflight checked the cases without one"
    )
    name = offered[0]
    fix = (
        f"name the search's objective: --hypermodel-objective {name} (ini hypermodel_objective, "
        f"preflight(objective={name!r})), as the tuner does: objective=keras_tuner.Objective({name!r}, DIRECTION)"
    )
    return Finding("objective_unnamed", r.spec, message, fix, _location(r.trial.get("returned_at")), r.id)
