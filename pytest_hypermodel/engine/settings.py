"""Every setting of a preflight, read once and checked, from wherever the user gave it.

The pytest plugin reads them from the command line and the ini file, the Python API from keyword arguments; both
go through :func:`read`, so a setting has one default, one check and one error message. Plain Python: a bad value
is a :class:`SettingError` naming the setting as the user wrote it, which each face turns into its own usage error.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pytest_hypermodel.engine.defaults import DEFAULTS, ISOLATION_MODES
from pytest_hypermodel.probe.fit import FitSettings, parse_input_shapes
from pytest_hypermodel.probe.prepare import TUNERS, PlanOptions
from pytest_hypermodel.rules import health
from pytest_hypermodel.rules import policy as policy_mod
from pytest_hypermodel.space import plan as plan_mod

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "kib": 2**10,
    "m": 10**6,
    "mb": 10**6,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gib": 2**30,
    "t": 10**12,
    "tb": 10**12,
    "tib": 2**40,
}


class SettingError(ValueError):
    """A setting the user gave has a value that cannot be used; the message names it and the fix."""


class Source(Protocol):
    """Where settings come from: the value given explicitly (None when not), else the configured default."""

    def given(self, name: str) -> Any: ...

    def configured(self, name: str) -> Any: ...

    def where(self, name: str) -> str: ...


@dataclass
class MappingSource:
    """Settings from keyword arguments (the Python API), over the defaults; named as the ini keys are."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def given(self, name: str) -> Any:
        return self.values.get(name)

    def configured(self, name: str) -> Any:
        return DEFAULTS.get(name)

    def where(self, name: str) -> str:
        return name.removeprefix("hypermodel_")


def value(source: Source, name: str) -> Any:
    given = source.given(name)
    return source.configured(name) if given is None else given


def int_setting(source: Source, name: str, minimum: int) -> int | None:
    text = value(source, name)
    if text in ("", None):
        return None
    try:
        number = int(text)
    except (TypeError, ValueError):
        raise SettingError(f"{source.where(name)} = {text!r}: expected an integer") from None
    if number < minimum:
        raise SettingError(f"{source.where(name)} = {number}: must be at least {minimum}")
    return number


def float_setting(
    source: Source, name: str, low: float, high: float, what: str, above_low: bool = False
) -> float | None:
    """A finite number within [low, high], or (low, high] with ``above_low``; ``what`` says what is expected."""
    text = value(source, name)
    if text in ("", None):
        return None
    try:
        number = float(text)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number > high or number < low or (above_low and number == low):
        raise SettingError(f"{source.where(name)} = {text!r}: expected {what}")
    return number


def parse_size(text: str) -> int:
    """``"512MiB"`` -> bytes; a bare number is bytes."""
    match = _SIZE.match(text)
    if not match or (match.group(2) or "").lower() not in _UNITS:
        raise SettingError(f"memory budget {text!r}: use a size like 512MiB, 2GB or 1073741824")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


def max_abort_risk(source: Source) -> float:
    """The abort probability above which a random-order search's forecast fails the run."""
    risk = float_setting(source, "hypermodel_max_abort_risk", 0, 1, "a probability from 0 to 1, e.g. 0.5")
    return 0.5 if risk is None else risk


def probe_settings(source: Source) -> FitSettings:
    """Each case's short fit: epochs, samples, input shapes."""
    texts = value(source, "hypermodel_input_shape") or []
    try:
        shapes = parse_input_shapes(list(texts))
    except ValueError as exc:
        raise SettingError(f"{source.where('hypermodel_input_shape')} {exc}") from None
    growth = str(value(source, "hypermodel_memory_growth") or "0")
    try:
        max_growth = parse_size(growth)
    except SettingError:
        raise SettingError(
            f"{source.where('hypermodel_memory_growth')} = {growth!r}: use a size like 4MiB, or 0 to turn the check off"
        ) from None
    return FitSettings(
        epochs=int_setting(source, "hypermodel_epochs", 1) or 3,
        samples=int_setting(source, "hypermodel_samples", 1) or 32,
        input_shapes=shapes,
        objective=objective(source),
        max_growth=max_growth,
    )


def objective(source: Source) -> tuple[tuple[str, str | None], ...]:
    """The search's objective: ``val_accuracy``, ``val_auc:max``, or a comma list of them (a multi-objective);
    empty when not given (then its presence in the logs is not checked)."""
    text = value(source, "hypermodel_objective")
    if text in ("", None):
        return ()
    found = []
    for part in str(text).split(","):
        name, _, direction = part.strip().partition(":")
        if not name or direction not in ("", "min", "max"):
            raise SettingError(
                f"{source.where('hypermodel_objective')} {text}: give the tuner's objective as NAME "
                "or NAME:min / NAME:max (val_accuracy, val_auc:max), or a comma list of them"
            )
        found.append((name, direction or None))
    return tuple(found)


def isolation(source: Source) -> str:
    """Where the user's code runs: the isolation given, else ``case`` for isolate, else the configured one.

    Isolate and an isolation other than ``case`` at the same level (both given, or both configured) contradict
    each other: a SettingError, never a silent choice (``off`` would let an abort end the run). The command line
    overrides the ini file, as for every setting.
    """
    for level in (source.given, source.configured):
        mode, isolate = level("hypermodel_isolation"), level("hypermodel_isolate")
        if mode and isolate and mode != "case":
            raise SettingError(
                f"{source.where('hypermodel_isolate')} and {source.where('hypermodel_isolation')} = {mode!r} "
                "contradict each other (isolate means case): give one of them"
            )
    mode = source.given("hypermodel_isolation")
    if mode is None and source.given("hypermodel_isolate"):
        return "case"
    if mode is None:
        mode = source.configured("hypermodel_isolation") or (
            "case" if source.configured("hypermodel_isolate") else "process"
        )
    if mode not in ISOLATION_MODES:
        raise SettingError(
            f"{source.where('hypermodel_isolation')} = {mode!r}: use process (one probe process, the default), "
            "case (a fresh process per case) or off (in the pytest process)"
        )
    return str(mode)  # one of ISOLATION_MODES


def boundaries_seconds(source: Source) -> float | None:
    """The safety cap on the boundaries' wall clock, per hypermodel; None: ``boundaries.safety_cap``."""
    return float_setting(
        source, "hypermodel_boundaries_seconds", 0, math.inf, "seconds, more than 0, e.g. 60", above_low=True
    )


def on_off(source: Source, name: str) -> bool:
    """A switch: ``on``/``off`` as the option and the ini write it, or a bool as the API gives it."""
    text: object = value(source, name)
    if text is True or text is False:
        return text
    if text not in ("on", "off"):
        raise SettingError(f"{source.where(name)} = {text!r}: use on or off")
    return text == "on"


def boundaries(source: Source) -> bool:
    return on_off(source, "hypermodel_boundaries")


def rehearsal(source: Source) -> bool:
    return on_off(source, "hypermodel_rehearsal")


def policy(source: Source) -> policy_mod.Policy:
    """The policy the settings describe (``hypermodel_on`` lines map failures to actions)."""
    on = {}
    for line in value(source, "hypermodel_on") or []:
        name, sep, action = (part.strip() for part in line.partition("="))
        if not sep or not name.isidentifier() or action not in policy_mod.ACTIONS:
            raise SettingError(
                f"hypermodel_on line {line!r}: write NAME=ACTION, NAME an exception class or an outcome "
                f"(nan, diverged, oom, timeout, crash), ACTION one of {', '.join(policy_mod.ACTIONS)}"
            )
        on[name] = action
    budget = value(source, "hypermodel_memory_budget")
    timeout = float_setting(source, "hypermodel_timeout", 0, math.inf, "seconds, more than 0, e.g. 300", above_low=True)
    memory_budget = parse_size(str(budget)) if budget else None
    if memory_budget == 0:
        raise SettingError(
            f"{source.where('hypermodel_memory_budget')} = {budget!r}: use a size more than 0, e.g. 2GiB"
        )
    return policy_mod.Policy(
        timeout=timeout,
        max_retries_per_trial=int_setting(source, "hypermodel_max_retries_per_trial", 0) or 0,
        max_consecutive_failed_trials=int_setting(source, "hypermodel_max_consecutive_failed_trials", 1) or 3,
        max_model_size=int_setting(source, "hypermodel_max_model_size", 1),
        memory_budget=memory_budget,
        on=on,
    )


def project(source: Source) -> str | None:
    """KerasTuner's ``directory/project_name`` (``DIR/NAME``), relative to the working directory as KerasTuner
    takes it; only read (its ``oracle.json``), never written."""
    text = value(source, "hypermodel_project")
    if text in ("", None):
        return None
    path = Path(os.path.expanduser(str(text)))
    if path.exists() and not path.is_dir():
        raise SettingError(
            f"{source.where('hypermodel_project')} {text}: that is a file; give the tuner's "
            "directory/project_name (DIR/NAME)"
        )
    return str(path)


def plan_options(source: Source, input_shapes: Any = None) -> PlanOptions:
    """What to plan: strategies, covering strength, levels, the cap, and the tuner whose trials are planned."""
    try:
        strategies = plan_mod.parse_strategies(value(source, "hypermodel_strategy"))
    except plan_mod.PlanError as exc:
        raise SettingError(f"{source.where('hypermodel_strategy')}: {exc}") from None
    tuner = value(source, "hypermodel_tuner")
    if tuner not in TUNERS:
        raise SettingError(f"{source.where('hypermodel_tuner')} {tuner}: use one of {', '.join(TUNERS)}")
    levels = int_setting(source, "hypermodel_levels", 2)
    if levels not in (None, 2, 3):
        raise SettingError(
            f"{source.where('hypermodel_levels')} = {levels}: use 2 (the extremes) or 3 (with the default)"
        )
    return PlanOptions(
        strategies,
        strength=int_setting(source, "hypermodel_strength", 1),
        levels=levels or 2,
        max_cases=int_setting(source, "hypermodel_max_cases", 1),
        tuner=tuner,
        max_trials=int_setting(source, "hypermodel_max_trials", 1),
        input_shapes=input_shapes,
    )


@dataclass(frozen=True)
class Settings:
    """What one preflight runs with: the plan, each case's fit, the policy, and what is done after the cases."""

    plan: PlanOptions = field(default_factory=PlanOptions)
    probe: FitSettings = field(default_factory=FitSettings)
    policy: policy_mod.Policy = field(default_factory=policy_mod.Policy)
    max_abort_risk: float = 0.5
    isolation: str = "process"
    boundaries: bool = True
    #: The boundaries' wall-clock safety cap; None: ``boundaries.safety_cap``.
    boundaries_seconds: float | None = None
    #: KerasTuner's ``directory/project_name`` the search will use, whose oracle must hold this space (None: none).
    project: str | None = None
    #: Whether cases that passed alone are run again one after another through KerasTuner's search (``rehearse``).
    rehearsal: bool = True
    #: The health checks whose findings do not fail the run (``health.CHECKS`` names).
    suppress_health_check: frozenset[str] = frozenset()


def suppress_health_check(source: Source) -> frozenset[str]:
    """The suppressed health checks: names, repeated or comma-joined (the option, the ini's lines, the API's list);
    a name that is no check's is a SettingError, since it would suppress nothing."""
    given = value(source, "hypermodel_suppress_health_check") or []
    texts = [given] if isinstance(given, str) else list(given)
    try:
        return health.check_names(name for text in texts for name in str(text).split(","))
    except health.UnknownHealthCheck as exc:
        raise SettingError(f"{source.where('hypermodel_suppress_health_check')}: {exc}") from None


def read(source: Source) -> Settings:
    """Every setting, read once: a bad value is one SettingError before anything runs."""
    probe = probe_settings(source)
    return Settings(
        plan=plan_options(source, probe.input_shapes),
        probe=probe,
        policy=policy(source),
        max_abort_risk=max_abort_risk(source),
        isolation=isolation(source),
        boundaries=boundaries(source),
        boundaries_seconds=boundaries_seconds(source),
        project=project(source),
        rehearsal=rehearsal(source),
        suppress_health_check=suppress_health_check(source),
    )


def check_output(path: str, where: str) -> None:
    """A file the run will write: refused at start-up, with the fix, when it cannot be written there."""
    target = Path(path)
    if target.is_dir():
        raise SettingError(f"{where} {path}: that is a directory; give a file path, e.g. {target / 'preflight'}")
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise SettingError(
            f"{where} {path}: {parent} is a file, so nothing can be written under it; choose another path"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SettingError(f"{where} {path}: {parent} is not writable; choose another path")


def check_outputs(source: Source) -> None:
    """Every file the preflight writes, checked in one place before anything runs; never overwrite a file that is
    not a preflight report (it is someone else's)."""
    for name in ("hypermodel_report", "hypermodel_html"):
        path = value(source, name)
        if path:
            check_output(str(path), source.where(name))
    path = value(source, "hypermodel_report")
    if not path or not Path(path).exists():
        return
    try:
        ours = {"version", "cases"} <= set(json.loads(Path(path).read_text()))
    except (OSError, ValueError, TypeError):
        ours = False
    if not ours:
        raise SettingError(
            f"{source.where('hypermodel_report')} {path}: that path holds something that is not a "
            "preflight report; choose another path or remove it"
        )


def shape_texts(shape: Any) -> list[str]:
    """``(28, 28)``, ``[(28, 28), (4,)]`` or ``{"image": (32, 32, 3)}`` as the option's texts."""
    if isinstance(shape, Mapping):
        return [f"{name}={','.join(map(str, dims))}" for name, dims in shape.items()]
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(d, int) for d in shape):
        return [",".join(map(str, shape))]
    return [",".join(map(str, dims)) for dims in shape]
