"""What the rehearsal of the search means: the health checks of a sequence of trials and of what follows a search.

The rehearsal (``probe.rehearsal``) ran cases that passed alone one after another through KerasTuner's own
``search()``, between the defaults first and the defaults again last, and reports what it saw as plain data (the
dict of a ``Rehearsed``). The defaults run first and last, so any difference between those two trials' models is
something an earlier trial left behind. The search's data reaches the trials as the search passes it (an object
whose use changes it, as it is): a trial that passed alone and, in sequence, fails reading that data or gets fewer
batches from it than the first trial did is the data's fault (``data_used_up``), not the build's. Plain data in,
``health.Finding`` out: no Keras.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_hypermodel.rules.health import Finding

#: The most cases a rehearsal runs, per hyperparameter (a Choice's values and a range's two ends each a case).
CASES_PER_HYPERPARAMETER = 2

#: What ``rehearsal.TrialSeen.status`` is for a trial that completed.
COMPLETED = "COMPLETED"

STATE_FIX = (
    "leave the process as the build found it: set it once for the whole search (at import, before the tuner), or "
    "set it back before build() returns, never per hyperparameter value"
)
SHARED_FIX = (
    "create every layer and variable inside build(hp): one made at module level (or cached between calls) is the "
    "same object in every trial's model, which then starts from the weights an earlier trial trained"
)
SEQUENCE_FIX = (
    "make the build depend only on hp: nothing it reads may be changed by an earlier trial (keras.config, a "
    "module-level counter or cache, a layer made once)"
)
AFTER_FIXES = {
    "get_best_models(1)": (
        "get_best_models() builds the best trial's values again and loads its checkpoint into that build, before "
        "any fit: build(hp) must return a built model (a keras.Input, or model.build(input_shape) for a subclassed "
        "model) and the same model from the same values (no module-level counters or caches)"
    ),
    "get_best_hyperparameters(1)": "keep the objective a metric the trials log, and the oracle the tuner's own",
    "results_summary()": "keep what the trials record (their metrics, their values) plain numbers and strings",
}
DATA_FIX = (
    "give each trial the search's data in the same state: something each fit iterates afresh (arrays, a "
    "tf.data.Dataset made from a function, from_generator(make_batches) and not a lambda returning one generator, "
    "or .repeat() with steps_per_epoch; a PyDataset whose __getitem__(index) depends on the index alone, no counter "
    "or stream it moves on), or, from the hypermodel_data fixture, a function (model, values) -> data that makes "
    "it again for each trial"
)
RELOAD_FIX = (
    "a resumed search (overwrite=False) makes the tuner again and reloads the project: the factory must make "
    "the same tuner (the same space, objective and project) each time it is called"
)


def trial_budget(hyperparameters: int) -> int:
    """The most trials one rehearsal runs: two a hyperparameter, and the defaults first and last."""
    return CASES_PER_HYPERPARAMETER * hyperparameters + 2


def _where(label: str) -> str:
    return "the defaults" if label == "defaults" else label


def _variables_text(variables: Sequence[Sequence[Any]]) -> dict[str, str]:
    return {str(v[0]): f"{v[1]} {tuple(v[2])}" for v in variables}


def _model_difference(first: Mapping[str, Any], last: Mapping[str, Any]) -> str:
    """How two trials' models of the same values differ, in a phrase; ``""`` when they do not."""
    a, b = _variables_text(first.get("variables", [])), _variables_text(last.get("variables", []))
    if a != b:
        changed = [f"{path} {a[path]} -> {b[path]}" for path in a if path in b and a[path] != b[path]]
        if changed:
            more = f" (and {len(changed) - 3} more)" if len(changed) > 3 else ""
            return "its variables " + ", ".join(changed[:3]) + more
        return f"its variables {sorted(a)[:3]} -> {sorted(b)[:3]}"
    if first.get("weights") and last.get("weights") and first["weights"] != last["weights"]:
        return "its starting weights (built with the same seed)"
    return ""


def _state_difference(before: Mapping[str, str], after: Mapping[str, str]) -> list[tuple[str, str, str]]:
    return [(key, before[key], after[key]) for key in before if key in after and before[key] != after[key]]


def findings(
    spec: str,
    rehearsed: Mapping[str, Any],
    passed_alone: Mapping[str, int | None],
    location: tuple[str, int] | None = None,
) -> list[Finding]:
    """The findings of one rehearsal of ``spec``'s search. ``passed_alone``: the label of each case rehearsed
    (``defaults`` for the default case) -> its model's parameter count alone (None: not known)."""
    found: list[Finding] = []
    trials: list[Mapping[str, Any]] = list(rehearsed.get("trials", []))

    def add(check: str, message: str, fix: str, case: str = "") -> None:
        found.append(Finding(check, spec, message, fix, location, case))

    # data_used_up: the search's data, passed to every trial as it is, failing or thinning after a trial used it
    blamed = _used_up_data(trials, passed_alone, str(rehearsed.get("data") or ""))
    stopped = str(rehearsed.get("stopped") or "")
    failed = [t for t in trials if t.get("status") and t["status"] != COMPLETED]
    data_stopped = bool(stopped and blamed and failed and all(id(t) in blamed for t in failed))
    if blamed:
        first_index, first_blamed = next((i, t) for i, t in enumerate(trials) if id(t) in blamed)
        message = blamed[id(first_blamed)]
        after = f" after the trial of {_where(str(trials[first_index - 1]['label']))}" if first_index else ""
        more = len(blamed) - 1
        label = _where(str(first_blamed["label"]))
        add(
            "data_used_up",
            f"the search's data {rehearsed['data']} is passed to every trial as it is, and the trial of {label}, "
            f"which passed alone, {message} in the rehearsed search{after}: the trials before it used the data up or "
            "changed it"
            + (f", and {more} later {'trial' if more == 1 else 'trials'} met it so" if more else "")
            + (f"; the search stopped ({stopped})" if data_stopped else ""),
            DATA_FIX,
            str(first_blamed["label"]),
        )

    # fails_in_sequence: a trial that passed alone and failed here, or a model that differs from its own alone
    for index, trial in enumerate(trials):
        label = str(trial["label"])
        if id(trial) in blamed:  # the data's, above
            continue
        after = f", after the trial of {_where(str(trials[index - 1]['label']))}" if index else ""
        if trial.get("status") and trial["status"] != COMPLETED and label in passed_alone:
            add(
                "fails_in_sequence",
                f"the trial of {_where(label)} passed alone but failed in the rehearsed search{after} "
                f"({trial.get('message') or trial['status']})",
                SEQUENCE_FIX,
                label,
            )
            continue
        alone = passed_alone.get(label)
        if alone is not None and trial.get("params") is not None and int(trial["params"]) != int(alone):
            add(
                "fails_in_sequence",
                f"the model of {_where(label)} has {trial['params']} parameters in the rehearsed search{after}, "
                f"{alone} alone",
                SEQUENCE_FIX,
                label,
            )
    if stopped and not data_stopped:
        when = f"during or after the trial of {_where(str(trials[-1]['label']))}" if trials else "in its first trial"
        add(
            "fails_in_sequence",
            f"the rehearsed search stopped {when}, though each case passed alone: {stopped}",
            SEQUENCE_FIX,
        )
    ends = [t for t in trials if t["label"] == "defaults" and t.get("variables")]
    if len(ends) >= 2 and id(ends[-1]) not in blamed:
        difference = _model_difference(ends[0], ends[-1])
        if difference:
            between = [_where(str(t["label"])) for t in trials[1:-1]]
            add(
                "fails_in_sequence",
                f"the defaults' model, built again as the search's last trial, differs from its first build in "
                f"{difference}, after the trials of {', '.join(between) or 'nothing'}",
                SEQUENCE_FIX,
                "defaults",
            )

    # state_left_behind: the state a build started from, changed by the trial before it (once per setting)
    told: set[str] = set()
    states = [dict(t.get("state") or {}) for t in trials] + [dict(rehearsed.get("final_state") or {})]
    for index, trial in enumerate(trials):
        start, end = states[index], states[index + 1]
        if not start or not end:
            continue
        for key, was, became in _state_difference(start, end):
            if key in told:
                continue
            told.add(key)
            add(
                "state_left_behind",
                f"the trial of {_where(str(trial['label']))} left {key} at {became} (it was {was}): every later "
                "trial of the search builds with it",
                STATE_FIX,
                str(trial["label"]),
            )

    # shared_variables: the same variable object in two trials' models (one finding: the trials that share)
    sharing = [(index, trial) for index, trial in enumerate(trials) if trial.get("shared")]
    if sharing:
        first = list(sharing[0][1]["shared"])
        paths = sorted({str(path) for _, t in sharing for path, _ in t["shared"]})
        listed = ", ".join(paths[:3]) + (f" (and {len(paths) - 3} more)" if len(paths) > 3 else "")
        later = ", ".join(f"trial {index + 1} ({_where(str(t['label']))})" for index, t in sharing)
        add(
            "shared_variables",
            f"{later} of the rehearsed search built models holding the same variable objects as the model of "
            f"{_where(str(first[0][1]))}'s earlier trial ({listed}): each starts from weights an earlier trial trained",
            SHARED_FIX,
            str(sharing[0][1]["label"]),
        )

    # after_search: what the user calls next
    for failure in rehearsed.get("after_search", []):
        call = str(failure["call"])
        add(
            "after_search",
            f"after the rehearsed search, {call} raised {failure['exception']}: {failure['message']}",
            AFTER_FIXES.get(call, RELOAD_FIX),
        )
    return found


def _used_up_data(
    trials: Sequence[Mapping[str, Any]], passed_alone: Mapping[str, int | None], data: str
) -> dict[int, str]:
    """The trials (by ``id``) that the search's data, passed as it is (``data`` names it; ``""``: none), failed
    after earlier trials used it, each with what it did, in a phrase: a trial that passed alone and failed reading
    the data or with no batch from it, or that completed on fewer batches than the first trial of the same values."""
    if not data:
        return {}
    blamed: dict[int, str] = {}
    first_batches: dict[str, int] = {}
    for trial in trials:
        label, batches = str(trial["label"]), trial.get("batches")
        status = trial.get("status")
        if label in passed_alone and status and status != COMPLETED:
            if trial.get("reading_data"):
                blamed[id(trial)] = f"failed reading it ({trial.get('message') or status})"
            elif batches == 0:
                blamed[id(trial)] = f"got no batch from it and failed ({trial.get('message') or status})"
        elif status == COMPLETED and isinstance(batches, int):
            had = first_batches.setdefault(label, batches)
            if batches < had:
                blamed[id(trial)] = (
                    f"trained on {batches} of the {had} batches its first trial of the same values trained on"
                )
    return blamed
