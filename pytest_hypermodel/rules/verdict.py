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


def policy_of(entries: list[dict], fallback: Policy) -> Policy:
    for e in entries:
        if e.get("case.policy"):
            return Policy.from_dict(json.loads(e["case.policy"]))
    return fallback


def culprits(entries: list[dict], space: "SearchSpace") -> str:
    """What to constrain, in a phrase (see ``culprits.text``): a conv stack failing at conv_blocks=4 names
    conv_blocks, not the filters and dropout its corners also moved."""
    failing = [moved(e.get("values", {}), space) for e in entries if e.get("disposition") != "completed"]
    return culprits_mod.text(failing, order(space))


def predicate(entries: list[dict], space: "SearchSpace", screen=None,
              policy: Policy | None = None) -> Callable[[dict], str | None]:
    """What any configuration of ``space`` would do, judged from the cases run and the configurations built
    without a fit (``screen.Screen``).

    A configuration built fails as its build did, or over ``max_model_size`` or the memory budget; if it passes
    there, the failures the cases saw in a fit decide (``culprits.Predicate``; a case that failed in its build
    says nothing of a neighbour whose build was seen). One neither run nor built, when the builds are a sample of
    the tuner's draws: its build fails with the share of the sample whose builds failed (drawn from its values'
    hash, so the same each time; the sample is drawn as the tuner draws, so the share is the space's, which the
    extremes and corners over-weight); then the fit's failures decide. With no builds, the cases decide all.
    """
    logs = {p.name for p in space if p.sampling == "log" and (p.min_value or 0) > 0}
    scale = {p.name: (math.log if p.name in logs else float) for p in space if p.kind in ("int", "float")}
    policy = policy or Policy()
    runs, exact = [], []
    for e in entries:
        run = (moved(e.get("values", {}), space), e["disposition"])
        in_build = e["disposition"] != COMPLETED and e.get("params") in (None, "")
        (exact if in_build else runs).append(run)
    fit_only = culprits_mod.Predicate.from_runs(runs, COMPLETED, scale, space.defaults(), exact)
    if screen is None or not screen.results:
        return fit_only if screen is not None and screen.whole else culprits_mod.Predicate.from_runs(
            runs + exact, COMPLETED, scale, space.defaults())
    budget = policy.memory_budget or next((e["memory_budget"] for e in entries if e.get("memory_budget")), None)
    built = {culprits_mod.key(moved(r["values"], space)): _built_disposition(r, policy, budget)
             for r in screen.results}
    failed = sorted(d for d in built.values() if d is not None)

    def judge(values: dict) -> str | None:
        k = culprits_mod.key(values)
        if k in built and built[k] is not None:
            return built[k]
        if k in built or k in fit_only.known or screen.whole or not failed:
            return fit_only(values)
        u = int(hashlib.sha256(repr(sorted(k, key=repr)).encode()).hexdigest()[:12], 16) / 16**12
        share = len(failed) / len(built)
        return failed[int(u / share * len(failed))] if u < share else fit_only(values)

    return judge


def _built_disposition(built: dict, policy: Policy, budget: int | None) -> str | None:
    """What KerasTuner does with a configuration built without a fit (``screen.Screen``): None when the build
    raises nothing and the model is within ``max_model_size`` and the memory budget."""
    from types import SimpleNamespace

    outcome = built.get("outcome")
    if outcome is None and policy.max_model_size and (built.get("size") or 0) > policy.max_model_size:
        outcome = outcomes.FAILED_TRIAL  # KerasTuner raises FailedTrialError for a model over max_model_size
    elif outcome is None and budget and (built.get("memory_bytes") or 0) > budget:
        outcome = outcomes.OOM
    if outcome is None:
        return None
    fake = SimpleNamespace(outcome=outcome, exception=built.get("exception"),
                           exception_bases=built.get("exception_bases") or [], losses=[])
    disposition = policy.disposition(fake).name
    return None if disposition == COMPLETED else disposition


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


def screened_text(screen, judge: Callable[[dict], str | None], space: "SearchSpace", entries: Sequence[dict]) -> str:
    """What the builds without a fit measured of the space: `` and 15 builds without a fit (26/s; with the cases,
    the whole space: 14 of its 32 configurations fail)``, or, for a sample of the draws, `` and 240 of the draws
    built without a fit (31/s; 45% ±6% of them fail)``."""
    if screen is None or not screen.results:
        return ""
    n = len(screen.results)
    failing = sum(judge(moved(r["values"], space)) is not None for r in screen.results)
    if screen.whole:
        failing += sum(e.get("disposition") != COMPLETED for e in entries)
        return (f" and {n} builds without a fit ({screen.rate:.0f}/s; with the cases, the whole space: {failing} of "
                f"its {n + len(entries)} configurations fail)")
    share = failing / n
    return (f" and {n} of the draws built without a fit ({screen.rate:.0f}/s; {share:.0%} "
            f"±{2 * math.sqrt(share * (1 - share) / n):.0%} of them fail)")


def moved(values: dict, space: "SearchSpace") -> dict:
    """The values of a case that differ from the defaults, in the space's order."""
    return {p.name: values[p.name] for p in space if p.name in values and values[p.name] != p.default}


def order(space: "SearchSpace"):
    """Sort key: a hyperparameter's place in the space (unknown names last)."""
    places = {p.name: i for i, p in enumerate(space)}
    return lambda name: places.get(name, len(places))


def forecast(pre, entries: list[dict], fallback: Policy, tuner: str, max_trials: int | None, max_abort_risk: float) -> dict:
    """What the search over one hypermodel would do, from the cases its preflight probed.

    GridSearch: KerasTuner's own trial order walked over the probed trials.
    RandomSearch and BayesianOptimization: the share of KerasTuner's seeds whose oracle, each draw judged by the
    cases (``predicate``), aborts within ``max_trials``. Hyperband: estimated from the share of planned cases that
    end FAILED or fatal, trials assumed independent.
    """
    from pytest_hypermodel.rules import abort_rules as fc

    mine = [e for e in entries if e.get("case.spec") == pre.target.spec]
    policy = policy_of(mine, fallback)
    # A case whose build downloads says nothing about the space (the search node may have the file): left out.
    downloads = [e for e in mine if e.get("download")]
    mine = [e for e in mine if not e.get("download")]
    names = [p.name for p in pre.space]
    if tuner == "GridSearch":
        by_values = {frozenset(e["values"].items()): e for e in mine}
        dispositions, values = [], []
        for trial in pre.trials or []:
            e = by_values.get(frozenset(pre.space.complete(trial).items()))
            if e is None:  # not probed (capped, or the run was cut short): forecast the prefix
                break
            dispositions.append(Disposition(e["disposition"], int(e["runs"])))
            values.append(trial)
        result = fc.forecast_sequence(
            dispositions, policy, tuner, names, values=values, planned=len(pre.trials or []) or None,
            max_trials=max_trials, default_error=pre.space.default_error,
        )
        return {"spec": pre.target.spec, **result.to_dict(), "fails_run": result.aborts}
    trials = max_trials or 10
    if pre.space.default_error:
        # Every tuner's constructor builds the defaults outside any try block.
        message = (f"{tuner} would crash before its first trial: building the defaults raises "
                   f"{pre.space.default_error}; fix the defaults")
        return {"spec": pre.target.spec, "tuner": tuner, "max_trials": trials, "aborts": True,
                "reason": "default_build", "message": message, "fails_run": True}
    dispositions = [Disposition(e["disposition"], int(e["runs"])) for e in mine]
    failing = culprits(mine, pre.space)
    if tuner in fc.RANDOM_ORACLES and dispositions and pre.draws:
        judge = predicate(mine, pre.space, pre.screen, policy)
        driven = fc.judge_draws(pre.draws, lambda values: judge(moved(values, pre.space)), policy)
        probability, failure_rate, fatal_rate = driven.probability, driven.failure_rate, driven.fatal_rate
        message = (
            f"{tuner} would abort within {trials} trials with probability {probability:.0%} ±{2 * driven.error:.0%} "
            f"(KerasTuner's oracle over {driven.seeds} seeds, each trial judged by the {len(dispositions)} cases "
            f"run{screened_text(pre.screen, judge, pre.space, mine)}: {failure_rate:.0%} of the trials drawn FAILED, "
            f"{fatal_rate:.0%} fatal)"
        )
    else:
        failure_rate, fatal_rate = fc.failure_rates(dispositions)
        probability = fc.abort_probability(failure_rate, trials, policy, fatal_rate) if dispositions else 0.0
        message = (
            f"{tuner} would abort within {trials} trials with probability {probability:.0%} "
            f"(estimated from {failure_rate:.0%} FAILED and {fatal_rate:.0%} fatal among the {len(dispositions)} "
            f"planned cases, trials assumed independent; the plan over-weights the extremes)"
        )
    if probability > max_abort_risk:
        missing = [e for e in mine if f"Likely fix: {OBJECTIVE_MISSING} " in (e.get("message") or "")]
        if failing and not missing:
            fix = f"constrain {failing}"
        elif missing:
            fix = "make each trial's fit log the objective: " + missing[0]["message"].partition(
                f"Likely fix: {OBJECTIVE_MISSING} ")[2].rstrip(".").partition(": ")[2]
        elif any(e.get("case.kind") == "default" and e.get("disposition") != "completed" for e in mine):
            fix = "fix the build function or its defaults: the defaults already fail"
        else:
            fix = "fix the failing cases"
        if fatal_rate:
            # FatalError, or a SystemExit / KeyboardInterrupt that KerasTuner does not catch.
            stoppers = sorted({e.get("exception") or "FatalError" for e in mine if e.get("disposition") == "fatal"})
            fix += (f" (a {' or '.join(stoppers)} stops the search at the first trial that raises it, whatever "
                    "max_consecutive_failed_trials is)")
        else:
            fix += f", or raise max_consecutive_failed_trials above {policy.max_consecutive_failed_trials}"
        message += f"; over the accepted risk of {max_abort_risk:.0%}: {fix}"
    if downloads:
        message += (f" ({len(downloads)} cases left out: their build downloads {downloads[0]['download']}: "
                    f"{DOWNLOAD_FIX})")
    screened = {"screen": pre.screen.to_dict()} if pre.screen is not None and pre.screen.results else {}
    return {"spec": pre.target.spec, "tuner": tuner, "max_trials": trials, "aborts": probability > max_abort_risk,
            "abort_probability": probability, "failure_rate": failure_rate, "fatal_rate": fatal_rate,
            "message": message, "fails_run": probability > max_abort_risk, **screened}
