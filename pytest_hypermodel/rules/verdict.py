"""The judgement of a probed case: its verdict, and the JUnit properties that carry it (then its JSON entry).

Everything here works on plain builtins (properties travel from xdist workers on reports), so the controller
can aggregate without Keras. The properties' names are ``record``'s; what a failed case is told is ``hints``'s,
the time per trial ``timing``'s, and the JSON report's payload the engine's (``engine.payload``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from typing import Any

from pytest_hypermodel.rules import offline, outcomes, record
from pytest_hypermodel.rules.policy import Disposition, Policy
from pytest_hypermodel.space.plan import Case, printable, unprintable

PASS = "pass"
XFAIL = "xfail"
FAIL = "fail"


def fingerprint(kt_config: dict[str, Any], policy: Policy) -> str:
    """Identifies a search space and the policy it was judged by; the gated search checks it."""
    payload = json.dumps({"space": kt_config["space"], "policy": policy.to_dict()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def verdict(result: Any, disposition: Disposition) -> str:
    """Pass when KerasTuner completes it cleanly, xfail for a declared failure, else fail."""
    if result.outcome == outcomes.OK:
        return PASS
    if disposition.declared and disposition.name != "fatal":
        return XFAIL
    return FAIL


def properties(
    case: Case, result: Any, disposition: Disposition, spec: str = "", fingerprint: str = ""
) -> list[tuple[str, Any]]:
    """The JUnit properties of one case, named as DESIGN.md fixes them (plus where it came from); ``record``
    names them and reads them back."""
    # Names escaped (a BEL or an ANSI escape would make the JUnit file invalid XML); ``entry`` unescapes them.
    props: list[tuple[str, Any]] = [
        (f"{record.HP_PREFIX}{printable(name)}", value) for name, value in case.values.items()
    ]
    props += [
        (record.CASE_KIND, case.kind),
        (record.CASE_ID, case.id),
        (record.CASE_SPEC, spec),
        (record.CASE_FINGERPRINT, fingerprint),
        (record.OUTCOME, result.outcome),
        (record.EXCEPTION, result.exception or ""),
        (record.DISPOSITION, disposition.name),
        (record.RUNS, disposition.runs),
        (record.PARAMS, result.params if result.params is not None else ""),
        (record.MEMORY_BYTES, result.memory_bytes if result.memory_bytes is not None else ""),
        (record.MEMORY_BUDGET, getattr(result, "memory_budget", None) or ""),
        (record.SECONDS, result.seconds),
        (record.BACKEND, result.backend),
        (record.DEVICE, result.device),
    ]
    if result.predicted:
        props.append((record.PREDICTED, True))
    if getattr(result, "losses", None):  # what a divergence was judged on
        props.append((record.LOSSES, [_loss(loss) for loss in result.losses]))
        if getattr(result, "start_loss", None) is not None:
            props.append((record.START_LOSS, _loss(result.start_loss)))
        if getattr(result, "reference_loss", None) is not None:
            props.append((record.REFERENCE_LOSS, round(result.reference_loss, 6)))
        if getattr(result, "confirmation", None):
            props.append((record.CONFIRMATION_LOSSES, [_loss(loss) for loss in result.confirmation]))
    if getattr(result, "rss_growth_bytes", None) is not None:  # measured on the default case only
        props.append((record.RSS_GROWTH_BYTES, result.rss_growth_bytes))
    # For ``timing``: the same names on the result and among the properties.
    for name in (record.STEP_SECONDS, record.EPOCH_SECONDS, record.SEARCH_EPOCHS, record.SEARCH_BATCHES):
        if getattr(result, name, None) is not None:
            props.append((name, getattr(result, name)))
    if getattr(result, "step_seconds", None) is not None:
        props += [(record.STEPS, result.steps), (record.EPOCHS, len(result.losses))]
    download = offline.attempted_download(f"{result.message or ''} {result.traceback or ''}")
    if download is not None:
        props.append((record.DOWNLOAD, download))  # a setup problem: left out of the forecast
    return props + trial_properties(result)


def trial_properties(result: Any) -> list[tuple[str, Any]]:
    """Where a failed case raised, the warnings its trial raised, and what its fits logged and KerasTuner
    recorded (``rules.trial_health`` reads them back from the entry)."""
    props: list[tuple[str, Any]] = []
    if result.outcome != outcomes.OK and getattr(result, "phase", ""):
        props.append((record.PHASE, result.phase))
        if getattr(result, "failed_callback", ""):
            props.append((record.FAILED_CALLBACK, result.failed_callback))
    if getattr(result, "warnings", None):
        props.append((record.TRIAL_WARNINGS, json.dumps(result.warnings, sort_keys=True)))
    fits = getattr(result, "fits", None)
    offered = getattr(result, "offered", None)
    if fits or getattr(result, "score", None) is not None or offered:
        logs = {
            name: getattr(result, name)
            for name in ("objective", "direction", "score", "returned", "returned_by", "returned_at")
        }
        if offered:  # no objective named, and the dict the trial returned lacks the stand-in
            logs["offered"] = list(offered)
        logs["synthesized"] = not getattr(result, "data", "")  # the probe's data: no validation split of the search's
        props.append((record.TRIAL_LOGS, json.dumps({"fits": fits or [], **logs}, sort_keys=True)))
    return props


def _loss(value: float) -> float | str:
    """A loss for the reports: rounded; a non-finite one as ``"nan"`` or ``"inf"`` (JSON has no such numbers)."""
    return round(value, 6) if math.isfinite(value) else str(value)


def entry(nodeid: str, props: Iterable[tuple[str, Any]], outcome: str) -> dict[str, Any]:
    """A case's entry in the JSON report, from the properties on its test report: the one place properties
    become an entry (``record.CaseRecord.from_entry`` reads it back)."""
    values: dict[str, Any] = {}
    out: dict[str, Any] = {record.NODEID: nodeid, record.TEST_OUTCOME: outcome, record.VALUES: values}
    for key, value in props:
        if key.startswith(record.HP_PREFIX):
            values[unprintable(key[len(record.HP_PREFIX) :])] = value
        else:
            out[key] = value
    return out
