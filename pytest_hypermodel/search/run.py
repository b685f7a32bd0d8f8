"""The real KerasTuner search, under the policy the preflight judged the space by.

``Policy.tuner(tuner_class, hypermodel, **kwargs)`` (or ``make_tuner``) builds
the tuner with the policy's KerasTuner arguments (``max_retries_per_trial``,
``max_consecutive_failed_trials``, ``max_model_size``) and wraps the
hypermodel in a ``PolicyHyperModel``, which re-raises what its build and fit
raise as the policy's ``on`` mapping says:

- ``fail_trial``: ``FailedTrialError`` (the trial FAILS at once, no retries);
- ``fatal``: ``FatalError`` (KerasTuner stops the whole search);
- ``retry`` or no mapping: the exception as it was (KerasTuner retries it up
  to ``max_retries_per_trial`` times, then fails the trial).

Exceptions are matched by class name along their MRO, most specific first,
then by outcome (``oom`` for out-of-memory errors, as ``outcomes.classify``
says), exactly as ``Policy.action_for`` judges a probe. KerasTuner's own
``FailedTrialError`` and ``FatalError`` pass through untouched.

``nan`` mapped to ``fail_trial`` or ``fatal`` adds a callback to every fit
that raises the mapped error when the objective (``loss`` if the logs lack
it) is NaN at the end of the fit's first epoch: the only case in which
KerasTuner's objective is NaN (it keeps epoch 0 and moves only to strictly
better epochs, tuner_utils.py) and would otherwise be retried as INVALID.
A NaN after a finite first epoch leaves the trial COMPLETED, as the
preflight predicts. ``diverged``, ``timeout``, ``crash`` and the policy's
``memory_budget`` are judged by the preflight only: the search does not act
on them.

``run`` is the body of ``python -m pytest_hypermodel search`` once its
arguments are parsed (``cli``): it refuses to start (exit 2, one line)
unless the preflight's JSON report lets it (``gate``), and, without
``--overwrite``, when the project's ``oracle.json`` (which KerasTuner would
reload) holds another search space (``project.check``); it exits 1
when KerasTuner aborts the search (too many failed trials, FatalError).
It works in KerasTuner's distributed mode (``chief``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import importlib.util
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
from keras_tuner.src import config as kt_config
from keras_tuner.src.distribute import utils as dist_utils

from pytest_hypermodel.rules.outcomes import ACTIONS
from pytest_hypermodel.rules.policy import Policy
from pytest_hypermodel.rules.policy_hypermodel import TUNER_ARGUMENTS, PolicyHyperModel
from pytest_hypermodel.search.chief import _is_rpc_error, chief_answers_last_worker
from pytest_hypermodel.search.gate import Refused, check_gate
from pytest_hypermodel.space.words import plural

EXIT_OK = 0
EXIT_ABORTED = 1
EXIT_REFUSED = 2


def policy_from_args(args: argparse.Namespace) -> Policy:
    """The Policy the flags describe, with the plugin's defaults; ValueError on bad values."""
    on = {}
    for line in args.on:
        name, sep, action = line.partition("=")
        if not sep or not name.strip() or action.strip() not in ACTIONS:
            raise ValueError(f"--on {line!r}: write NAME=ACTION with ACTION one of {', '.join(ACTIONS)}")
        on[name.strip()] = action.strip()
    budget = None
    if args.memory_budget:
        from pytest_hypermodel.engine.settings import parse_size

        budget = parse_size(args.memory_budget)  # a SettingError is a ValueError
    return Policy(
        max_retries_per_trial=args.max_retries_per_trial,
        max_consecutive_failed_trials=args.max_consecutive_failed_trials,
        max_model_size=args.max_model_size,
        memory_budget=budget,
        on=on,
    )


def check_project(args: argparse.Namespace, project_name: str, space) -> None:
    """Without ``--overwrite``, KerasTuner reloads ``DIR/NAME/oracle.json``: refused (one line) when that oracle
    holds another space than the one preflighted; the project is only read."""
    from pytest_hypermodel.rules import project

    if args.overwrite:
        return
    project_dir = Path(args.directory) / project_name
    try:
        project.check(
            project_dir, str(project_dir), space.kt_config, [p.name for p in space if p.dynamic], project.SEARCH_FIX
        )
    except project.ProjectError as exc:
        raise Refused(str(exc)) from None


def _load_callable(text: str, cwd: Path):
    from pytest_hypermodel.space.target import SpecError, load_callable

    try:
        return load_callable(text, cwd, "--data")
    except SpecError as exc:
        raise Refused(str(exc)) from None


def fit_arguments(
    args: argparse.Namespace, hypermodel, space, cwd: Path, objective: str | None = None
) -> tuple[tuple, dict]:
    """``search()``'s data: from ``--data``, or synthesized from the default-built model (validation data too,
    for a ``val_`` objective)."""
    if not args.data and not getattr(args, "synthesize", False):
        raise Refused(
            f"{args.spec}: pass the search's data with --data module:callable (what you pass to "
            "tuner.search), or --synthesize to search on synthesized data (a smoke run)"
        )
    if args.data:
        provided = _load_callable(args.data, cwd)()
        if isinstance(provided, dict):
            kwargs = dict(provided)
            if "x" not in kwargs:
                raise Refused(f"--data {args.data}: the dict needs an 'x' (and 'y') entry")
            return (kwargs.pop("x"), kwargs.pop("y", None)), kwargs
        try:
            x, y = provided
        except (TypeError, ValueError):
            raise Refused(f"--data {args.data}: return (x, y) or a dict of fit keyword arguments") from None
        return (x, y), {}
    from pytest_hypermodel.probe import data as data_mod
    from pytest_hypermodel.probe import discovery

    try:
        model = hypermodel.build(discovery.hyperparameters(space, space.defaults()))
        x, y = data_mod.synthesize(model, args.samples, seed=0)
        kwargs = {}
        if str(objective or args.objective).startswith("val_"):
            kwargs["validation_data"] = data_mod.synthesize(model, args.samples, seed=1)
    except Exception as exc:
        raise Refused(
            f"cannot synthesize data from {args.spec}'s default model ({type(exc).__name__}: {exc}): "
            f"pass --data module:callable"
        ) from None
    finally:
        keras.backend.clear_session()
    return (x, y), kwargs


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0]} (last: {lines[-1]})"


def summary_lines(tuner, hypermodel: PolicyHyperModel) -> list[str]:
    """Trials by status, the best values, and what the policy mapped."""
    if dist_utils.has_chief_oracle() and not dist_utils.is_chief_oracle():
        lines = [f"{tuner.tuner_id}: done; the chief holds the trials ({tuner.project_dir})"]
    else:
        trials = list(tuner.oracle.trials.values())
        statuses = Counter(str(t.status) for t in trials)
        lines = [f"{plural(len(trials), 'trial')}: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))]
        for trial in tuner.oracle.get_best_trials(3):
            values = ", ".join(f"{k}={v}" for k, v in trial.hyperparameters.values.items())
            lines.append(f"trial {trial.trial_id}: score={trial.score:.6g} {values}")
    if hypermodel.mapped:
        lines.append("policy mapped: " + ", ".join(f"{n} x {what}" for what, n in sorted(hypermodel.mapped.items())))
    return lines


def _start_line(args: argparse.Namespace, tuner, policy: Policy) -> str:
    """What is about to run; printed (flushed) before the search blocks."""
    if dist_utils.has_chief_oracle():
        address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
        if dist_utils.is_chief_oracle():
            return f"{tuner.tuner_id}: serving the oracle on {address} until the workers are done"
        return f"{tuner.tuner_id}: searching with the oracle at {address}"
    settings = ", ".join(f"{name}={getattr(policy, name)}" for name in TUNER_ARGUMENTS)
    mapped = ", ".join(f"{name}={action}" for name, action in sorted(policy.on.items()))
    data = "" if args.data else f", on {args.samples} synthesized examples (--synthesize)"
    return (
        f"searching {args.spec} with {type(tuner).__name__} ({settings}{'; ' + mapped if mapped else ''}) in "
        f"{tuner.project_dir}{data}"
    )


def _tuner_arguments(args: argparse.Namespace, project_name: str) -> tuple[dict, dict]:
    tuner_kwargs: dict[str, Any] = {
        "objective": args.objective,
        "directory": args.directory,
        "project_name": project_name,
        "overwrite": args.overwrite,
    }
    if args.seed is not None:
        tuner_kwargs["seed"] = args.seed
    # As KerasTuner's search(verbose=...): the oracle's display and model.fit share it.
    fit_kwargs: dict[str, Any] = {"verbose": args.verbose}
    if args.tuner == "Hyperband":
        if args.max_trials is not None:
            raise Refused("--max-trials does not apply to Hyperband: set --epochs (its max_epochs)")
        tuner_kwargs["max_epochs"] = args.epochs or 1
    else:
        if args.max_trials is not None:
            tuner_kwargs["max_trials"] = args.max_trials
        fit_kwargs["epochs"] = args.epochs or 1
    return tuner_kwargs, fit_kwargs


#: The flags a user's own tuner sets itself (by ``dest``): refused with a SPEC that names a function returning one.
TUNER_FLAGS = {
    "tuner": "--tuner",
    "objective": "--objective",
    "max_trials": "--max-trials",
    "seed": "--seed",
    "directory": "--directory",
    "project_name": "--project-name",
    "overwrite": "--overwrite",
    "max_retries_per_trial": "--max-retries-per-trial",
    "max_consecutive_failed_trials": "--max-consecutive-failed-trials",
    "max_model_size": "--max-model-size",
}


def _tuner_settings(args: argparse.Namespace, target, space, policy: Policy) -> tuple[Policy, str | None]:
    """For a SPEC naming the user's tuner: its policy fields over the flags' policy, and its objective; its
    project checked (refused, one line, when KerasTuner would reload another space). Refuses the flags the tuner
    sets itself, and a tuner made at import."""
    from pytest_hypermodel.probe.prepare import TUNERS
    from pytest_hypermodel.rules import project
    from pytest_hypermodel.space import user_tuner

    name = target.name
    repeated = [flag for dest, flag in TUNER_FLAGS.items() if dest in getattr(args, "given", ())]
    if repeated:
        raise Refused(
            f"{', '.join(repeated)}: {name}() returns the tuner, which sets {'these' if len(repeated) > 1 else 'this'} "
            "itself: remove the flag, or change the tuner"
        )
    if target.factory is None:
        raise Refused(
            f"{args.spec} is a tuner created when its module is imported: point the SPEC at a function "
            "that returns it (def make_tuner(): return keras_tuner.RandomSearch(...))"
        )
    described = user_tuner.describe(target.tuner, TUNERS, target.project)
    own = described.project
    if own:
        try:
            project.check(own, own, space.kt_config, [p.name for p in space if p.dynamic], project.TUNER_FIX)
        except project.ProjectError as exc:
            raise Refused(str(exc)) from None
    return dataclasses.replace(policy, **described.policy_fields), described.objective


def _apply_defaults(args: argparse.Namespace) -> None:
    """The flags' defaults for a bare hypermodel (a tuner sets its own)."""
    for dest, default in (
        ("tuner", "GridSearch"),
        ("objective", "val_loss"),
        ("directory", "hypermodel_search"),
        ("max_retries_per_trial", 0),
        ("max_consecutive_failed_trials", 3),
    ):
        if getattr(args, dest, None) is None:
            setattr(args, dest, default)


def run(args: argparse.Namespace) -> int:
    """``python -m pytest_hypermodel search``: gate on the preflight, then search. Returns the exit status."""
    from pytest_hypermodel.probe import discovery
    from pytest_hypermodel.rules import verdict
    from pytest_hypermodel.space import hyperparameters
    from pytest_hypermodel.space import target as target_mod

    cwd = Path.cwd()
    prog = "pytest_hypermodel search"
    try:
        conftest = None
        if ":" not in args.spec and (cwd / "conftest.py").is_file():
            conftest = _import_conftest(cwd / "conftest.py")
        try:
            target = target_mod.resolve(args.spec, cwd, conftest)
            space = discovery.discover(target.hypermodel, oracle=target.tuner.oracle if target.tuner else None)
        except (target_mod.SpecError, hyperparameters.SpaceError) as exc:
            raise Refused(str(exc)) from None
        own = target.tuner is not None
        if not own:
            _apply_defaults(args)
        try:
            policy = policy_from_args(args)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        objective: str | None = str(args.objective)
        if own:
            policy, objective = _tuner_settings(args, target, space, policy)
        else:
            project_name = args.project_name or target.name
            check_project(args, project_name, space)
        fingerprint = verdict.fingerprint(space.kt_config, policy)
        check_gate(Path(args.report), target, fingerprint, policy, cwd, objective)
        if own:
            fit_kwargs = {"verbose": args.verbose, **({"epochs": args.epochs} if args.epochs else {})}
        else:
            tuner_kwargs, fit_kwargs = _tuner_arguments(args, project_name)
        fit_args, data_kwargs = fit_arguments(args, target.hypermodel, space, cwd, objective)
        fit_kwargs = {**data_kwargs, **fit_kwargs} if own else {**fit_kwargs, **data_kwargs}
    except Refused as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_REFUSED

    debug = kt_config.DEBUG
    if args.verbose == 0:
        # KerasTuner prints the traceback of every failed trial to stderr while DEBUG is on (its default).
        kt_config.DEBUG = False
    try:
        if own:  # the user's tuner, made for real this time: its project, its overwrite
            tuner = target.factory()
            tuner.hypermodel = PolicyHyperModel(tuner.hypermodel, policy)
            tuner.hypermodel.objective = tuner.oracle.objective
        else:
            tuner = policy.tuner(getattr(kt, args.tuner), hypermodel=target.hypermodel, **tuner_kwargs)
        print(_start_line(args, tuner, policy), flush=True)
        # KerasTuner calls gc.collect() twice per trial (tuner.py, _try_build), which walks
        # TensorFlow's whole heap: about 0.15 s a build here. Freezing what start-up allocated
        # keeps those collections to the trial's own objects.
        gc.collect()
        gc.freeze()
        with chief_answers_last_worker() if dist_utils.is_chief_oracle() else contextlib.nullcontext():
            tuner.search(*fit_args, **fit_kwargs)
    except ImportError as exc:  # BayesianOptimization without scikit-learn
        print(f"{prog}: {args.tuner or 'the tuner'}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_REFUSED
    except kt.errors.FatalError as exc:
        print(f"{prog}: the search stopped: FatalError: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ABORTED
    except RuntimeError as exc:
        print(f"{prog}: KerasTuner aborted the search: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ABORTED
    except Exception as exc:
        if not _is_rpc_error(exc):
            raise
        address = f"{os.environ.get('KERASTUNER_ORACLE_IP')}:{os.environ.get('KERASTUNER_ORACLE_PORT')}"
        code, details = getattr(exc, "code", lambda: None)(), getattr(exc, "details", lambda: None)()
        why = f"{getattr(code, 'name', code)}: {details}" if code is not None else _one_line(exc)
        print(
            f"{prog}: the chief's oracle at {address} stopped answering ({why}): "
            f"see the chief's output, which holds the trials",
            file=sys.stderr,
        )
        return EXIT_ABORTED
    finally:
        gc.unfreeze()
        kt_config.DEBUG = debug
    for line in summary_lines(tuner, tuner.hypermodel):
        print(line)
    return EXIT_OK


def _import_conftest(path: Path):
    module_spec = importlib.util.spec_from_file_location("conftest", path)
    if module_spec is None or module_spec.loader is None:
        raise Refused(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(path.parent))
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise Refused(f"importing {path} raised {type(exc).__name__}: {exc}") from None
    return module
