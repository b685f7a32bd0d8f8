"""What KerasTuner does with a probed case, under a retry policy.

KerasTuner's rules (keras_tuner/src/engine/base_tuner.py, oracle.py):
FatalError stops the search; FailedTrialError fails the trial without retry;
any other exception makes the trial INVALID, retried up to
``max_retries_per_trial`` times, then FAILED; a NaN objective is INVALID too.
The plugin adds a mapping from exception classes and outcomes to one of
these three treatments, which the gated search applies for real.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_hypermodel.rules import outcomes

# The policy's actions, exported from here ("X as X": mypy's explicit re-export).
from pytest_hypermodel.rules.outcomes import ACTIONS as ACTIONS
from pytest_hypermodel.rules.outcomes import FAIL_TRIAL as FAIL_TRIAL
from pytest_hypermodel.rules.outcomes import FATAL as FATAL
from pytest_hypermodel.rules.outcomes import RETRY as RETRY

COMPLETED = "completed"
FAILED = "failed"
RETRIED_THEN_FAILED = "retried_then_failed"
STOPS_SEARCH = "fatal"


@dataclass(frozen=True)
class Disposition:
    """KerasTuner's treatment of one case: its final status and how many runs it costs."""

    name: str
    runs: int
    #: The failure is one the user declared (FailedTrialError or a policy mapping).
    declared: bool = False
    #: What stops the search, for STOPS_SEARCH: KerasTuner's FatalError, or an exception it never catches.
    stopped_by: str = "FatalError"
    #: COMPLETED only after as long as it takes: the case ran past the preflight's time limit, and KerasTuner has
    #: none (neither has the gated search): the trial is no failure to it, only time spent.
    waits: bool = False


@dataclass(frozen=True)
class Policy:
    """KerasTuner's failure arguments, plus how the plugin treats each failure.

    ``on`` maps an exception class name (matched along its bases) or an
    outcome name (``nan``, ``diverged``, ``oom``, ``timeout``, ``crash``) to
    ``"fail_trial"``, ``"retry"`` or ``"fatal"``.
    """

    max_retries_per_trial: int = 0
    max_consecutive_failed_trials: int = 3
    max_model_size: int | None = None
    memory_budget: int | None = None
    timeout: float | None = None
    on: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, action in self.on.items():
            if action not in ACTIONS:
                raise ValueError(f"Policy.on[{key!r}] is {action!r}: use one of {', '.join(ACTIONS)}")
        if self.max_retries_per_trial < 0 or self.max_consecutive_failed_trials < 1:
            raise ValueError("Policy needs max_retries_per_trial >= 0 and max_consecutive_failed_trials >= 1")
        for name in ("timeout", "memory_budget", "max_model_size"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"Policy.{name} is {value!r}: use a number more than 0, or None for no limit")
        for key in self.on:
            if not isinstance(key, str) or not key.isidentifier():
                raise ValueError(f"Policy.on key {key!r}: name an exception class or an outcome (nan, oom, ...)")

    def to_dict(self) -> dict[str, Any]:
        """Plain builtins, for reports and fingerprints."""
        return {
            "max_retries_per_trial": self.max_retries_per_trial,
            "max_consecutive_failed_trials": self.max_consecutive_failed_trials,
            "max_model_size": self.max_model_size,
            "memory_budget": self.memory_budget,
            "timeout": self.timeout,
            "on": dict(sorted(self.on.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        return cls(**{**data, "on": dict(data.get("on", {}))})

    def action_for(self, outcome: str, exception_bases: tuple[str, ...] = ()) -> str | None:
        """The user's mapping for this failure, most specific class first."""
        for name in exception_bases:
            if name in self.on:
                return self.on[name]
        return self.on.get(outcome)

    def tuner(self, tuner_class: Any, hypermodel: Any, **kwargs: Any) -> Any:
        """A KerasTuner tuner that runs the search under this policy.

        ``tuner_class(hypermodel=..., **kwargs)`` with this policy's
        ``max_retries_per_trial``, ``max_consecutive_failed_trials`` and
        ``max_model_size``, and the hypermodel wrapped so that its exceptions
        become FailedTrialError or FatalError as ``on`` says (see
        ``pytest_hypermodel.rules.policy_hypermodel``, imported here so this module stays free
        of Keras).
        """
        from pytest_hypermodel.rules import policy_hypermodel

        return policy_hypermodel.make_tuner(self, tuner_class, hypermodel, **kwargs)

    def disposition(self, result: outcomes.Probed) -> Disposition:
        """What KerasTuner would do with this probe result under this policy."""
        outcome = result.outcome
        if outcome == outcomes.OK or outcome in outcomes.COMPLETED_USELESS:
            # A diverging loss is finite, a missing checkpoint is noticed after the search: KerasTuner completes
            # the trial, uselessly.
            return Disposition(COMPLETED, 1)
        if outcome == outcomes.NAN and _objective_finite(result.losses):
            # KerasTuner keeps the best epoch: a finite loss before the NaN completes it.
            return Disposition(COMPLETED, 1)
        if outcome == outcomes.TIMEOUT and outcomes.TIMEOUT not in self.on:
            return Disposition(COMPLETED, 1, waits=True)
        escaped = set(result.exception_bases or ()) & set(outcomes.UNCAUGHT)
        if escaped:  # KerasTuner catches Exception only: SystemExit, KeyboardInterrupt or any BaseException ends it
            return Disposition(STOPS_SEARCH, 1, stopped_by=result.exception or escaped.pop())
        action = self.action_for(outcome, tuple(result.exception_bases))
        if outcome == outcomes.FATAL or action == FATAL:
            return Disposition(STOPS_SEARCH, 1, declared=action == FATAL)
        if outcome == outcomes.FAILED_TRIAL or action == FAIL_TRIAL:
            return Disposition(FAILED, 1, declared=True)
        runs = 1 + self.max_retries_per_trial
        return Disposition(RETRIED_THEN_FAILED if runs > 1 else FAILED, runs)

    def describe(self, disposition: Disposition) -> str:
        """One sentence on what KerasTuner does with a case."""
        limit = self.max_consecutive_failed_trials
        if disposition.waits:
            return (
                "KerasTuner sets no time limit on a trial: the search would wait for this one to end, however "
                "long it takes, and not count it as a failure."
            )
        if disposition.name == COMPLETED:
            return "KerasTuner would complete this trial."
        if disposition.name == STOPS_SEARCH:
            if disposition.stopped_by != "FatalError":
                return (
                    f"KerasTuner catches only Exception: this {disposition.stopped_by} would end the whole "
                    "search process here."
                )
            return "KerasTuner would stop the whole search here (FatalError)."
        if disposition.name == RETRIED_THEN_FAILED:
            return (
                f"KerasTuner would run this trial {disposition.runs} times "
                f"({self.max_retries_per_trial} retries in vain), then mark it FAILED; "
                f"{limit} FAILED trials in a row abort the search."
            )
        how = "without retrying" if disposition.declared else "after one run"
        return f"KerasTuner would mark this trial FAILED {how}; {limit} FAILED trials in a row abort the search."


def _objective_finite(losses: Sequence[float]) -> bool:
    """Whether KerasTuner's objective for these epoch losses is a number.

    KerasTuner starts from epoch 0 and moves only to a strictly better epoch
    (tuner_utils.py, objective.py): a NaN first epoch stays the objective (the
    trial is INVALID), a NaN after a finite epoch does not, and ``inf`` is a
    number to it.
    """
    return bool(losses) and not math.isnan(losses[0])
