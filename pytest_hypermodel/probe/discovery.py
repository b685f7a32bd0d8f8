"""Discover the search space a hypermodel defines, by building it.

A build function declares its hyperparameters as it runs, so the space is
found by building with a recording ``HyperParameters`` and re-building with
each newly found hyperparameter at each of its levels until no new name
appears: that is how ``units_{i} for i < num_layers`` shows up. Every build
also records which names it *read*, so a hyperparameter that is only read
under some values of another (a dynamic one) gets an activation condition
just like one declared in a ``conditional_scope``.

Runs the user's code: in the probe process (``probe.parent``), which reports a build
that kills or hangs it so that discovery can go on without that build.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import keras
import keras_tuner as kt

from pytest_hypermodel.probe import heap
from pytest_hypermodel.rules import culprits, outcomes
from pytest_hypermodel.rules.outcomes import meaningful_line
from pytest_hypermodel.space.hyperparameters import KINDS, Condition, Param, SearchSpace, SpaceError
from pytest_hypermodel.space.plan import plan_levels


class RecordingHyperParameters(kt.HyperParameters):
    """``HyperParameters`` that remembers which names a build read, and rejects bad declarations early."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []
        #: name -> (the declaration's arguments, file:line) of its first declaration in this build.
        self.declared: dict[str, tuple[str, str]] = {}
        self.redeclared: list[str] = []
        #: name -> (absolute path, line) of the user's call that declared it: where a repair edits, where CI annotates.
        self.sites: dict[str, tuple[str, int]] = {}
        #: Each declaration that differs from the name's first: (name, first call, its file:line, this call, this
        #: call's absolute path, its line). KerasTuner keeps the first; the range of this one is never searched.
        self.redeclarations: list[tuple[str, str, str, str, str, int]] = []
        #: While the HyperModel's own fit() runs: the names it reads go to ``fit_reads`` too.
        self.in_fit = False
        self.fit_reads: list[str] = []
        #: What the build made (``waste.fingerprint``), taken before any fit.
        self.fingerprint: Any = None

    def _note_read(self, name: str) -> None:
        if name not in self.reads:
            self.reads.append(name)
        if self.in_fit and name not in self.fit_reads:
            self.fit_reads.append(name)

    def _retrieve(self, hp):
        self._note_read(hp.name)
        return super()._retrieve(hp)

    def get(self, name):
        value = super().get(name)
        self._note_read(self._get_name(name))
        return value

    def _declare(self, method: str, name: str, *args, **kwargs):
        low = kwargs.get("min_value", args[0] if method in ("Int", "Float") and args else None)
        high = kwargs.get("max_value", args[1] if method in ("Int", "Float") and len(args) > 1 else None)
        if low is not None and high is not None and low > high:
            raise SpaceError(
                f"hp.{method}({name!r}, min_value={low}, max_value={high}): "
                f"min_value is greater than max_value; swap them or fix the range"
            )
        self._note_declaration(method, name, args, kwargs)
        step = kwargs.get("step", args[2] if method in ("Int", "Float") and len(args) > 2 else None)
        if step is not None and not (isinstance(step, (int, float)) and step > 0):
            raise SpaceError(
                f"hp.{method}({name!r}, step={step!r}): the step must be more than 0; "
                f"give a positive step, or none for {'every integer' if method == 'Int' else 'a continuous range'}"
            )
        try:
            return getattr(super(), method)(name, *args, **kwargs)
        except SpaceError:
            raise
        except ValueError as exc:
            if "not defined" in str(exc) or "is currently inactive" in str(exc):
                raise
            raise SpaceError(f"hp.{method}({name!r}): {exc} Fix the declaration in the build function.") from exc

    def _note_declaration(self, method: str, name: str, args: tuple, kwargs: dict) -> None:
        """KerasTuner silently keeps the first declaration of a name: say so when a later one differs."""
        arguments = [repr(name), *map(repr, args), *(f"{k}={v!r}" for k, v in sorted(kwargs.items()))]
        call = f"hp.{method}({', '.join(arguments)})"
        path, line = _declaring_site()
        where = f"{Path(path).name}:{line}" if line else "?"
        self.sites.setdefault(self._get_name(name), (path, line))
        first = self.declared.setdefault(self._get_name(name), (call, where))
        if first[0] != call:
            told = (
                f"{name!r} is declared twice with different arguments: {first[0]} at {first[1]}, then {call} at "
                f"{where}; KerasTuner keeps the first and ignores the second: give them different names"
            )
            if told not in self.redeclared:
                self.redeclared.append(told)
                self.redeclarations.append((self._get_name(name), first[0], first[1], call, path, line))

    def Int(self, name, *args, **kwargs):
        return self._declare("Int", name, *args, **kwargs)

    def Float(self, name, *args, **kwargs):
        return self._declare("Float", name, *args, **kwargs)

    def Choice(self, name, *args, **kwargs):
        return self._declare("Choice", name, *args, **kwargs)

    def Boolean(self, name, *args, **kwargs):
        return self._declare("Boolean", name, *args, **kwargs)

    def Fixed(self, name, *args, **kwargs):
        return self._declare("Fixed", name, *args, **kwargs)


def _declaring_site() -> tuple[str, int]:
    """``("/abs/models.py", 12)``: the user's line that declared a hyperparameter (the first frame outside KerasTuner
    and us); ``("", 0)`` when there is none."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and any(part in frame.f_code.co_filename for part in ("keras_tuner", "pytest_hypermodel")):
        frame = frame.f_back
    return (str(Path(frame.f_code.co_filename).resolve()), frame.f_lineno) if frame is not None else ("", 0)


def forced(kt_config: dict, values: Mapping[str, Any]) -> RecordingHyperParameters:
    # from_config rewrites the config it is given: always hand it a copy.
    hp = RecordingHyperParameters.from_config({"space": copy.deepcopy(kt_config["space"]), "values": {}})
    hp.values = dict(values)
    # Keep only what KerasTuner itself would consider active, as a trial does.
    hp.values = {name: value for name, value in values.items() if name in hp._hps and hp.is_active(name)}
    return hp


def _sorted(values: Iterable) -> list:
    # KerasTuner builds some value tuples from sets: sort them for stable plans.
    return sorted(values, key=lambda v: (str(type(v)), v))


#: A stepped range longer than this is not enumerated (hp.Int("seed", 0, 10**9) has a billion values).
_ENUMERATED = 10_000


def _stepped_ends(hp) -> list:
    """The first values of a stepped range and its last, as KerasTuner produces them; every value when few."""
    first = list(itertools.islice(hp.values, _ENUMERATED + 1))
    if len(first) <= _ENUMERATED:
        return first
    # KerasTuner's own count of a stepped range (numerical.py, _get_n_values): the last value without the rest.
    if hp.sampling == "linear":
        last = hp.min_value + int((hp.max_value - hp.min_value) // hp.step) * hp.step
    else:  # log and reverse_log: ~10,000 values only for a step barely over 1
        count = int(math.log(hp.max_value / hp.min_value, hp.step) + 1e-8) + 1
        scaled = hp.min_value * math.pow(hp.step, count - 1)
        last = scaled if hp.sampling == "log" else hp.max_value + hp.min_value - scaled
    return [*first[:3], last]


def _param_from_kt(hp, conditions: tuple[Condition, ...] = (), dynamic: bool = False) -> Param:
    kind = KINDS.get(type(hp).__name__, "choice")
    note = None
    if kind in ("int", "float"):
        if hp.step is None:
            levels: tuple[Any, ...] = (hp.min_value, hp.max_value)
        else:
            values = _stepped_ends(hp)
            if hp.sampling == "linear":
                values = _sorted(values)
            levels = (values[0], values[-1]) if len(values) > 1 else (values[0],)
            if kind == "int" and any(isinstance(v, float) for v in values):
                note = (
                    f"KerasTuner's Int({hp.name!r}, step={hp.step}, sampling={hp.sampling!r}) "
                    f"yields floats {values[:3]}... which GridSearch passes to the build: cast with int()"
                )
        if len(levels) == 2 and levels[0] == levels[1]:
            levels = levels[:1]
        return Param(
            hp.name,
            kind,
            hp.default,
            tuple(levels),
            hp.min_value,
            hp.max_value,
            hp.step,
            hp.sampling,
            conditions,
            dynamic,
            note,
        )
    if kind == "boolean":
        return Param(hp.name, kind, hp.default, (False, True), conditions=conditions, dynamic=dynamic)
    if kind == "fixed":
        return Param(hp.name, kind, hp.default, (hp.value,), conditions=conditions, dynamic=dynamic)
    return Param(hp.name, kind, hp.default, tuple(hp.values), conditions=conditions, dynamic=dynamic)


@dataclass
class _Build:
    overrides: dict
    reads: list[str]
    error: BaseException | None
    #: The values of the names the build read, and what it made (``waste.fingerprint``; None: failed or unknown).
    values: dict = field(default_factory=dict)
    fingerprint: Any = None


def _made(hp: RecordingHyperParameters, overrides: dict, error: BaseException | None) -> _Build:
    values = {name: hp.values[name] for name in hp.reads if name in hp.values}
    return _Build(overrides, list(hp.reads), error, values, None if error is not None else hp.fingerprint)


def _overrides_fit(hypermodel) -> bool:
    return type(hypermodel).fit is not kt.HyperModel.fit


class BuildFault(Exception):
    """Stands in for a discovery build that killed or hung the probe process: that build is not run again."""


def fault_key(overrides: Mapping[str, Any]) -> str:
    """A stable name for one discovery build (the values it overrides), to tell which builds faulted."""
    return repr(sorted(overrides.items()))


@dataclass
class _Builder:
    """Runs discovery's builds: each under the time limit, announced first, and skipped when it faulted before."""

    hypermodel: Any
    timeout: float | None = None
    before_build: Callable[[dict], None] | None = None
    faults: Mapping[str, str] = field(default_factory=dict)
    input_shapes: Any = None
    #: Set by the first build: its model declares no input (no keras.Input), so data needs --hypermodel-input-shape.
    undeclared_input: bool = False
    #: The HyperModel's own fit() could not run (no data without an input shape): what it declares is unseen.
    unfitted: bool = False
    #: A model running code of its own could not run (no input shape): what it reads at run time is unseen.
    unrun: bool = False
    #: The given input shapes against the model's own keras.Input, when they disagree (the model's win).
    input_mismatch: str | None = None
    #: ``fit_arguments(model) -> (args, kwargs)``: the user's data for a HyperModel's own fit() (None: synthesized).
    fit_arguments: Callable[[Any], tuple[tuple, dict]] | None = None

    def __call__(self, hp: RecordingHyperParameters, overrides: dict, with_fit: bool = False) -> BaseException | None:
        fault = self.faults.get(fault_key(overrides))
        if fault is not None:
            return BuildFault(fault)
        if self.before_build is not None:
            self.before_build(overrides)
        return _build_once(self, hp, with_fit, first=not overrides)


def _build_once(
    builder: _Builder, hp: RecordingHyperParameters, with_fit: bool = False, first: bool = False
) -> BaseException | None:
    """Build (and, for a HyperModel with its own fit(), fit one epoch) to see what it declares."""
    from pytest_hypermodel.probe import data

    hypermodel = builder.hypermodel
    fitting = False  # a HyperModel's own fit() failing is not the build's: the tuner's constructor never fits
    try:
        with outcomes.time_limit(builder.timeout) as limit:
            model = hypermodel.build(hp)
            hp.fingerprint = _fingerprint(model)
            if first:  # at the defaults
                builder.undeclared_input = isinstance(model, keras.Model) and not data.declares_inputs(model)
                if builder.input_shapes and isinstance(model, keras.Model) and not builder.undeclared_input:
                    builder.input_mismatch = _input_mismatch(model, builder.input_shapes)
            if with_fit and isinstance(model, keras.Model) and builder.fit_arguments is not None:
                # The search's own data and fit() arguments, as each case gets them: one epoch.
                args, kwargs = builder.fit_arguments(model)
                fitting = True
                with _fitting(hp):
                    hypermodel.fit(hp, model, *args, **{**kwargs, "epochs": 1, "verbose": 0})
            elif with_fit and isinstance(model, keras.Model):
                try:
                    x, y = data.synthesize(model, samples=8, input_shapes=builder.input_shapes)
                except data.DataError:  # no input shape: the build itself is fine, its fit() goes unseen
                    builder.unfitted = True
                else:
                    fitting = True
                    with _fitting(hp):
                        hypermodel.fit(hp, model, x, y, epochs=1, verbose=0)
            elif first and isinstance(model, keras.Model) and runs_code_of_its_own(model):
                _run_once(builder, model)
            if limit.struck:  # where the error was swallowed (a __del__): the build ran past it all the same
                return limit.error()
    except SpaceError:
        raise
    except Exception as exc:  # the build's own failure is a result, not a discovery error
        return None if fitting and not isinstance(exc, outcomes.CaseTimeout) else exc  # the cases show a fit's
    except BaseException as exc:  # sys.exit(), KeyboardInterrupt or another class KerasTuner does not catch
        if not outcomes.raised_by_the_build(exc):  # a real Ctrl-C or SIGTERM: stop the run
            raise
        return None if fitting else exc
    finally:
        keras.backend.clear_session()
    return None


@contextlib.contextmanager
def _fitting(hp: RecordingHyperParameters) -> Iterator[None]:
    """The names read inside are the HyperModel's fit()'s (``hp.fit_reads``)."""
    hp.in_fit = True
    try:
        yield
    finally:
        hp.in_fit = False


def _fingerprint(model: Any) -> Any:
    """``waste.fingerprint``: never the build's failure."""
    from pytest_hypermodel.probe import waste

    try:
        return waste.fingerprint(model, isinstance(model, keras.Model) and runs_code_of_its_own(model))
    except Exception:
        return None


def runs_code_of_its_own(model: keras.Model) -> bool:
    """Whether running ``model`` runs code that is not Keras's (a subclass's ``call`` or ``train_step``, a
    ``Lambda``, a custom layer): code that may read a hyperparameter only when the model runs, as KerasTuner's
    trial does and its constructor does not."""
    return any(
        isinstance(layer, keras.layers.Lambda) or not type(layer).__module__.startswith("keras.")
        for layer in model._flatten_layers(include_self=True)
    )


def _run_once(builder: _Builder, model: keras.Model) -> None:
    """One training step (a forward pass when the model is not compiled), so that a hyperparameter read at run
    time registers as the first trial would register it: on the search's data where it is given (a subclassed
    model declares no input shape, and the first trial runs it on that data), else on data synthesized from the
    model. Its failure is not the build's: the cases show it."""
    from pytest_hypermodel.probe import data

    args: tuple = ()
    kwargs: dict = {"batch_size": 2}
    if builder.fit_arguments is not None:
        try:
            args, given = builder.fit_arguments(model)
        except Exception:  # the cases meet what the data's preparation raises
            args = ()
        else:
            kwargs = {k: v for k, v in given.items() if k not in ("callbacks", "epochs", "verbose")}
    if not args:
        try:
            args = data.synthesize(model, samples=2, input_shapes=builder.input_shapes)
        except data.DataError:  # no input shape and no data: what it reads at run time goes unseen
            builder.unrun = True
            return
    try:
        if model.compiled:
            model.fit(*args, **{**kwargs, "epochs": 1, "verbose": 0})
        else:
            model(args[0])
    except Exception:
        pass


def discover(
    hypermodel,
    max_builds: int = 200,
    timeout: float | None = None,
    before_build: Callable[[dict], None] | None = None,
    faults: Mapping[str, str] | None = None,
    input_shapes=None,
    fit_arguments: Callable[[Any], tuple[tuple, dict]] | None = None,
    oracle: Any = None,
) -> SearchSpace:
    """Build until no new hyperparameter appears; raise SpaceError on a bad declaration.

    ``timeout`` limits each build (a build past it failed, as a case would); ``before_build(overrides)`` is
    told of each build before it runs, and ``faults`` (``fault_key`` -> what happened) names builds that killed
    or hung the process before: they count as failed builds and are not run again. ``oracle``: the user's
    tuner's, whose space the search's trials start from (see :class:`_Tuned`).
    """
    heap.settle(recheck=True)  # each build clears Keras's session: a full collection
    builder = _Builder(hypermodel, timeout, before_build, faults or {}, input_shapes, fit_arguments=fit_arguments)
    with outcomes.interrupts_told_apart():
        return _discover(hypermodel, max_builds, builder, _Tuned.of(oracle))


@dataclass(frozen=True)
class _Tuned:
    """What a tuner's oracle makes of the build's declarations, as KerasTuner's ``Oracle.update_space`` does.

    Each trial's hyperparameters start as the oracle's space (``oracle.get_space()``): a name the tuner was given
    (``hyperparameters=``, often ``hp.Fixed`` or another range) keeps the tuner's definition whatever the build
    declares, and with ``tune_new_entries=False`` a name the build adds is never tuned: it keeps its default in
    every trial. The plan varies what the search varies, no more and no less.
    """

    space: tuple = ()
    tune_new: bool = True

    @classmethod
    def of(cls, oracle: Any) -> _Tuned:
        """None, or an oracle that holds trials, is the build's declarations alone: such an oracle carries a
        project's space (reloaded from its directory, or searched already), which the project check compares with
        the build's (``rules.project``: "KerasTuner will reload the old space")."""
        if oracle is None or getattr(oracle, "hyperparameters", None) is None or getattr(oracle, "trials", None):
            return cls()
        return cls(tuple(copy.deepcopy(oracle.hyperparameters.space)), bool(getattr(oracle, "tune_new_entries", True)))

    def held(self, config: dict) -> dict:
        """``config`` with each name the tuner does not tune (``tune_new_entries=False``) fixed at its default."""
        if self.tune_new:
            return config
        given = {hp.name for hp in self.space}
        space = []
        for entry, hp in zip(config["space"], _space_of(config)):
            if hp.name not in given and entry["class_name"] != "Fixed":
                conditions = entry["config"].get("conditions", [])
                entry = {
                    "class_name": "Fixed",
                    "config": {"name": hp.name, "value": hp.default, "conditions": conditions},
                }
            space.append(entry)
        return {**config, "space": space}


def _discover(hypermodel, max_builds: int, build: _Builder, tuned: _Tuned = _Tuned()) -> SearchSpace:
    root = RecordingHyperParameters()
    root.merge(list(tuned.space))  # as a trial's: the oracle's space first, whatever the build declares
    # A HyperModel may declare hyperparameters in its own fit(), as KerasTuner allows.
    first_error = build(root, {}, with_fit=_overrides_fit(hypermodel))
    builds = [_made(root, {}, first_error)]
    fit_reads = set(root.fit_reads)
    redeclarations = list(root.redeclarations)
    config = tuned.held(copy.deepcopy(root.get_config()))
    known = [hp.name for hp in root.space]
    defaults = {hp.name: hp.default for hp in root.space}
    context: dict[str, dict] = {name: {} for name in known}
    queue: list[dict] = []
    warnings: list[str] = []  # a redeclared name is a health finding (``redeclarations``), not a warning
    sites = dict(root.sites)

    def explore(names: list[str]) -> None:
        for name in names:
            hp = next(h for h in _space_of(config) if h.name == name)
            base = dict(context[name])
            for condition in hp.conditions:
                base.setdefault(condition.name, condition.values[0])
            for level in plan_levels(_param_from_kt(hp)):  # the values the plan probes: not 10,000 builds
                if level != hp.default:
                    queue.append({**base, name: level})

    explore(known)
    while queue and len(builds) < max_builds:
        overrides = queue.pop(0)
        hp = forced(config, {**defaults, **overrides})
        error = build(hp, overrides)
        builds.append(_made(hp, overrides, error))
        fit_reads.update(hp.fit_reads)
        redeclarations.extend(r for r in hp.redeclarations if r[0] not in {d[0] for d in redeclarations})
        for name, site in hp.sites.items():
            sites.setdefault(name, site)
        new = [h for h in hp.space if h.name not in known]
        if new:
            config = tuned.held(
                {
                    "space": config["space"]
                    + [{"class_name": h.__class__.__name__, "config": h.get_config()} for h in new],
                    "values": {},
                }
            )
            for h in new:
                known.append(h.name)
                defaults[h.name] = h.default
                context[h.name] = dict(overrides)
            explore([h.name for h in new])
    if build.unfitted:
        warnings.append(
            f"{type(hypermodel).__name__}.fit() did not run during discovery (the model declares no input shape): "
            "hyperparameters that fit() declares are missing from the plan; pass --hypermodel-input-shape"
        )
    if build.unrun:
        warnings.append(
            "the model runs code of its own (a subclass's call(), a Lambda, a custom layer) and could not run during "
            "discovery (it declares no input shape): hyperparameters read only when it runs are missing from the "
            "plan; pass --hypermodel-input-shape"
        )
    if build.input_mismatch:
        warnings.append(build.input_mismatch)
    params = tuple(_make_param(h, builds, context) for h in _space_of(config))
    unused = _unused(hypermodel, build, config, params, builds, fit_reads)
    found = ", ".join(p.name for p in params) or "none"
    if isinstance(first_error, outcomes.CaseTimeout):
        # KerasTuner sets no time limit: a slow default build is time spent, not a tuner that cannot be created.
        warnings.append(
            f"the build with the default values ran past the time limit ({outcomes.text_of(first_error)}; KerasTuner "
            f"sets none, so its search would wait): discovery found only the hyperparameters declared before that "
            f"point ({found}); raise --hypermodel-timeout to find the rest"
        )
        first_error = None
    if first_error is not None:
        warnings.append(
            f"the build with the default values failed ({type(first_error).__name__}: "
            f"{meaningful_line(outcomes.text_of(first_error))}): "
            "discovery found only the hyperparameters declared before "
            f"that point ({found}); any declared after it is missing from the plan"
        )
    default_error = None if first_error is None else f"{type(first_error).__name__}: {outcomes.text_of(first_error)}"
    return SearchSpace(
        params,
        {"space": config["space"], "values": {}},
        default_error,
        len(builds),
        tuple(warnings),
        build.undeclared_input,
        tuple(_unfinished(builds, params)),
        sites={name: site for name, site in sites.items() if site[1]},
        definition=_definition(hypermodel),
        reads=tuple((dict(b.overrides), tuple(b.reads)) for b in builds if b.error is None),
        redeclarations=tuple(redeclarations),
        unused=tuple((u.name, u.values) for u in unused),
    )


def _unused(hypermodel, build: _Builder, config: dict, params, builds: list[_Build], fit_reads: set[str]) -> list:
    """``waste.unused`` over discovery's builds; nothing when the HyperModel's own fit() could not run (what it
    reads is unknown)."""
    from pytest_hypermodel.probe import waste

    if build.unfitted or (_overrides_fit(hypermodel) and builds[0].error is not None):
        return []

    def rebuild(values: Mapping[str, Any]) -> Any:
        hp = forced(config, {**{p.name: p.default for p in params}, **values})
        if build.before_build is not None:  # the same values built before: announced all the same
            build.before_build(dict(values))
        return None if _build_once(build, hp) is not None else hp.fingerprint

    names = [p.name for p in params if p.kind != "fixed"]
    return waste.unused(names, [waste.Build(b.values, b.fingerprint) for b in builds], fit_reads, rebuild)


def _input_mismatch(model: keras.Model, given: Any) -> str | None:
    """``--hypermodel-input-shape`` that disagrees with the model's own ``keras.Input``: a line saying which wins;
    None when they agree (or cannot be compared)."""
    inputs = list(getattr(model, "inputs", None) or [])
    declared = [tuple(t.shape[1:]) for t in inputs]
    if isinstance(given, dict):
        named = {getattr(t, "name", "").split(":")[0]: tuple(t.shape[1:]) for t in inputs}
        pairs: list[tuple[str, Any, Any]] = [
            (name, shape, named[name]) for name, shape in given.items() if name in named
        ]
    else:
        if len(given) != len(declared):
            pairs = [("", tuple(given[0]) if len(given) == 1 else tuple(map(tuple, given)), declared)]
        else:
            pairs = [("", tuple(shape), own) for shape, own in zip(given, declared)]
    wrong = [(name, shape, own) for name, shape, own in pairs if shape != own]
    if not wrong:
        return None

    def text(shape: Any) -> str:
        return (
            ",".join("None" if d is None else str(d) for d in shape)
            if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape)
            else str(shape)
        )

    shown = "; ".join(
        f"{name + '=' if name else ''}{text(shape)} given, {text(own)} declared" for name, shape, own in wrong
    )
    return (
        f"--hypermodel-input-shape disagrees with the model's own keras.Input ({shown}): the model's input "
        "is used; the option is only for models without keras.Input, so drop it or fix one of them"
    )


def _definition(hypermodel) -> tuple[str, int] | None:
    """Where the build function (or the HyperModel's build method) is defined: the fallback line to point at.

    The user's code, not KerasTuner's: a HyperModel's ``build`` is KerasTuner's ``_build_wrapper`` once the
    instance exists (its own ``build`` is kept as ``_build``), and a policy's or a tuner's wrapper holds the user's
    hypermodel as ``hypermodel``; a warning shown at the wrapper would point into keras_tuner."""
    seen: set[int] = set()
    while id(hypermodel) not in seen:
        seen.add(id(hypermodel))
        for build in (getattr(hypermodel, "_build", None), getattr(hypermodel, "build", None), hypermodel):
            code = getattr(getattr(build, "__func__", build), "__code__", None)
            if code is not None and not _library_file(code.co_filename):
                return str(Path(code.co_filename).resolve()), code.co_firstlineno
        inner = getattr(hypermodel, "hypermodel", None)
        if inner is None:
            break
        hypermodel = inner
    return None


def _library_file(filename: str) -> bool:
    """A file of KerasTuner, Keras or this plugin: never the place a warning about the user's space points at."""
    path = Path(filename).resolve()
    return any(path.is_relative_to(folder) for folder in _LIBRARY_FOLDERS)


#: The installed packages whose code wraps the user's build: KerasTuner, Keras and this plugin.
_LIBRARY_FOLDERS = (
    Path(kt.__file__ or "").resolve().parent,
    Path(keras.__file__ or "").resolve().parent,
    Path(__file__).resolve().parents[1],
)


def _unfinished(builds: list[_Build], params: tuple[Param, ...]) -> list[str]:
    """Discovery builds that failed before reading every unconditional hyperparameter: what they would have
    declared after that point (a hyperparameter only that value reveals) cannot be in the plan. Usually a
    genuinely failing value (a too-deep conv stack), so the plan lists them rather than warning."""
    always = [p.name for p in params if not p.conditions and not p.dynamic]
    lines = []
    for build in builds[1:]:
        unread = [name for name in always if name not in build.reads and name not in build.overrides]
        if build.error is not None and unread:
            values = ", ".join(f"{k}={v!r}" for k, v in build.overrides.items())
            error = f"{type(build.error).__name__}: {meaningful_line(outcomes.text_of(build.error))}"
            lines.append(f"{values} failed ({error}) before reading {', '.join(unread)}")
    return lines


def _space_of(config: dict):
    return kt.HyperParameters.from_config({"space": copy.deepcopy(config["space"]), "values": {}}).space


def _make_param(hp, builds: list[_Build], context: dict[str, dict]) -> Param:
    conditions = tuple(Condition(c.name, tuple(c.values)) for c in hp.conditions)
    ctx = context[hp.name]
    if conditions or not ctx or hp.name in builds[0].reads:
        return _param_from_kt(hp, conditions)
    # Dynamic: read only after some other hyperparameter moved. Its parent is the
    # last one moved in the context that revealed it; it is active at the parent's
    # values under which a build (with the rest of that context) read it.
    parent = list(ctx)[-1]
    rest = {k: v for k, v in ctx.items() if k != parent}
    active_values = []
    for build in builds:
        same_rest = all(build.overrides.get(k, None) == v for k, v in rest.items())
        if same_rest and set(build.overrides) <= set(ctx) and hp.name in build.reads:
            value = build.overrides.get(parent, None)
            if value is not None and value not in active_values:
                active_values.append(value)
    return _param_from_kt(hp, (Condition(parent, tuple(active_values)),), dynamic=True)


def hyperparameters(space: SearchSpace, values: Mapping[str, Any]) -> RecordingHyperParameters:
    """A KerasTuner ``HyperParameters`` forced to ``values`` (over the defaults), as a trial would hold it."""
    return forced(space.kt_config, {**space.defaults(), **values})


#: The most builds ``drop_unread`` makes to learn what a combination of structural values reads.
MAX_READ_BUILDS = 16


def drop_unread(
    hypermodel,
    space: SearchSpace,
    draws: list[tuple[int, list[dict]]],
    timeout: float | None = None,
    before: Callable[[], None] | None = None,
) -> list[tuple[int, list[dict]]]:
    """The drawn trials with each value their build would not read set back to its default.

    KerasTuner draws a value for every hyperparameter it knows, also for ``pooling2`` when ``conv_layers=2``
    stops the loop before reading it; such a trial completes whatever ``pooling2`` holds. Which names a build
    reads depends on the *structural* hyperparameters (those whose value changed what a discovery build read);
    each combination of their values drawn is built once (discovery's builds are reused; at most
    MAX_READ_BUILDS more, ``before()`` told before the first), and a drawn value of a name that combination does
    not read is moved to the default.
    """
    # Only what a build reads can go unread: the defaults' first build also ran fit() (and the model, for code of
    # its own), whose reads the other builds, and these, never see.
    built_reads = set().union(*(reads for over, reads in space.reads if over))
    seen: dict[frozenset[tuple[str, Any]], set[str] | None] = {
        culprits.key(over): set(reads) & built_reads for over, reads in space.reads
    }
    everything = seen.get(frozenset())
    if everything is None:
        return draws
    structural = [
        p.name
        for p in space
        if any(over.keys() == {p.name} and seen[culprits.key(over)] != everything for over, _ in space.reads)
    ]
    if not structural:
        return draws
    defaults, built = space.defaults(), 0

    def reads_of(combo: dict) -> set[str] | None:
        nonlocal built
        k = culprits.key(combo)
        if k not in seen:
            if built >= MAX_READ_BUILDS:
                return None
            if not built and before is not None:
                before()
            built += 1
            hp = hyperparameters(space, combo)
            try:
                with outcomes.time_limit(timeout) as limit:
                    hypermodel.build(hp)
                seen[k] = None if limit.struck else set(hp.reads) & built_reads
            except Exception:
                seen[k] = None
            finally:
                keras.backend.clear_session()
        return seen[k]

    out = []
    for seed, trials in draws:
        kept = []
        for values in trials:
            combo = {n: values[n] for n in structural if n in values and values[n] != defaults.get(n)}
            reads = reads_of(combo)
            unread = set() if reads is None else built_reads - reads
            kept.append({n: defaults.get(n, v) if n in unread else v for n, v in values.items()})
        out.append((seed, kept))
    return out
