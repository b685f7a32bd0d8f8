"""Blame follows the evidence: a failure that happens whatever the hyperparameters' values is no value's.

When every case of a hypermodel fails alike (the same exception, the same message once its numbers and quoted
names are set aside), the defaults among them, or when only the cases after the first fail, all alike, the values
the cases moved are not what fails: the search's data, its arguments or the code is (a generator the first fit
used up, labels past the outputs, a bug in the build). Then no hyperparameter is blamed: no culprit, no boundary,
no repair; the hints, the forecast and the refinement ask here. Plain logic over the cases' records, no Keras.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_hypermodel.rules import outcomes, record

#: Every case failed alike, the defaults included.
EVERY_CASE = "every_case"
#: The first case passed, and every later one failed alike: what fails is left behind by a fit, not a value.
AFTER_THE_FIRST = "after_the_first"

#: What a failure that no value causes is, and where to look, as the hints say it.
OWNERS = "the search's data, its arguments and the code"

#: How a case's hint starts when a data finding made before the cases explains its failure (``hints``).
DATA_HINT = "the search's data, not a hyperparameter"

#: Failures a value can cause deliberately or through its size: never taken for a value-free failure.
_VALUE_SHAPED = {outcomes.OOM, outcomes.TIMEOUT, outcomes.MEMORY_GROWTH, outcomes.CRASH}
_FAILED_TRIAL = "FailedTrialError"

#: How search data that can be iterated once is fixed: something Keras iterates afresh each fit.
USED_UP_FIX = (
    "pass something each trial can iterate afresh: arrays, a tf.data.Dataset, a keras.utils.PyDataset, or, from "
    "the hypermodel_data fixture, a function (model, values) -> data that makes the generator for each trial"
)

#: The hints (``hints.hint``) that blame a value, a combination or the defaults: what a value-free failure replaces.
#: A likely fix that names the user's code after the build where the trial failed (``hints.trial_place``): it
#: stays, since it names the place.
_PLACED = (", not in the build", "as the defaults already do, in ")
_VALUE_BLAMING = (
    " can be ",
    "fails alone",
    "fails: fix the build for it",
    "the combination of ",
    "constrain ",
    "the default values already fail",
    "fails as the defaults",
    "the defaults fail in fit on the search's data",
)

#: Keras's words for data that a fit found empty (a generator an earlier fit used up).
USED_UP_MARKERS = ("empty generator", "ran out of data")


@dataclass(frozen=True)
class ValueFreeFailure:
    """A failure that no hyperparameter's value explains: its pattern, the failure, and how many cases had it."""

    pattern: str
    #: ``ValueError: ...`` as the first failing case said it.
    failure: str
    failed: int
    cases: int

    def evidence(self) -> str:
        """``all 4 cases fail alike, the defaults among them`` or ``the first case passes and the 3 after it...``."""
        if self.pattern == EVERY_CASE:
            if self.cases == 1:
                return "its only case, the defaults, fails"
            return f"all {self.cases} cases fail alike, the defaults among them"
        if self.failed == 1:
            return "the first case passes and the one after it fails"
        return f"the first case passes and the {self.failed} after it all fail alike"

    def owner(self) -> str:
        """Whose failure it is, as far as the evidence goes."""
        if self.pattern == AFTER_THE_FIRST or any(m in self.failure for m in USED_UP_MARKERS):
            return (
                "what an earlier fit leaves behind (search data that can be iterated once, used up by the first "
                "trial, or state the code keeps between trials)"
            )
        return OWNERS

    def text(self, failure: bool = True) -> str:
        """One sentence for a hint or a forecast: no hyperparameter is to blame, and whose failure it is
        (``failure``: with the failure itself, for a reader who has not seen the cases)."""
        said = f" ({_short(self.failure)})" if failure else ""
        return (
            f"{self.evidence()}{said}, whatever the values: no hyperparameter is to blame; look at {self.owner()}, "
            "where the traceback points, not at the search space"
        )


def _short(text: str, most: int = 160) -> str:
    return text if len(text) <= most else text[: most - 3].rstrip() + "..."


def shape(text: str) -> str:
    """A failure's message with its numbers and quoted names set aside: the same failure at other values."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'?'", text)
    text = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "#", text)
    return re.sub(r"\s+", " ", text).strip()


def failure_of(case: record.CaseRecord) -> str | None:
    """``ValueError: ...``: what a case's record says failed (its message's part after the values), or None for a
    case that passed or failed in a way a value can cause (out of memory, past its time, FailedTrialError)."""
    if case.disposition == "completed" or not case.exception or case.exception == _FAILED_TRIAL:
        return None
    if case.outcome in _VALUE_SHAPED:
        return None
    what = case.message.partition(" -> ")[2] or case.exception
    # The failure itself, before what KerasTuner does with it (the policy's sentence) and the hint.
    return re.split(r"\. (?=KerasTuner |Likely fix: )", what, maxsplit=1)[0]


def value_free(cases: Sequence[record.CaseRecord]) -> ValueFreeFailure | None:
    """The failure of one hypermodel's cases (in the order run: the defaults first) that happens whatever the
    values, if there is one: every case alike (two at least), or every case after a first that passed (three at
    least)."""
    if not cases:
        return None
    failures = [failure_of(c) for c in cases]
    if all(failures):  # with at least two values tried: one case is no evidence of "whatever the values"
        if len(cases) < 2:
            return None
        shapes = {shape(f or "") for f in failures}
        if len(shapes) == 1 and cases[0].kind == "default":
            return ValueFreeFailure(EVERY_CASE, failures[0] or "", len(cases), len(cases))
        return None
    first, later = failures[0], failures[1:]
    passed = cases[0].disposition == "completed"
    if first is None and passed and len(later) >= 2 and all(later) and len({shape(f or "") for f in later}) == 1:
        return ValueFreeFailure(AFTER_THE_FIRST, later[0] or "", len(later), len(cases))
    return None


def by_spec(cases: Sequence[record.CaseRecord], spec: str) -> ValueFreeFailure | None:
    """:func:`value_free` of the cases of ``spec`` among ``cases`` (a case whose build downloads left out)."""
    return value_free([c for c in cases if c.spec == spec and not c.download])


def restate(entries: list[dict[str, Any]]) -> None:
    """Each hypermodel's failing cases, when their failure is value-free, told so in their message: a likely fix
    that blamed a value or the defaults (written as each case ended, before the others were known) becomes
    :meth:`ValueFreeFailure.text`; a fix that named the cause (the objective, the data's shape, the fit's return)
    stays."""
    cases = record.records(entries)
    for spec in dict.fromkeys(c.spec for c in cases):
        found = by_spec(cases, spec)
        if found is None:
            continue
        for entry, case in zip(entries, cases):
            told, _, fix = case.message.partition(" Likely fix: ")
            if (
                case.spec == spec
                and failure_of(case)
                and any(m in fix for m in _VALUE_BLAMING)
                and not any(m in fix for m in _PLACED)
            ):
                entry[record.MESSAGE] = f"{told} Likely fix: {found.text(failure=False)}."
