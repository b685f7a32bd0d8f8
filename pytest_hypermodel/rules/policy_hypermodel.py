"""The search under a policy: KerasTuner's tuner with the policy's arguments, and a hypermodel whose failures are
mapped to FailedTrialError or FatalError as the policy says.

What ``Policy.tuner`` and the gated ``search`` command build; imported only where a tuner is made (it imports
Keras and KerasTuner).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any, NoReturn

import keras
import keras_tuner as kt
from keras_tuner.src.engine.hypermodel import get_hypermodel

from pytest_hypermodel.rules import outcomes
from pytest_hypermodel.rules.outcomes import FAIL_TRIAL, FATAL

if TYPE_CHECKING:
    from pytest_hypermodel.rules.policy import Policy

#: The policy's fields that are KerasTuner tuner arguments.
TUNER_ARGUMENTS = ("max_retries_per_trial", "max_consecutive_failed_trials", "max_model_size")
#: Tuner arguments that belong to the oracle when a tuner is given an ``oracle`` instead.
ORACLE_ARGUMENTS = ("max_retries_per_trial", "max_consecutive_failed_trials")


def exception_bases(exc: BaseException) -> tuple[str, ...]:
    """Class names along the MRO, most specific first, as the probe records them."""
    return tuple(cls.__name__ for cls in type(exc).__mro__ if cls not in (object, BaseException, Exception))


def _is_keras_tuner_error(exc: BaseException) -> bool:
    return isinstance(exc, (kt.errors.FailedTrialError, kt.errors.FatalError))


class NaNObjective(keras.callbacks.Callback):  # type: ignore[misc]  # Keras ships no types: its classes are Any
    """Raises the policy's error for ``nan`` when the objective is NaN after the first epoch."""

    def __init__(self, action: str, names: tuple[str, ...]) -> None:
        super().__init__()
        self.action = action
        self.names = names
        self.seen = False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.seen:
            return
        self.seen = True
        logs = logs or {}
        name = next((n for n in self.names if n in logs), "loss")
        value = logs.get(name)
        try:
            is_nan = value is not None and math.isnan(float(value))
        except (TypeError, ValueError):
            is_nan = False
        if is_nan:
            error = kt.errors.FatalError if self.action == FATAL else kt.errors.FailedTrialError
            raise error(f"{name} is NaN after the first epoch; the policy maps nan to {self.action}")


class PolicyHyperModel(kt.HyperModel):  # type: ignore[misc]  # KerasTuner ships no types: its classes are Any
    """A hypermodel whose build() and fit() failures are mapped as the policy says.

    ``mapped`` counts the exceptions it turned into FailedTrialError or
    FatalError, by ``"ExceptionClass -> action"``.
    """

    def __init__(self, hypermodel: Any, policy: Policy, objective: Any = None) -> None:
        inner = get_hypermodel(hypermodel)
        if inner is None:
            raise ValueError("PolicyHyperModel needs a hypermodel: a build function fn(hp) or a keras_tuner.HyperModel")
        # tunable=True: the wrapped hypermodel's own build wrapper applies its `tunable`.
        super().__init__(name=getattr(inner, "name", None), tunable=True)
        self.hypermodel = inner
        self.policy = policy
        #: KerasTuner's objective, for the ``nan`` callback; make_tuner sets it from the oracle.
        self.objective = objective
        self.mapped: Counter[str] = Counter()

    def declare_hyperparameters(self, hp: Any) -> Any:
        return self.hypermodel.declare_hyperparameters(hp)

    def build(self, hp: Any) -> Any:
        try:
            return self.hypermodel.build(hp)
        except Exception as exc:
            self._reraise(exc, "build")

    def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
        action = self.policy.action_for(outcomes.NAN)
        if action in (FAIL_TRIAL, FATAL):
            kwargs["callbacks"] = [NaNObjective(action, self._objective_names()), *(kwargs.get("callbacks") or [])]
        try:
            return self.hypermodel.fit(hp, model, *args, **kwargs)
        except Exception as exc:
            self._reraise(exc, "fit")

    def _objective_names(self) -> tuple[str, ...]:
        objective = self.objective
        if objective is None:
            return ()
        if isinstance(objective, str):
            return (objective,)
        parts = getattr(objective, "objectives", None) or [objective]
        return tuple(getattr(part, "name", str(part)) for part in parts)

    def _reraise(self, exc: Exception, where: str) -> NoReturn:
        if _is_keras_tuner_error(exc):
            raise exc
        name = type(exc).__name__
        action = self.policy.action_for(outcomes.classify(exc), exception_bases(exc))
        if action not in (FAIL_TRIAL, FATAL):
            raise exc
        self.mapped[f"{name} -> {action}"] += 1
        error = kt.errors.FatalError if action == FATAL else kt.errors.FailedTrialError
        raise error(f"{name} in {where}: {exc} (the policy maps it to {action})") from exc


def make_tuner(policy: Policy, tuner_class: Any, hypermodel: Any, **kwargs: Any) -> Any:
    """``tuner_class(hypermodel=PolicyHyperModel(hypermodel, policy), **kwargs)`` with the policy's arguments.

    An explicit ``max_retries_per_trial``, ``max_consecutive_failed_trials`` or
    ``max_model_size`` that differs from the policy is a ValueError: set it on
    the Policy, so the preflight judges the space by the same numbers. With
    ``oracle=`` (a ``keras_tuner.Tuner`` subclass), the oracle's own retry
    arguments must already match the policy.
    """
    policy_values = {name: getattr(policy, name) for name in TUNER_ARGUMENTS}
    conflicts = [
        f"{name}={kwargs[name]!r} (the policy has {policy_values[name]!r})"
        for name in TUNER_ARGUMENTS
        if name in kwargs and kwargs[name] != policy_values[name]
    ]
    if conflicts:
        raise ValueError(
            f"{', '.join(conflicts)}: set these on the Policy, not on the tuner, so that the preflight "
            "and the search use the same values"
        )
    for name in TUNER_ARGUMENTS:
        kwargs.pop(name, None)
    arguments = dict(policy_values)
    if arguments["max_model_size"] is None:
        del arguments["max_model_size"]  # KerasTuner's default; a BaseTuner subclass does not take it
    oracle = kwargs.get("oracle")
    if oracle is not None:
        wrong = [
            f"oracle.{name}={getattr(oracle, name, None)!r} (the policy has {policy_values[name]!r})"
            for name in ORACLE_ARGUMENTS
            if getattr(oracle, name, None) != policy_values[name]
        ]
        if wrong:
            raise ValueError(f"{', '.join(wrong)}: build the oracle with the policy's values")
        for name in ORACLE_ARGUMENTS:
            arguments.pop(name)
    if not isinstance(hypermodel, PolicyHyperModel):
        hypermodel = PolicyHyperModel(hypermodel, policy)
    elif hypermodel.policy != policy:
        raise ValueError("the PolicyHyperModel was made with another policy: pass the plain hypermodel")
    tuner = tuner_class(hypermodel=hypermodel, **arguments, **kwargs)
    hypermodel.objective = tuner.oracle.objective
    return tuner
