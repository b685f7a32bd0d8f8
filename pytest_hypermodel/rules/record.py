"""A probed case as the rules and the engine read it back: one typed record, and the names of its properties.

A case leaves the process that judged it as a list of JUnit properties (``verdict.properties``): they travel on
pytest's reports from xdist workers, into the JUnit file, and, as an "entry" dict (``verdict.entry``), into the
JSON report and pytest's cache. Those are the wire formats, and stay dicts. What reads a case back (the time per
trial, the JSON report's summary) converts an entry once, with :meth:`CaseRecord.from_entry`, and reads fields.
An entry may come from an earlier run or a hand-edited report: a property absent or unreadable reads as empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The prefix of a hyperparameter's property: ``hp.<name>`` (the name escaped for XML; ``verdict.entry``).
HP_PREFIX = "hp."
#: Set by ``verdict.entry``, not properties: the test's id, its pytest outcome and the hyperparameters' values.
NODEID = "nodeid"
TEST_OUTCOME = "test_outcome"
VALUES = "values"
#: Where the case came from.
CASE_KIND = "case.kind"
CASE_ID = "case.id"
CASE_SPEC = "case.spec"
CASE_FINGERPRINT = "case.fingerprint"
CASE_POLICY = "case.policy"
CASE_OBJECTIVE = "case.objective"
#: What the probe saw, and what KerasTuner does with it.
OUTCOME = "outcome"
EXCEPTION = "exception"
DISPOSITION = "disposition"
RUNS = "runs"
PARAMS = "params"
MEMORY_BYTES = "memory_bytes"
MEMORY_BUDGET = "memory_budget"
SECONDS = "seconds"
BACKEND = "backend"
DEVICE = "device"
PREDICTED = "predicted"
LOSSES = "losses"
START_LOSS = "start_loss"
REFERENCE_LOSS = "reference_loss"
#: The losses of the epochs that followed a loss that grew, before it was judged (a spike that passed, or not).
CONFIRMATION_LOSSES = "confirmation_losses"
RSS_GROWTH_BYTES = "rss_growth_bytes"
#: What the time per trial is scaled by (``timing``).
STEP_SECONDS = "step_seconds"
EPOCH_SECONDS = "epoch_seconds"
SEARCH_EPOCHS = "search_epochs"
SEARCH_BATCHES = "search_batches"
STEPS = "steps"
EPOCHS = "epochs"
DOWNLOAD = "download"
MESSAGE = "message"
#: Where in the trial a failed case raised (``build``, ``model_checks``, ``run_trial``, ``fit``, ``callback``,
#: ``result``), and the callback's method when a callback did.
PHASE = "phase"
FAILED_CALLBACK = "failed_callback"
#: The warnings raised during the case's trial: JSON text of ``[{"message", "category", "location"}]``.
TRIAL_WARNINGS = "trial.warnings"
#: What the trial's fits logged and KerasTuner recorded (``rules.trial_health`` reads it): JSON text of
#: ``{"fits": [{"history", "monitors"}], "objective", "direction", "score", "returned", "returned_by",
#: "returned_at"}``.
TRIAL_LOGS = "trial.logs"
#: The change a failed case's likely fix asks for when the fit's logs lack the search's objective
#: (``hints.objective_fix``): the forecast repeats it.
OBJECTIVE_FIX = "objective_fix"


def number(value: Any) -> float | None:
    """A property read back: a number (an int when it was written as one), or None for an absent, empty or
    unreadable one."""
    if value in (None, ""):
        return None
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        return None
    return int(parsed) if parsed.is_integer() and "." not in str(value) else parsed


def _text(value: Any) -> str:
    """A property that names something: ``""`` when absent."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _json(value: Any, kind: type) -> Any:
    """A property written as JSON text (or already parsed): a ``kind`` (list or dict), empty when unreadable."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return kind()
    return value if isinstance(value, kind) else kind()


def _loss(value: Any) -> float | str | None:
    """A loss as ``verdict.properties`` writes it: a number, or ``"nan"``/``"inf"`` for a non-finite one."""
    return value if value in ("nan", "inf", "-inf") else number(value)


@dataclass(frozen=True)
class CaseRecord:
    """One probed case, read back from its entry (see the module's docstring)."""

    nodeid: str = ""
    #: pytest's word for it: ``passed``, ``xfailed``, ``failed``.
    test_outcome: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    kind: str = ""
    id: str = ""
    spec: str = ""
    fingerprint: str = ""
    #: The policy it was judged by, as JSON text (``Policy.to_dict``); ``""`` when not recorded.
    policy: str = ""
    objective: str = ""
    #: None when the entry has none (a test that ended before its case was judged).
    outcome: str | None = None
    exception: str = ""
    #: None when the entry has none, as ``outcome``.
    disposition: str | None = None
    runs: int = 0
    params: float | None = None
    memory_bytes: float | None = None
    memory_budget: float | None = None
    seconds: float = 0.0
    backend: str = ""
    device: str = ""
    predicted: bool = False
    losses: tuple[float | str | None, ...] = ()
    start_loss: float | str | None = None
    reference_loss: float | None = None
    rss_growth_bytes: float | None = None
    step_seconds: float | None = None
    epoch_seconds: float | None = None
    search_epochs: float | None = None
    search_batches: float | None = None
    steps: float | None = None
    epochs: float | None = None
    #: What the build tried to download (``offline.attempted_download``); ``""`` when nothing.
    download: str = ""
    #: The paragraph of a case that did not pass; ``""`` for one that did.
    message: str = ""
    phase: str = ""
    failed_callback: str = ""
    #: ``TRIAL_WARNINGS`` and ``TRIAL_LOGS`` read back (empty when absent or unreadable).
    warnings: tuple[Mapping[str, Any], ...] = ()
    trial: Mapping[str, Any] = field(default_factory=dict)
    #: What to change when its fit's logs lack the search's objective (``hints.objective_fix``); ``""`` otherwise.
    objective_fix: str = ""

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> CaseRecord:
        """The record of an entry (``verdict.entry``): the one place its dotted keys are read."""
        values = entry.get(VALUES)
        losses = entry.get(LOSSES)
        outcome, disposition = entry.get(OUTCOME), entry.get(DISPOSITION)
        return cls(
            nodeid=_text(entry.get(NODEID)),
            test_outcome=_text(entry.get(TEST_OUTCOME)),
            values=dict(values) if isinstance(values, Mapping) else {},
            kind=_text(entry.get(CASE_KIND)),
            id=_text(entry.get(CASE_ID)),
            spec=_text(entry.get(CASE_SPEC)),
            fingerprint=_text(entry.get(CASE_FINGERPRINT)),
            policy=_text(entry.get(CASE_POLICY)),
            objective=_text(entry.get(CASE_OBJECTIVE)),
            outcome=None if outcome is None else _text(outcome),
            exception=_text(entry.get(EXCEPTION)),
            disposition=None if disposition is None else _text(disposition),
            runs=int(number(entry.get(RUNS)) or 0),
            params=number(entry.get(PARAMS)),
            memory_bytes=number(entry.get(MEMORY_BYTES)),
            memory_budget=number(entry.get(MEMORY_BUDGET)),
            seconds=float(number(entry.get(SECONDS)) or 0.0),
            backend=_text(entry.get(BACKEND)),
            device=_text(entry.get(DEVICE)),
            predicted=bool(entry.get(PREDICTED)),
            losses=tuple(_loss(loss) for loss in losses) if isinstance(losses, (list, tuple)) else (),
            start_loss=_loss(entry.get(START_LOSS)),
            reference_loss=number(entry.get(REFERENCE_LOSS)),
            rss_growth_bytes=number(entry.get(RSS_GROWTH_BYTES)),
            step_seconds=number(entry.get(STEP_SECONDS)),
            epoch_seconds=number(entry.get(EPOCH_SECONDS)),
            search_epochs=number(entry.get(SEARCH_EPOCHS)),
            search_batches=number(entry.get(SEARCH_BATCHES)),
            steps=number(entry.get(STEPS)),
            epochs=number(entry.get(EPOCHS)),
            download=_text(entry.get(DOWNLOAD) or None),
            message=_text(entry.get(MESSAGE)),
            phase=_text(entry.get(PHASE)),
            failed_callback=_text(entry.get(FAILED_CALLBACK)),
            warnings=tuple(w for w in _json(entry.get(TRIAL_WARNINGS), list) if isinstance(w, Mapping)),
            trial=_json(entry.get(TRIAL_LOGS), dict),
            objective_fix=_text(entry.get(OBJECTIVE_FIX)),
        )


def records(entries: Iterable[Mapping[str, Any]]) -> list[CaseRecord]:
    """The records of a list of entries."""
    return [CaseRecord.from_entry(entry) for entry in entries]
