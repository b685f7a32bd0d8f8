"""The forecast of a tuner whose trials come in random order: a probability of aborting, held to the accepted risk.

Shared by ``driven`` (KerasTuner's oracle driven over its seeds) and ``independent`` (trials taken as
independent): each estimates an ``AbortRisk``; here the tuner's constructor is checked first (that KerasTuner can
make the tuner here at all, then that it can build the defaults), and the estimate
becomes the record, with what to do when it is over the accepted risk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pytest_hypermodel.rules import abort_rules, evidence
from pytest_hypermodel.rules.forecasts.judging import culprits_text
from pytest_hypermodel.rules.forecasts.protocol import Probed, RandomOrderForecast
from pytest_hypermodel.rules.hints import DOWNLOAD_FIX
from pytest_hypermodel.rules.policy import COMPLETED
from pytest_hypermodel.space.words import plural

#: ``max_trials`` when the tuner's is not given: KerasTuner's default.
DEFAULT_MAX_TRIALS = 10


@dataclass(frozen=True)
class AbortRisk:
    """How likely the search aborts within its trials, as one forecast estimated it."""

    probability: float
    #: Share of the trials (or cases) that end FAILED, and that stop the search.
    failure_rate: float
    fatal_rate: float
    #: The estimate, in a sentence: ``"RandomSearch would abort within 10 trials with probability 3% (...)"``.
    message: str
    #: The verdict alone, without how it was computed: ``"RandomSearch would abort within 10 trials: 3% ±2%"``.
    headline: str = ""


def trials(probed: Probed) -> int:
    """The trials the search runs: its ``max_trials``, else KerasTuner's default."""
    return probed.max_trials or DEFAULT_MAX_TRIALS


def forecast(probed: Probed, estimate: Callable[[Probed], AbortRisk]) -> RandomOrderForecast:
    """The record of a random-order tuner: a constructor that cannot build the defaults, else ``estimate``'s risk
    against the accepted one."""
    if probed.cannot_start:
        return _cannot_start(probed)
    if probed.space.default_error:
        return _default_build(probed)
    value_free = evidence.value_free(probed.cases)
    if value_free is not None:
        return _record(probed, _value_free_risk(probed, value_free))
    return _record(probed, estimate(probed))


def _value_free_risk(probed: Probed, failure: evidence.ValueFreeFailure) -> AbortRisk:
    """A failure whatever the values: every trial fails (or every one after the first), whichever values the tuner
    draws, so the search aborts as soon as its consecutive failures reach the policy's limit, if its trials do."""
    total, limit = trials(probed), probed.policy.max_consecutive_failed_trials
    first = 1 if failure.pattern == evidence.AFTER_THE_FIRST else 0
    fatal = any(c.disposition == "fatal" for c in probed.cases)
    aborts = fatal or total - first >= limit
    at = first + (1 if fatal else limit)
    message = (
        f"{probed.tuner} would abort after {at} of its {plural(total, 'trial')}: {failure.evidence()}, "
        "whatever the values"
        if aborts
        else f"{probed.tuner} would not abort within {plural(total, 'trial')}, but its trials fail whatever the values"
    )
    failing = (total - first) / total if total else 1.0
    return AbortRisk(1.0 if aborts else 0.0, failing, 1.0 if fatal else 0.0, message)


def _cannot_start(probed: Probed) -> RandomOrderForecast:
    """KerasTuner cannot make the tuner here (its oracle's constructor raises ImportError for a missing optional
    dependency): the search fails where it is made, before any trial, whatever the space."""
    raised, _, text = probed.cannot_start.partition(": ")
    message = (
        f"{probed.tuner} cannot start here, whatever the space: KerasTuner raises {raised} where the tuner is "
        f"made, before its first trial ({text.strip().rstrip('.')}): install what it names in the search's "
        "environment, or choose another tuner"
    )
    return _before_any_trial(probed, abort_rules.REASON_CANNOT_START, message)


def _default_build(probed: Probed) -> RandomOrderForecast:
    """Every tuner's constructor builds the defaults outside any try block: the search crashes before trial 0."""
    message = (
        f"{probed.tuner} would crash before its first trial: building the defaults raises "
        f"{probed.space.default_error}; fix the defaults"
    )
    return _before_any_trial(probed, abort_rules.REASON_DEFAULT_BUILD, message)


def _before_any_trial(probed: Probed, reason: str, message: str) -> RandomOrderForecast:
    """A search that stops before its first trial, whatever the space: it aborts, and that fails the run."""
    return RandomOrderForecast(
        spec=probed.spec,
        tuner=probed.tuner,
        max_trials=trials(probed),
        aborts=True,
        reason=reason,
        message=message,
        fails_run=True,
    )


def _record(probed: Probed, risk: AbortRisk) -> RandomOrderForecast:
    over = risk.probability > probed.max_abort_risk
    message, headline = risk.message, risk.headline or risk.message
    if over:
        fix = _fix(probed, risk)
        message += f"; over the accepted risk of {probed.max_abort_risk:.0%}: {fix}"
        headline += f", over the accepted {probed.max_abort_risk:.0%}; {fix}"
    elif risk.probability > 0:  # a risk within the accepted one: the verdict still says what would lower it
        headline += f"; {_fix(probed, risk)}"
    if probed.downloads:
        left_out = (
            f" ({plural(len(probed.downloads), 'case')} left out: their build downloads "
            f"{probed.downloads[0].download}: {DOWNLOAD_FIX})"
        )
        message, headline = message + left_out, headline + left_out
    screen = probed.screen
    return RandomOrderForecast(
        spec=probed.spec,
        tuner=probed.tuner,
        max_trials=trials(probed),
        aborts=over,
        abort_probability=risk.probability,
        failure_rate=risk.failure_rate,
        fatal_rate=risk.fatal_rate,
        message=message,
        headline=headline,
        fails_run=over,
        screen=screen.to_dict() if screen is not None and screen.results else None,
    )


def _fix(probed: Probed, risk: AbortRisk) -> str:
    """What to do about a risk over the accepted one: what to constrain, the objective to log, the defaults."""
    cases = probed.cases
    objective = next((c.objective_fix for c in cases if c.objective_fix), None)
    value_free = evidence.value_free(cases)
    if value_free is not None and objective is None:  # no value is to blame: nothing to constrain, no limit to raise
        return value_free.text()
    failing = culprits_text(cases, probed.space)
    if failing and objective is None:
        fix = f"constrain {failing}"
    elif objective is not None:
        fix = "make each trial's fit log the objective: " + objective
    elif any(c.kind == "default" and c.disposition != COMPLETED for c in cases):
        fix = "fix the build function or its defaults: the defaults already fail"
    else:
        fix = "fix the failing cases"
    if risk.fatal_rate:
        # FatalError, or a SystemExit / KeyboardInterrupt that KerasTuner does not catch.
        stoppers = sorted({c.exception or "FatalError" for c in cases if c.disposition == "fatal"})
        fix += (
            f" (a {' or '.join(stoppers)} stops the search at the first trial that raises it, whatever "
            "max_consecutive_failed_trials is)"
        )
    else:
        fix += f", or raise max_consecutive_failed_trials above {probed.policy.max_consecutive_failed_trials}"
    return fix
