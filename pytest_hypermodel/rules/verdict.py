"""The judgement of a probed case: its verdict, JUnit properties and failure text; the forecast; the JSON payload.

Everything here works on plain builtins (properties travel from xdist
workers on reports), so the controller can aggregate without Keras.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from pytest_hypermodel.rules import culprits as culprits_mod
from pytest_hypermodel.rules import offline
from pytest_hypermodel.rules import outcomes
from pytest_hypermodel.space.plan import Case, format_value, printable, unprintable
from pytest_hypermodel.rules.policy import COMPLETED, Disposition, Policy

if TYPE_CHECKING:
    from pytest_hypermodel.space.hyperparameters import SearchSpace

PASS = "pass"
XFAIL = "xfail"
FAIL = "fail"


def fingerprint(kt_config: dict, policy: Policy) -> str:
    """Identifies a search space and the policy it was judged by; the gated search checks it."""
    payload = json.dumps({"space": kt_config["space"], "policy": policy.to_dict()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def verdict(result, disposition: Disposition) -> str:
    """Pass when KerasTuner completes it cleanly, xfail for a declared failure, else fail."""
    if result.outcome == outcomes.OK:
        return PASS
    if disposition.declared and disposition.name != "fatal":
        return XFAIL
    return FAIL


def properties(case: Case, result, disposition: Disposition, spec: str = "", fingerprint: str = "") -> list[tuple[str, Any]]:
    """The JUnit properties of one case, named as DESIGN.md fixes them (plus where it came from)."""
    # Names escaped (a BEL or an ANSI escape would make the JUnit file invalid XML); ``entry`` unescapes them.
    props: list[tuple[str, Any]] = [(f"hp.{printable(name)}", value) for name, value in case.values.items()]
    props += [
        ("case.kind", case.kind),
        ("case.id", case.id),
        ("case.spec", spec),
        ("case.fingerprint", fingerprint),
        ("outcome", result.outcome),
        ("exception", result.exception or ""),
        ("disposition", disposition.name),
        ("runs", disposition.runs),
        ("params", result.params if result.params is not None else ""),
        ("memory_bytes", result.memory_bytes if result.memory_bytes is not None else ""),
        ("memory_budget", getattr(result, "memory_budget", None) or ""),
        ("seconds", result.seconds),
        ("backend", result.backend),
        ("device", result.device),
    ]
    if result.predicted:
        props.append(("predicted", True))
    if getattr(result, "losses", None):  # what a divergence was judged on
        props.append(("losses", [_loss(loss) for loss in result.losses]))
        if getattr(result, "start_loss", None) is not None:
            props.append(("start_loss", _loss(result.start_loss)))
        if getattr(result, "reference_loss", None) is not None:
            props.append(("reference_loss", round(result.reference_loss, 6)))
    if getattr(result, "rss_growth_bytes", None) is not None:  # measured on the default case only
        props.append(("rss_growth_bytes", result.rss_growth_bytes))
    for name in ("step_seconds", "epoch_seconds", "search_epochs", "search_batches"):  # for ``timing``
        if getattr(result, name, None) is not None:
            props.append((name, getattr(result, name)))
    if getattr(result, "step_seconds", None) is not None:
        props += [("steps", result.steps), ("epochs", len(result.losses))]
    download = offline.attempted_download(f"{result.message or ''} {result.traceback or ''}")
    if download is not None:
        props.append(("download", download))  # a setup problem: left out of the forecast
    return props


def _loss(value: float) -> float | str:
    """A loss for the reports: rounded; a non-finite one as ``"nan"`` or ``"inf"`` (JSON has no such numbers)."""
    return round(value, 6) if math.isfinite(value) else str(value)


def _values_text(case: Case) -> str:
    shown = case.varied or tuple(case.values)
    text = ", ".join(f"{name}={format_value(case.values[name])}" for name in shown)
    return ("defaults: " if not case.varied else "") + (text or "no hyperparameters")


#: What to do about a build that downloads (weights, a dataset): a preflight never does.
DOWNLOAD_FIX = "pass weights=None in the build, or provide the file locally (nothing is downloaded during a preflight)"


#: What keeps memory from one trial to the next (keras-tuner issues #395, #873), and how to stop it.
MEMORY_GROWTH_FIX = ("drop what outlives a trial: a module-level list or dict the build appends each model (or its "
                     "data) to, a callback that keeps references to the models or their outputs in a global or a "
                     "class attribute, or a loop of your own around builds and fits that never calls "
                     "keras.backend.clear_session()")


def hint(case: Case, result, space: "SearchSpace", explained: "Sequence[Case] | None" = None) -> str:
    """The likely fix, phrased as an edit to the search space or the build function.

    ``explained``: for a case that moved several values, the failing cases whose values are a proper subset of its
    own (see ``culprits``); empty when every such case passes, None when they are not known (then no value is
    blamed alone, nor the combination).
    """
    if result.outcome == outcomes.MEMORY_GROWTH:
        return MEMORY_GROWTH_FIX
    if result.outcome == outcomes.NO_CHECKPOINT:
        return ("pass the callbacks HyperModel.fit receives on to model.fit (model.fit(*args, **kwargs), or "
                "callbacks=kwargs['callbacks']): the tuner's checkpoint callback is among them")
    if result.exception == "FatalValueError" and "deep-copyable" in (result.message or ""):
        return ("make every callback passed to the search deep-copyable (copy.deepcopy): build it from plain "
                "values, not from open files, locks or models")
    if result.exception == "FatalTypeError" and "objective` is left unspecified" in (result.message or ""):
        return ("give the tuner an objective its fit logs (objective=\"val_loss\", or a keras_tuner.Objective): "
                "without one, KerasTuner accepts only a float from fit(), and stops at the end of the first trial")
    if result.exception == "FatalTypeError" and "HyperModel.fit" in (result.message or ""):
        return ("make HyperModel.fit return what model.fit returns (its History), a dict of metrics holding the "
                "objective, or a float")
    if result.exception == "FatalTypeError":
        return "make the build function return the compiled keras.Model"
    if result.exception == "DataError":
        return "override the hypermodel_data fixture in conftest.py to supply (x, y)"
    download = offline.attempted_download(f"{result.message or ''} {result.traceback or ''}")
    if download is not None:  # the harness's problem, not the value's
        return f"the build downloads {download}: {DOWNLOAD_FIX}"
    missing = objective_hint(result)
    if missing:  # the search's setup, not a value: every case that fits says so
        return missing
    if result.outcome == outcomes.TIMEOUT:  # time, not a failure to KerasTuner: no value is to blame as failing
        slower = f" with {', '.join(case.varied)} as set here" if case.varied else ""
        return (f"raise --hypermodel-timeout if the time a trial takes{slower} is acceptable for the search, or "
                "narrow what makes it slow")
    default_failure = space.default_error or space.default_fit_error
    same_as_default = bool(default_failure and result.message and default_failure.rstrip(".").endswith(result.message))
    if _data_mismatch(result) and (not case.varied or same_as_default):  # the data, not a value
        return (f"the data ({result.data}) does not fit the model's input: give it the shape the model's first "
                "layer expects (its keras.Input), or the model the data's; no hyperparameter is to blame")
    if not case.varied:
        if space.default_error:
            return "the default values already fail: fix the build function or the defaults (KerasTuner builds them before the first trial)"
        return "the default values already fail: fix the build function or the defaults"
    if same_as_default:
        return "it fails as the defaults already do: fix the defaults first"
    if len(case.varied) == 1:
        return _value_hint(case.varied[0], case, result, space)
    names = ", ".join(case.varied)
    if explained:  # values (or smaller combinations) that fail without the rest of this case are the culprits
        return _explained_hint(case, explained, space)
    if explained is None:
        return (f"one of {names} fails alone, or their combination does: the preflight's culprits (the forecast, "
                "the HTML report) say which")
    return f"the combination of {names} fails: constrain them together, or raise FailedTrialError for it in the build"


#: What Keras says when the data fed to a model does not match its input (InputSpec, a loss's shapes).
_SHAPE_MISMATCH = ("is incompatible with the layer", "must have the same shape", "are incompatible")


def _data_mismatch(result) -> bool:
    """A case fitted on the user's data that failed on a shape Keras checks between data and model."""
    return bool(getattr(result, "data", "")) and any(marker in (result.message or "") for marker in _SHAPE_MISMATCH)


#: How an objective-missing hint starts (the forecast finds it in the cases' messages).
OBJECTIVE_MISSING = "KerasTuner's objective"


def objective_hint(result) -> str | None:
    """For a fit whose logs lack the search's objective (KerasTuner's KeyError when it reads a History, the
    oracle's "Objective value missing" ValueError for other results): what the logs have and what to change."""
    logs = list(getattr(result, "logs", None) or [])
    message = result.message or ""
    if not logs:
        return None
    if result.exception == "KeyError" and message.strip("'\"") not in logs:
        name = message.strip("'\"")
    elif result.exception == "ValueError" and message.startswith("Objective value missing"):
        name = message.partition("expected: ")[2].partition(", found")[0] or "the objective"
    else:
        return None
    if "val_" in name and not any(log.startswith("val_") for log in logs):
        fix = "pass validation data to the search (validation_data=, or validation_split=)"
    else:
        fix = "compile the metric it names (metrics=[...]) and log it from fit()"
    return (f"{OBJECTIVE_MISSING} {name} is not among the fit's logs ({', '.join(logs)}): {fix}, or give the "
            "tuner an objective the logs have (objective=; --hypermodel-objective here)")


def _explained_hint(case: Case, explained: Sequence[Case], space: "SearchSpace") -> str:
    """The failing cases inside ``case``, said as the forecast says culprits: a value that fails alone, with its
    edit; combinations, as ``culprits.text`` phrases them."""
    singles = [c for c in explained if len(c.varied) == 1]
    parts = list(dict.fromkeys(
        f"{c.varied[0]}={format_value(c.values[c.varied[0]])} fails alone ({_edit(c.varied[0], c, space)})"
        for c in singles))
    combos = [moved(c.values, space) for c in explained if len(c.varied) > 1]
    if combos:
        parts.append(f"constrain {culprits_mod.text(combos, order(space))}")
    blamed = {name for c in explained for name in c.varied}
    innocent = [name for name in case.varied if name not in blamed]
    if innocent:
        parts[-1] += f" ({', '.join(innocent)} {'is' if len(innocent) == 1 else 'are'} not to blame)"
    return "; ".join(parts)


def _edit(name: str, case: Case, space: "SearchSpace") -> str:
    param = space.by_name[name]
    value = case.values[name]
    if param.kind in ("int", "float"):
        return "raise min_value" if value == param.levels[0] and len(param.levels) > 1 else "lower max_value"
    if param.kind == "choice":
        return "remove it from the values"
    return "fix the build for it, or make it hp.Fixed"


def _value_hint(name: str, case: Case, result, space: "SearchSpace") -> str:
    param = space.by_name[name]
    value = case.values[name]
    if param.kind in ("int", "float"):
        text = f"{name} can be {format_value(value)}: {_edit(name, case, space)}"
    elif param.kind == "choice":
        text = f"{name} can be {value!r}: {_edit(name, case, space)}"
    else:
        text = f"{name}={value} fails: {_edit(name, case, space)}"
    if result.outcome == outcomes.OOM and "batch" not in name.lower():  # a batch's memory is not the model's size
        text += ", or set max_model_size so KerasTuner skips oversized models"
    if param.note:
        text += f" (note: {param.note})"
    return text


def failure_message(case: Case, result, disposition: Disposition, policy: Policy, space: "SearchSpace",
                    explained: "Sequence[Case] | None" = None) -> str:
    """One readable paragraph: values, what went wrong, what KerasTuner does, the fix (``explained``: see
    ``hint``)."""
    what = {
        outcomes.NAN: "the loss became NaN",
        outcomes.DIVERGED: "the loss diverged",
        outcomes.NO_CHECKPOINT: "no checkpoint",
        outcomes.MEMORY_GROWTH: "memory grows from trial to trial",
        outcomes.OOM: "out of memory" + (" (predicted)" if result.predicted else ""),
        outcomes.TIMEOUT: "the case ran past its time limit",
        outcomes.CRASH: "the process running the case died",
    }.get(result.outcome)
    if result.exception == "CaseTimeout":  # its message says it all
        what = result.message
    elif result.exception:
        what = f"{result.exception}: {result.message}" if not what else f"{what}: {result.exception}: {result.message}"
    elif result.message:
        what = f"{what} ({result.message})"
    if not case.varied and space.default_error and not result.built:
        # Every tuner's constructor builds the defaults outside any trial's try: no trial is ever marked.
        kerastuner = ("KerasTuner builds the defaults in the tuner's constructor, outside any trial: the tuner "
                      "cannot be created, so the search never starts.")
    elif result.outcome == outcomes.MEMORY_GROWTH:
        kerastuner = ("KerasTuner would complete each trial, and its process would grow by as much after each, "
                      "until the host runs out of memory and the search is killed, hours in.")
    else:
        kerastuner = policy.describe(disposition)
    text = f"{_values_text(case)} -> {what}. {kerastuner}"
    if result.outcome == outcomes.DIVERGED or (result.outcome == outcomes.NAN and disposition.name == "completed"):
        text += " Its score would be useless."
    if result.outcome != outcomes.FAILED_TRIAL:
        text += f" Likely fix: {hint(case, result, space, explained)}."
    return text


def entry(nodeid: str, props: Iterable[tuple[str, Any]], outcome: str) -> dict:
    """A case's record in the JSON report, from the properties on its test report."""
    props = list(props)
    record: dict[str, Any] = {"nodeid": nodeid, "test_outcome": outcome, "values": {}}
    for key, value in props:
        if key.startswith("hp."):
            record["values"][unprintable(key[3:])] = value
        else:
            record[key] = value
    return record


def summarize(entries: list[dict]) -> dict:
    return {
        "cases": len(entries),
        "outcomes": dict(sorted(Counter(e.get("outcome", "?") for e in entries).items())),
        "dispositions": dict(sorted(Counter(e.get("disposition", "?") for e in entries).items())),
        "runs": sum(int(e.get("runs") or 0) for e in entries),
    }


GREEN_OUTCOMES = ("passed", "xfailed")


def hypermodels(entries: list[dict], planned: dict[str, int] | None = None,
                details: dict[str, dict] | None = None) -> list[dict]:
    """Per hypermodel and policy (fingerprint): is its preflight complete and green? ``details``: more per spec
    (declarations, boundaries, repair)."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for e in entries:
        groups.setdefault((e.get("case.spec", ""), e.get("case.fingerprint", "")), []).append(e)
    out = []
    for (spec, print_), group in groups.items():
        expected = (planned or {}).get(spec)
        complete = expected is None or len(group) == expected
        green = complete and all(e.get("test_outcome") in GREEN_OUTCOMES for e in group)
        record = {"spec": spec, "fingerprint": print_, "cases": len(group), "planned": expected,
                  "complete": complete, "green": green, **(details or {}).get(spec, {})}
        growth = [e["rss_growth_bytes"] for e in group if e.get("rss_growth_bytes") not in (None, "")]
        if growth:  # measured on its default case
            record["rss_growth_bytes"] = growth[0]
        out.append(record)
    return out


def payload(entries: list[dict], planned: dict[str, int] | None = None, extra: dict | None = None,
            details: dict[str, dict] | None = None) -> dict:
    """The JSON report: what the renderers (``github``, ``html_report``) and the gated search read."""
    return {"version": 1, "summary": summarize(entries), "hypermodels": hypermodels(entries, planned, details),
            **(extra or {}), "cases": entries}


def full_payload(preflights: list, entries: list[dict], forecasts: list[dict], refinements: list) -> dict:
    """The payload with what each hypermodel's space says beyond its cases: where each hyperparameter is declared,
    the build's ``def`` line, and the boundaries and repair when they were searched."""
    details = {}
    for pre in preflights:
        space = pre.space
        details[pre.target.spec] = {
            "declarations": {name: {"file": path, "line": line} for name, (path, line) in space.sites.items()},
            "definition": {"file": space.definition[0], "line": space.definition[1]} if space.definition else None,
            # Hyperparameters planned at only some of their values: name -> how many planned, of how many.
            "capped": {name: {"planned": kept, "values": total} for name, (kept, total) in pre.plan.capped.items()},
        }
    for found in refinements:
        details[found.spec].update(boundaries=[b.to_dict() for b in found.findings.boundaries],
                                   repair=found.repair_dict())
        if found.findings.moved_default is not None:
            name, failing, passing = found.findings.moved_default
            details[found.spec]["defaults_moved"] = {"hyperparameter": name, "failing": failing, "passing": passing}
    planned = {pre.target.spec: len(pre.plan) for pre in preflights}
    return payload(entries, planned, {"forecasts": forecasts}, details)


#: The slowest case is named when it takes at least this many times the default's seconds.
SLOW_RATIO = 3.0


def timing(pre, entries: list[dict], max_trials: int | None, epochs: int) -> dict | None:
    """Seconds per trial: the default case's, the slowest case against it, the cases that ran past the time limit,
    and the search's time estimated from the cases that completed: ``max_trials`` trials, each a case's seconds
    plus, when the search's data is given, the batches and epochs it did not run, at the case's own seconds a
    batch and an epoch. None before the default case ran."""
    mine = [e for e in entries if e.get("case.spec") == pre.target.spec and e.get("seconds")]
    default = next((e for e in mine if e.get("case.kind") == "default"), None)
    if default is None:
        return None
    search_epochs, batches = _number(default.get("search_epochs")), _number(default.get("search_batches"))
    default_step = _number(default.get("step_seconds"))
    scaled = bool(search_epochs and batches and default_step)

    def trial_seconds(e: dict) -> float:
        """A trial of the search at this case's values: the case, and the batches and epochs it did not run."""
        step, epoch = _number(e.get("step_seconds")), _number(e.get("epoch_seconds")) or 0.0
        if not (scaled and step):
            return float(e["seconds"])
        more_steps = max(search_epochs * batches - int(_number(e.get("steps")) or 0), 0)
        more_epochs = max(search_epochs - int(_number(e.get("epochs")) or 0), 0)
        return float(e["seconds"]) + more_steps * step + more_epochs * epoch

    slowest = max(mine, key=lambda e: float(e["seconds"]))
    done = [trial_seconds(e) for e in mine if e.get("disposition") == COMPLETED and e.get("outcome") != "timeout"]
    trial = sum(done) / len(done) if done else trial_seconds(default)
    trials = max_trials or (len(pre.trials) if getattr(pre, "trials", None) else 10)  # a grid: all its trials
    ratio = float(slowest["seconds"]) / float(default["seconds"])
    line = f"{pre.target.spec}: the default case took {duration(float(default['seconds']))}"
    if ratio >= SLOW_RATIO:
        line += f"; the slowest, {slowest['case.id']}, {ratio:.0f}× that ({duration(float(slowest['seconds']))})"
    if scaled:
        line += (f"; {trials} trials of the search's {search_epochs} epochs of {batches} batches (the default "
                 f"case's batch: {default_step * 1000:.1f} ms): about {duration(trial * trials)}")
    else:
        line += (f"; {trials} trials as small as the cases (a build, {epochs} epochs of a few batches): about "
                 f"{duration(trial * trials)}, before the search's own epochs and data scale the fits")
    timeouts = [{"case": e["case.id"], "seconds": float(e["seconds"]), "trial_seconds": round(trial_seconds(e), 3)}
                for e in mine if e.get("outcome") == "timeout"]
    if timeouts:  # KerasTuner has no time limit: such a trial runs, for as long as it takes
        first = timeouts[0]
        line += (f"; {len(timeouts)} ran past the time limit ({first['case']}: over {duration(first['seconds'])}, "
                 f"{first['seconds'] / float(default['seconds']):.0f}× the default or more, and KerasTuner waits)")
    return {"default_seconds": float(default["seconds"]), "slowest_case": slowest["case.id"],
            "slowest_seconds": float(slowest["seconds"]), "slowest_ratio": round(ratio, 2),
            "trial_seconds": round(trial, 3), "search_seconds": round(trial * trials, 3), "trials": trials,
            "search_epochs": search_epochs if scaled else None, "search_batches": batches if scaled else None,
            "step_seconds": default_step,
            "timeouts": timeouts, "line": line}


def _number(value: Any) -> float | None:
    """A property read back from a record: a number, or None for an absent or empty one."""
    if value in (None, ""):
        return None
    number = float(value)
    return int(number) if number.is_integer() and "." not in str(value) else number


def duration(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``3 min``, ``2.5 h``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


# The hints name culprits as the forecast does (``rules.forecasts``): by the values a case moved off the defaults,
# in the space's order.
moved = culprits_mod.off_defaults
order = culprits_mod.space_order
