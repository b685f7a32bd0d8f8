"""Which hyperparameters change nothing: what a built model is, as a comparable fingerprint, and the judging of
discovery's builds by it.

A hyperparameter is spent by KerasTuner on every trial whatever it changes: one whose values give the same model
(its layers' configuration, its compile settings and, where builds are deterministic, its initial weights) and
that the HyperModel's own ``fit()`` never reads is searched for nothing. Discovery already builds each value of
each hyperparameter with the others held (``discovery._discover``); each build leaves a fingerprint here, and
:func:`unused` compares the builds that differ in one hyperparameter only.

Runs where the user's code runs (the probe process).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: The values of each weight that the fingerprint hashes (a seed changes them all; a big model stays cheap).
WEIGHT_VALUES = 64


@dataclass(frozen=True)
class Fingerprint:
    """What a build made, comparable across builds: its configuration (layer names replaced by their order, as
    Keras numbers them per build) with its compile settings, and its initial weights' first values."""

    config: str
    weights: str | None


@dataclass(frozen=True)
class Build:
    """One discovery build: the values of the names it read, and what it made (None: it failed, or its model runs
    code of its own that no configuration shows)."""

    values: Mapping[str, Any]
    fingerprint: Fingerprint | None


def fingerprint(model: Any, runs_code_of_its_own: bool) -> Fingerprint | None:
    """The model's fingerprint; None for what a configuration cannot tell apart: not a Keras model, or one that runs
    code of its own (``discovery.runs_code_of_its_own``: a subclass's ``call``, a ``Lambda``, a custom layer) whose
    hyperparameters need not show."""
    import keras

    if not isinstance(model, keras.Model) or runs_code_of_its_own:
        return None
    try:
        config: Any = model.get_config()
        compiled = model.get_compile_config() if getattr(model, "compiled", False) else None
    except Exception:  # a configuration Keras cannot write: nothing to compare
        return None
    names = {layer.name: f"layer{i}" for i, layer in enumerate(model._flatten_layers(include_self=True))}
    text = json.dumps(_renamed({"model": config, "compile": compiled}, names), sort_keys=True, default=repr)
    return Fingerprint(text, _weights_digest(model))


#: Keras numbers the names it makes up (``adam_3``, ``auc_1``) per process: not a difference between two builds.
_NUMBERED = re.compile(r"_\d+$")


def _renamed(value: Any, names: Mapping[str, str]) -> Any:
    """``value`` with every string that is a layer's name replaced by its place (``dense_3`` and ``dense_7`` are the
    same layer of two builds), and other made-up names without their number."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, Mapping):
        return {
            k: _NUMBERED.sub("", v) if k == "name" and isinstance(v, str) and v not in names else _renamed(v, names)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_renamed(v, names) for v in value]
    return value


def _weights_digest(model: Any) -> str | None:
    import numpy as np

    digest = hashlib.sha256()
    try:
        for weight in model.weights:
            values = np.asarray(weight.numpy()).ravel()[:WEIGHT_VALUES]
            digest.update(str(tuple(weight.shape)).encode())
            digest.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    except Exception:
        return None
    return digest.hexdigest()


@dataclass(frozen=True)
class Unused:
    """A hyperparameter whose values built the same model: its name, and the values compared."""

    name: str
    values: tuple[Any, ...]


def unused(
    names: Sequence[str],
    builds: Iterable[Build],
    fit_reads: Iterable[str],
    rebuild: Callable[[Mapping[str, Any]], Fingerprint | None] | None = None,
) -> list[Unused]:
    """The names whose values made the same model wherever builds differ in that name alone, and that ``fit()``
    never reads. A name with no such pair of builds (it changes what else is read: structural), one whose build
    failed at some value, or one whose model no fingerprint tells, is used as far as anyone can say.

    Weights: when two builds differ in weights only, ``rebuild(values)`` builds the first again; the same values
    giving other weights means initialization is random anyway (the name is unused), the same weights that the
    name moved them (a seed: used)."""
    found: list[Unused] = []
    read_in_fit = set(fit_reads)
    kept = list(builds)
    deterministic: dict[str, bool] = {}
    for name in names:
        if name in read_in_fit:
            continue
        groups: dict[str, list[Build]] = {}
        for build in kept:
            if name in build.values:
                rest = {k: v for k, v in build.values.items() if k != name}
                groups.setdefault(json.dumps(rest, sort_keys=True, default=repr), []).append(build)
        compared: list[Any] = []
        verdict = True
        for group in groups.values():
            distinct = {json.dumps(b.values[name], default=repr): b for b in group}
            if len(distinct) < 2:
                continue
            builds_by_value = list(distinct.values())
            if any(b.fingerprint is None for b in builds_by_value):
                verdict = False
                break
            first = builds_by_value[0]
            for other in builds_by_value[1:]:
                if not _same(first, other, deterministic, rebuild):
                    verdict = False
                    break
            if not verdict:
                break
            compared.extend(b.values[name] for b in builds_by_value if b.values[name] not in compared)
        if verdict and len(compared) > 1:
            found.append(Unused(name, tuple(compared)))
    return found


def _same(
    first: Build,
    other: Build,
    deterministic: dict[str, bool],
    rebuild: Callable[[Mapping[str, Any]], Fingerprint | None] | None,
) -> bool:
    assert first.fingerprint is not None and other.fingerprint is not None
    if first.fingerprint.config != other.fingerprint.config:
        return False
    if first.fingerprint.weights == other.fingerprint.weights:
        return True
    if first.fingerprint.weights is None or other.fingerprint.weights is None:
        return True  # no weights to compare: the configuration says
    key = first.fingerprint.config
    if key not in deterministic:
        again = rebuild(first.values) if rebuild is not None else None
        # Unknown (no rebuild, or it failed): count the weights as moved by the name, no finding.
        deterministic[key] = again is None or again.weights == first.fingerprint.weights
    return not deterministic[key]
