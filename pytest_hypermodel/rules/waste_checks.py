"""The waste checks' findings from what discovery saw and what the user named: plain rules, no Keras.

- ``hyperparameter_redeclared``: KerasTuner returns a name's first declaration on every later one, so the second
  range (type, step, sampling, values, default) is never searched.
- ``hyperparameter_unused``: every value built the same model and no fit() reads it; each trial spends a value of
  it for nothing, and trials that differ only in it are the same trial.
- ``objective_direction``: the objective's direction against its metric's own (accuracy, AUC, precision... are
  better higher; a loss or an error lower): KerasTuner keeps the worst trial as the best.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_hypermodel.rules.health import Finding
from pytest_hypermodel.space.hyperparameters import SearchSpace

#: Metrics that are better higher, by the name Keras logs them under (``val_`` and a number stripped).
MAXIMIZED = (
    "accuracy",
    "acc",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "auc",
    "prc",
    "precision",
    "recall",
    "true_positives",
    "true_negatives",
    "f1_score",
    "fbeta_score",
    "r2_score",
    "precision_at_recall",
    "recall_at_precision",
    "sensitivity_at_specificity",
    "specificity_at_sensitivity",
    "iou",
    "mean_iou",
    "binary_iou",
    "one_hot_iou",
    "one_hot_mean_iou",
)
#: Metrics that are better lower.
MINIMIZED = (
    "loss",
    "crossentropy",
    "ce",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "mse",
    "mae",
    "mape",
    "msle",
    "rmse",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "root_mean_squared_error",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "kl_divergence",
    "kld",
    "poisson",
    "log_cosh",
    "logcosh",
    "huber",
    "false_positives",
    "false_negatives",
)
_NUMBER = re.compile(r"_\d+$")


def metric_direction(name: str) -> str | None:
    """``"max"`` or ``"min"``: the direction a metric logged as ``name`` is better in (``val_auc_1``: max;
    ``output_a_loss``: min); None when its name does not say."""
    base = _NUMBER.sub("", name.lower())
    for prefix in ("val_", "weighted_"):
        base = base.removeprefix(prefix)
    known = [(n, "max") for n in MAXIMIZED] + [(n, "min") for n in MINIMIZED]
    for metric, direction in sorted(known, key=lambda pair: -len(pair[0])):  # false_positives before positives
        if base == metric or base.endswith("_" + metric):
            return direction
    return None


def objective_findings(
    spec: str,
    objectives: Sequence[tuple[str, str | None]],
    given_by: str,
    path: Path | None = None,
    as_setting: bool = False,
) -> list[Finding]:
    """An objective whose direction contradicts its metric's. ``given_by``: what named it (``the tuner's
    objective``); ``path``: the user's file where the objective is written, to point at its line; ``as_setting``:
    it was given as ``--hypermodel-objective NAME:DIRECTION`` (the fix says so)."""
    found = []
    for name, direction in objectives:
        natural = metric_direction(name)
        if direction is None or natural is None or direction == natural:
            continue
        better, worse = ("higher", "lowest") if natural == "max" else ("lower", "highest")
        found.append(
            Finding(
                "objective_direction",
                spec,
                f"{given_by} {'maximizes' if direction == 'max' else 'minimizes'} {name} ({direction!r}), which "
                f"is better {better}: KerasTuner ranks the trial with the {worse} {name} best, and "
                "best_models()/best_hyperparameters() return it",
                f'give {name}:{natural} (and the tuner keras_tuner.Objective("{name}", "{natural}"))'
                if as_setting
                else f'set the direction to "{natural}": keras_tuner.Objective("{name}", "{natural}")',
                _line_naming(path, name, direction),
            )
        )
    return found


def _line_naming(path: Path | None, name: str, direction: str) -> tuple[str, int] | None:
    """The first line of ``path`` that writes the objective's name quoted (with its direction, when one does)."""
    if path is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    quoted = (f'"{name}"', f"'{name}'")
    naming = [i for i, line in enumerate(lines, 1) if any(q in line for q in quoted)]
    with_direction = [i for i in naming if f'"{direction}"' in lines[i - 1] or f"'{direction}'" in lines[i - 1]]
    chosen = (with_direction or naming)[:1]
    return (str(path), chosen[0]) if chosen else None


def redeclared_findings(spec: str, space: SearchSpace) -> list[Finding]:
    """A name declared again with other arguments: the second declaration's range is never searched."""
    return [
        Finding(
            "hyperparameter_redeclared",
            spec,
            f"{name!r} is declared again as {call}, after {first} at {first_where}: KerasTuner returns the first "
            "declaration's value there, so the second range is never searched",
            "give the second declaration its own name, or declare the same arguments in both places",
            (path, line) if line else None,
        )
        for name, first, first_where, call, path, line in space.redeclarations
    ]


def unused_findings(spec: str, space: SearchSpace) -> list[Finding]:
    """A hyperparameter whose values build the same model and that no fit() reads."""
    found = []
    for name, values in space.unused:
        shown = ", ".join(map(_short, values))
        found.append(
            Finding(
                "hyperparameter_unused",
                spec,
                f"{name!r} changes nothing: its values {shown} built the same model (layers, compile settings, "
                "initial weights) and no fit() reads it, so KerasTuner spends trials on values that train alike",
                f"use {name!r} where it matters (a batch size goes to model.fit in a HyperModel's fit(hp, model, "
                "...)), or remove it",
                space.sites.get(name),
            )
        )
    return found


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 20 else text[:17] + "..."
