"""``@pytest.mark.search_space(build, ...)`` tests and their ``hypermodel_case`` fixture.

Each test using the fixture is parametrized over the planned cases of the
marker's space; the fixture probes the case and hands the test its values,
its ``HyperParameters``, the built model and the probe result. Imported only
when a collected test uses the fixture (it imports Keras).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_hypermodel.engine.engine import judge
from pytest_hypermodel.plugin.collect import CaseRef, long_failure
from pytest_hypermodel.plugin.options import MARKER, probe_settings, setting
from pytest_hypermodel.plugin.options import MARKER_SIGNATURE as SIGNATURE
from pytest_hypermodel.probe import fit
from pytest_hypermodel.probe.fit import parse_input_shapes
from pytest_hypermodel.probe.prepare import Preflight
from pytest_hypermodel.rules import offline
from pytest_hypermodel.rules.expect import Expectation
from pytest_hypermodel.rules.policy import Disposition, Policy
from pytest_hypermodel.rules.verdict import FAIL, PASS, XFAIL
from pytest_hypermodel.space import plan as plan_mod

ALLOWED = ("build", "strategy", "strength", "levels", "max_cases", "expect", "policy", "input_shape")
CACHE_KEY = pytest.StashKey[dict]()
#: Per test function and policy: where its default case started (``fit.Result.start_loss``), which a divergence
#: of its other cases is judged against.
REFERENCE_KEY = pytest.StashKey[dict]()


@dataclass(frozen=True)
class MarkerOptions:
    build: Any
    strategies: tuple[str, ...]
    strength: int | None
    levels: int
    max_cases: int | None
    expect: tuple[Expectation, ...]
    policy: Policy | None
    #: For a model without keras.Input: the shape of one example (``(28, 28)``), or a list or dict of them.
    input_shapes: Any = None


@dataclass
class HypermodelCase:
    """What a ``search_space`` test receives: one probed case."""

    id: str
    kind: str
    values: dict
    hp: Any = None
    model: Any = None
    result: fit.Result | None = None
    disposition: Disposition | None = None
    #: "pass", "xfail" or "fail", with the message for the last two.
    verdict: str = PASS
    message: str = ""
    details: str | None = field(default=None, repr=False)


def _error(where: str, message: str) -> pytest.Collector.CollectError:
    return pytest.Collector.CollectError(f"{where}: @pytest.mark.{MARKER}: {message}; signature: {SIGNATURE}")


#: ``@pytest.mark.search_space(build_model)``: the build function as the only argument.
_ALONE = re.compile(r"^\s*@pytest\.mark\.search_space\(\s*([A-Za-z_][\w.]*)\s*\)\s*$", re.MULTILINE)


def misuse(path: Path) -> str | None:
    """The fix, when a module uses the one form of the marker that pytest reads as decorating the build function.

    pytest takes a mark called with a single callable as decorating that callable: the mark goes onto the build
    function, which is then called with the test function as its ``hp`` when it decorates the test.
    """
    try:
        found = _ALONE.search(path.read_text())
    except (OSError, UnicodeDecodeError):
        return None
    if found is None:
        return None
    line, name = found.string.count("\n", 0, found.start()) + 1, found.group(1)
    return (
        f"{path.name}:{line}: @pytest.mark.{MARKER}({name}) with the build function alone is read by pytest as "
        f"decorating {name}, which then builds with the test function as hp: write "
        f"@pytest.mark.{MARKER}(build={name}) or @pytest.mark.{MARKER}.with_args({name})"
    )


def parse(marker: pytest.Mark, where: str) -> MarkerOptions:
    """Check the marker's arguments; a CollectError naming the fix otherwise."""
    if len(marker.args) > 1:
        raise _error(where, f"takes one positional argument (the build function), got {len(marker.args)}")
    kwargs = dict(marker.kwargs)
    unknown = sorted(set(kwargs) - set(ALLOWED))
    if unknown:
        raise _error(where, f"unknown argument {', '.join(unknown)}")
    build = marker.args[0] if marker.args else kwargs.pop("build", None)
    kwargs.pop("build", None)
    if build is None:
        raise _error(where, "give the build function (or HyperModel) to probe")
    try:
        strategies = plan_mod.parse_strategies(kwargs.get("strategy", ",".join(plan_mod.DEFAULT_STRATEGIES)))
    except plan_mod.PlanError as exc:
        raise _error(where, str(exc)) from None
    expectations = kwargs.get("expect", ())
    if isinstance(expectations, Expectation):
        expectations = (expectations,)
    if not all(isinstance(e, Expectation) for e in expectations):
        raise _error(where, "expect= takes pytest_hypermodel.expect(when=..., raises=...) entries")
    policy = kwargs.get("policy")
    if policy is not None and not isinstance(policy, Policy):
        raise _error(where, f"policy= takes a pytest_hypermodel.Policy, not {type(policy).__name__}")
    shapes = None
    if kwargs.get("input_shape") is not None:
        from pytest_hypermodel.engine.settings import shape_texts

        try:
            shapes = parse_input_shapes(shape_texts(kwargs["input_shape"]))
        except (TypeError, ValueError) as exc:
            raise _error(where, f"input_shape={kwargs['input_shape']!r}: {exc}") from None
    return MarkerOptions(
        build,
        strategies,
        kwargs.get("strength"),
        kwargs.get("levels", 2),
        kwargs.get("max_cases", 256),
        tuple(expectations),
        policy,
        shapes,
    )


def parametrize(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``hypermodel_case`` over the planned cases of the marker's space."""
    from pytest_hypermodel.probe import discovery
    from pytest_hypermodel.space import hyperparameters
    from pytest_hypermodel.space import target as target_mod

    where = metafunc.definition.nodeid
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        raise _error(where, "the hypermodel_case fixture needs this marker on the test")
    options = parse(marker, where)
    cache = metafunc.config.stash.setdefault(CACHE_KEY, {})
    shapes = _input_shapes(options, metafunc.config)
    key = (id(options.build), options.strategies, options.strength, options.levels, options.max_cases, repr(shapes))
    if key not in cache:
        name = getattr(options.build, "__name__", type(options.build).__name__)
        try:
            hypermodel = target_mod.as_hypermodel(options.build, name)
            with offline.blocked():  # nothing is downloaded during a preflight
                space = discovery.discover(hypermodel, input_shapes=shapes)
            cases = plan_mod.cases(space, options.strategies, options.strength, options.levels, options.max_cases)
        except (target_mod.SpecError, hyperparameters.SpaceError, plan_mod.PlanError) as exc:
            raise _error(where, str(exc)) from None
        if space.undeclared_input and shapes is None and not _data_overridden(metafunc):
            raise _error(
                where,
                "the model declares no input shape (no keras.Input), so no data can be synthesized "
                "for it: pass input_shape=(28, 28) to the marker (the shape of one example), start "
                "the model with keras.Input(shape=...), or override the hypermodel_data fixture",
            )
        target = target_mod.Target(name, metafunc.definition.path, name, hypermodel)
        cache[key] = Preflight(target, space, cases)
    pre = cache[key]
    refs = [CaseRef(pre, case) for case in pre.plan]
    metafunc.parametrize("hypermodel_case", refs, ids=[case.id for case in pre.plan], indirect=True)


def _input_shapes(options: MarkerOptions, config: pytest.Config) -> Any:
    """The marker's ``input_shape=``, else --hypermodel-input-shape (ini hypermodel_input_shape)."""
    return options.input_shapes if options.input_shapes is not None else probe_settings(config).input_shapes


def _data_overridden(metafunc: pytest.Metafunc) -> bool:
    """Whether the test sees a hypermodel_data fixture other than the plugin's (conftest.py, its module, its class)."""
    if setting(metafunc.config, "hypermodel_search_data"):  # the plugin's own fixture returns the user's data
        return True
    definitions = getattr(getattr(metafunc.definition, "_fixtureinfo", None), "name2fixturedefs", {})
    found: Sequence[Any] = definitions.get("hypermodel_data") or ()
    return bool(found) and getattr(found[-1].func, "__module__", "") != "pytest_hypermodel.plugin"


def probe_case(request: pytest.FixtureRequest, data: Any, default_policy: Policy) -> HypermodelCase:
    """The fixture's work: probe, judge against the expectations, record the JUnit properties."""
    ref: CaseRef = request.param
    pre, case = ref.preflight, ref.case
    marker = request.node.get_closest_marker(MARKER)
    options = parse(marker, request.node.nodeid)
    policy = options.policy or default_policy
    built: dict[str, Any] = {}
    config = request.config
    settings = dataclasses.replace(probe_settings(config), input_shapes=_input_shapes(options, config))
    references = config.stash.setdefault(REFERENCE_KEY, {})
    key = (request.node.nodeid.partition("[")[0], json.dumps(policy.to_dict(), sort_keys=True))
    if case.varied:
        # Before the case, not when its loss grew: a probe after it would clear the session its kept model lives in.
        if key not in references:  # its default case ran elsewhere (an xdist worker) or not at all (-k): probe it
            default = plan_mod.make_case(pre.space, pre.space.complete({}), plan_mod.KIND_DEFAULT)
            with offline.blocked():
                references[key] = fit.reference_from(
                    fit.run(pre.target.hypermodel, pre.space, default, policy, settings, data)
                )
        settings = dataclasses.replace(settings, reference_loss=references[key])
    with offline.blocked():
        result = fit.run(
            pre.target.hypermodel,
            pre.space,
            case,
            policy,
            settings,
            data,
            keep=lambda hp, model: built.update(hp=hp, model=model),
        )
    if not case.varied:
        references[key] = fit.reference_from(result)
    run = judge(pre, case, result, policy)
    request.node.user_properties.extend(run.properties)
    out = HypermodelCase(
        case.id,
        case.kind,
        dict(case.values),
        built.get("hp"),
        built.get("model"),
        result,
        run.disposition,
        run.verdict,
        run.message,
        run.details,
    )
    expected = [e for e in options.expect if e.applies(case.values)]
    if expected:
        out.details = None
        met = [e for e in expected if e.met_by(result)]
        if met:
            out.verdict, out.message = XFAIL, f"expected {met[0].describe()}: {result.exception or result.outcome}"
        else:
            what = f"{result.exception}: {result.message}" if result.exception else result.outcome
            out.verdict = FAIL
            out.message = (
                f"{case.id}: expected {' or '.join(e.describe() for e in expected)}, but the case ended {what}"
            )
    return out


def enforce(item: pytest.Item, case: HypermodelCase) -> None:
    """Before the test body runs: fail or xfail a case KerasTuner would not complete."""
    if case.verdict == XFAIL:
        pytest.xfail(case.message)
    if case.verdict == FAIL:
        pytest.fail(long_failure(item.config, case.message, case.details), pytrace=False)
