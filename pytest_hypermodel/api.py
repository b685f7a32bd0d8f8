"""The Python API: a preflight from a notebook or a script, without pytest.

    report = pytest_hypermodel.preflight(build_model, x, y, validation_data=(x_val, y_val))
    report                      # in a notebook: the HTML report
    report.guard(tuner)         # tuner.search(...) now raises PreflightFailed while the report is red

The same engine as the pytest plugin's (``engine.Engine``), with the same settings and defaults.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_hypermodel.engine import settings as settings_mod
from pytest_hypermodel.engine.engine import Engine, SetupError
from pytest_hypermodel.engine.progress import Progress, plural
from pytest_hypermodel.engine.settings import MappingSource, SettingError
from pytest_hypermodel.probe import own_search
from pytest_hypermodel.probe.prepare import TUNERS
from pytest_hypermodel.rules.health import Finding
from pytest_hypermodel.rules.policy import Policy
from pytest_hypermodel.space import user_tuner
from pytest_hypermodel.space.target import Target


class PreflightError(ValueError):
    """The preflight could not start: bad settings or input, or a problem every case would share (one line)."""


class PreflightFailed(RuntimeError):
    """A guarded tuner's search was refused: its preflight is red."""


@dataclasses.dataclass(repr=False)  # its repr is a few lines, not the whole data
class Report:
    """The result of one preflight: the data its JSON report holds, and views of it."""

    data: dict

    @property
    def hypermodels(self) -> list[dict]:
        return list(self.data.get("hypermodels", []))

    @property
    def cases(self) -> list[dict]:
        """Every case: its values, outcome, disposition, runs, params, seconds..."""
        return list(self.data.get("cases", []))

    @property
    def forecasts(self) -> list[dict]:
        """What each hypermodel's search would do (one per hypermodel)."""
        return list(self.data.get("forecasts", []))

    @property
    def forecast(self) -> dict | None:
        """The first hypermodel's forecast (the only one, for a preflight of one hypermodel)."""
        return self.forecasts[0] if self.forecasts else None

    @property
    def repairs(self) -> list[dict]:
        """Each proposed repair of a space (its changes, diff and whether its preflight is green)."""
        return [h["repair"] for h in self.hypermodels if h.get("repair")]

    @property
    def repair(self) -> dict | None:
        return self.repairs[0] if self.repairs else None

    @property
    def findings(self) -> list[Finding]:
        """The health checks' findings that fail the run (each with its check, message, location and fix)."""
        from pytest_hypermodel.views import readback

        return readback.findings(self.data)

    @property
    def failing(self) -> list[dict]:
        """The cases KerasTuner would not complete and that were not declared to fail."""
        return [c for c in self.cases if c.get("test_outcome") not in ("passed", "xfailed")]

    @property
    def green(self) -> bool:
        """Every case completes (or fails as declared) and no forecast says the search aborts."""
        return (
            all(h.get("green") for h in self.hypermodels)
            and bool(self.hypermodels)
            and not any(f.get("fails_run") for f in self.forecasts)
            and not self.data.get("health")
        )

    def reasons(self) -> list[str]:
        """Why the report is red, one line each (empty when green)."""
        lines = [
            f"{c['nodeid']}: {c.get('outcome')} ({c.get('exception') or c.get('disposition')})" for c in self.failing
        ]
        lines += [f"{f['spec']}: {f['message']}" for f in self.forecasts if f.get("fails_run")]
        lines += [f.line() for f in self.findings]
        return lines

    def to_dict(self) -> dict:
        return self.data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.data, indent=indent, default=str)

    def save_json(self, path: str | Path) -> Path:
        from pytest_hypermodel.views import outputs

        outputs.write_json(Path(path), self.data)
        return Path(path)

    def html(self) -> str:
        """The self-contained HTML report, as ``--hypermodel-html`` writes it."""
        from pytest_hypermodel.views import html as html_report

        return html_report.render(self.data)

    def save_html(self, path: str | Path) -> Path:
        from pytest_hypermodel.views import outputs

        outputs.write_text(Path(path), self.html())
        return Path(path)

    def _repr_html_(self) -> str:
        """The report in a notebook: one ``div`` whose styles reach nothing outside it (``views.html.fragment``)."""
        from pytest_hypermodel.views import html as html_report

        return html_report.fragment(self.data)

    def __repr__(self) -> str:
        """A few lines: the verdict, the counts, the forecast and the repair; ``print(report)`` has every failing
        case, ``report.data`` everything."""
        from pytest_hypermodel.views import readback

        summary = self.data.get("summary") or {}
        counts = ", ".join(f"{n} {name}" for name, n in (summary.get("outcomes") or {}).items())
        lines = [
            f"<Report {'green: the search may start' if self.green else 'red: fix the space before the search'}",
            f"  {plural(len(self.cases), 'case')} ({counts}), {len(self.failing)} failing"
            + (f", {plural(len(self.findings), 'health finding')}" if self.findings else ""),
        ]
        many = len(self.hypermodels) > 1
        for forecast in self.forecasts:
            lines.append(f"  forecast: {forecast['spec'] + ': ' if many else ''}{readback.forecast_short(forecast)}")
        for model in self.hypermodels:
            repair = model.get("repair")
            if repair:
                changes = "; ".join(readback.change_text(c) for c in repair.get("changes") or [])
                verified = "verified green" if repair.get("verified") else "not verified"
                lines.append(f"  repair: {model['spec'] + ': ' if many else ''}{changes} ({verified})")
        return "\n".join(lines) + ">"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's text repr: the same few lines."""
        printer.text(repr(self))

    def __str__(self) -> str:
        from pytest_hypermodel.views import outputs

        lines = outputs.summary_lines(self.cases)
        for forecast in self.forecasts:
            # The verdict, as the terminal says it; how it was computed is in forecast["message"] (and the HTML).
            lines.append(f"{forecast['spec']}: {forecast.get('headline') or forecast['message']}")
            timing = forecast.get("timing")
            lines += [timing.get("headline") or timing["line"]] if timing else []
        lines.append("green: the search may start" if self.green else "red: fix the space before the search")
        return "\n".join(lines)

    def check(self) -> None:
        """Raise PreflightFailed when red: a script's gate before ``tuner.search``."""
        if not self.green:
            raise PreflightFailed("the preflight is red: " + "; ".join(self.reasons()[:5]))

    def guard(self, tuner: Any) -> Any:
        """Make ``tuner.search(...)`` raise PreflightFailed while this report is red; returns the tuner."""
        return guard(tuner, self)


def guard(tuner: Any, report: Report) -> Any:
    """Refuse ``tuner.search`` when ``report`` is red (the tuner's other methods are untouched); for an AutoKeras
    ``AutoModel``, its ``fit`` (which runs its tuner's search)."""
    name = "fit" if user_tuner.is_auto_model(tuner) else "search"
    search = getattr(tuner, name)

    def guarded_search(*args: Any, **kwargs: Any) -> Any:
        report.check()
        return search(*args, **kwargs)

    setattr(tuner, name, guarded_search)
    return tuner


#: The API's keyword arguments, as the ini keys (and so the command line's options) name them.
_SETTINGS = (
    "strategy",
    "strength",
    "levels",
    "max_cases",
    "epochs",
    "samples",
    "tuner",
    "max_trials",
    "max_abort_risk",
    "timeout",
    "isolation",
    "boundaries",
    "boundaries_seconds",
    "rehearsal",
    "memory_budget",
    "max_model_size",
    "max_retries_per_trial",
    "max_consecutive_failed_trials",
    "project",
    "objective",
    "suppress_health_check",
)


def preflight(
    hypermodel: Any,
    x: Any = None,
    y: Any = None,
    *,
    data: Any = None,
    validation_data: Any = None,
    input_shape: Any = None,
    policy: Policy | None = None,
    verbose: bool = False,
    rootpath: str | Path | None = None,
    **options: Any,
) -> Report:
    """Run a whole preflight of ``hypermodel`` and return its :class:`Report`.

    ``hypermodel``: a build function ``fn(hp)``, a ``keras_tuner.HyperModel`` (class or instance), a KerasTuner
    tuner (its hypermodel, its retry and size settings, its tuner class and max_trials are used; a tuner with its
    own ``search()`` is prepared by it), an AutoKeras ``AutoModel`` (its ``fit()`` prepares the data and its
    tuner, as ``clf.fit(x, y)`` does), or a SPEC such as ``"models.py:build_model"``.
    Data: ``x``, ``y`` and ``validation_data`` as ``tuner.search`` takes them,
    or ``data`` as the ``hypermodel_data`` fixture returns it; none synthesizes data from the model's inputs
    (``input_shape=(28, 28)`` for a model without ``keras.Input``). ``options``: the ``--hypermodel-*`` settings
    by their ini names without the prefix (``strategy="extremes"``, ``epochs=1``, ``timeout=60``,
    ``isolation="off"``, ``project="hypermodel_search/guide"``...). ``policy`` overrides the policy settings.
    ``objective``: the search's objective (``"val_accuracy"``, ``"val_auc:max"``; a tuner's own when a tuner is
    given): each case's fit must log it, as KerasTuner's trial requires.
    ``suppress_health_check``: the health checks (``["hyperparameter_unused"]``) whose findings do not fail it.
    ``project``: the search's ``directory/project_name`` (a tuner's own, when a tuner is given): when it holds an
    ``oracle.json`` that KerasTuner would reload with another space, the preflight cannot start.

    A hypermodel importable from a module runs in a probe process (a crash is a case's result); one defined in a
    notebook or ``__main__`` runs in this process (``isolation="off"``). PreflightError: the preflight could not
    start (the message names the fix).
    """
    unknown = sorted(set(options) - set(_SETTINGS))
    if unknown:
        raise PreflightError(f"preflight() got unknown settings {', '.join(unknown)}: use {', '.join(_SETTINGS)}")
    values: dict[str, Any] = {f"hypermodel_{name}": value for name, value in options.items() if value is not None}
    tuner_policy, tuner = None, None
    passed = given = hypermodel
    hypermodel, data, x, y, validation_data = _own_preparation(hypermodel, data, x, y, validation_data)
    search_prepared = hypermodel is not given or (user_tuner.is_tuner(given) and own_search.overrides_search(given))
    if user_tuner.is_tuner(hypermodel):
        tuner = hypermodel
        hypermodel, tuner_values, tuner_policy = _from_tuner(hypermodel)
        for name, value in tuner_values.items():
            values.setdefault(name, value)
    if input_shape is not None:
        values["hypermodel_input_shape"] = settings_mod.shape_texts(input_shape)
    item, importable = _target(hypermodel)
    if tuner is not None:  # each case is a trial of this very tuner: it runs here
        # KerasTuner's DefaultHyperModel holds the build function the user wrote: the cases are named after it.
        built_by = vars(hypermodel).get("build") if type(hypermodel).__name__ == "DefaultHyperModel" else None
        named = _target(built_by or hypermodel)[0]
        label = named.name if isinstance(named, Target) else named.rpartition(":")[2]
        path = named.path if isinstance(named, Target) else Path(named.rpartition(":")[0])
        item = Target(label, path, label, tuner.hypermodel, tuner, search_prepared=search_prepared)
        importable = False
        if values.get("hypermodel_isolation", "off") != "off":
            raise PreflightError(
                f"isolation={values['hypermodel_isolation']!r}: a tuner object runs its trials in this process; to "
                "run them in a probe process, pass the SPEC of a function that returns the tuner "
                "('train.py:make_tuner')"
            )
    values.setdefault("hypermodel_isolation", "process" if importable else "off")
    if values["hypermodel_isolation"] != "off" and not importable:
        assert isinstance(item, Target)  # not importable: the object itself, as _target wraps it
        raise PreflightError(
            f"isolation={values['hypermodel_isolation']!r}: {item.name} is not importable from a module (defined in "
            "a notebook or __main__), so it cannot run in a probe process: move it into a .py file, or use "
            "isolation='off'"
        )
    for name in ("hypermodel_boundaries", "hypermodel_rehearsal"):
        if isinstance(values.get(name), bool):
            values[name] = "on" if values[name] else "off"
    try:
        settings = settings_mod.read(MappingSource(values))
    except SettingError as exc:
        raise PreflightError(str(exc)) from None
    chosen = policy or tuner_policy
    if chosen is not None:
        settings = dataclasses.replace(settings, policy=chosen)
    fit_data = _data(data, x, y, validation_data)
    root = Path(rootpath) if rootpath is not None else Path.cwd()
    on_case: Callable[[dict], None] | None = None
    if verbose:

        def on_case(entry: dict) -> None:
            print(f"{entry['nodeid']}: {entry.get('outcome')}", file=sys.stderr)

    with Engine(settings, root) as engine:
        if verbose:  # discovery, the boundaries and the repair's verification, one whole line each
            engine.progress = Progress(lambda line: print(line, file=sys.stderr))
        cells = _cell_names()
        try:
            data = engine.run(
                [item],
                fit_data,
                on_case=on_case,
                command=f"pytest_hypermodel.preflight({_passed_text(passed, item)})",
            )
        except SetupError as exc:
            raise PreflightError(_name_cells(_api_wording(str(exc)), cells)) from None
        return Report(_name_cells(data, cells))


def _cell_names() -> dict[str, str]:
    """In IPython (a notebook's kernel), the name it gives each cell's code (``Cell In[3]``) by the file name its
    compiler gave that code (``/tmp/ipykernel_812/771966963.py``); empty elsewhere. IPython is not imported here:
    only looked at where it runs."""
    module = sys.modules.get("IPython")
    shell = module.get_ipython() if module is not None and hasattr(module, "get_ipython") else None
    compiler: Any = getattr(shell, "compile", None)
    names = {}
    for file in list(getattr(compiler, "_filename_map", None) or ()):
        label = compiler.format_code_name(file) if hasattr(compiler, "format_code_name") else None
        if label:
            names[file] = " ".join(label)
    return names


def _name_cells(data: Any, cells: dict[str, str]) -> Any:
    """``data`` with each location in a notebook's cell named as IPython names it: ``771966963.py:3`` (or its
    whole path) is ``Cell In[3], line 3``, and a ``file`` that is a cell's is ``Cell In[3]``."""
    if not cells:
        return data
    by_name = {**{Path(file).name: label for file, label in cells.items()}, **cells}
    found = re.compile(
        "(" + "|".join(re.escape(file) for file in sorted(by_name, key=len, reverse=True)) + r")(?::(\d+))?"
    )

    def named(value: Any) -> Any:
        if isinstance(value, str):
            return found.sub(lambda m: by_name[m[1]] + (f", line {m[2]}" if m[2] else ""), value)
        if isinstance(value, dict):
            return {key: named(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(named(item) for item in value)
        return value

    return named(data)


def _passed_text(passed: Any, item: str | Target) -> str:
    """What ``preflight`` was given, for the report's command: a SPEC, the name of a build function or hypermodel,
    or a tuner as ``RandomSearch(hypermodel=build_model, ...)`` (not the build function alone, which it was not)."""
    name = item if isinstance(item, str) else item.name
    if user_tuner.is_tuner(passed):
        return f"{type(passed).__name__}(hypermodel={name}, ...)"
    return name


def _own_preparation(hypermodel: Any, data: Any, x: Any, y: Any, validation_data: Any) -> tuple[Any, ...]:
    """An AutoKeras AutoModel, or a tuner with a ``search()`` of its own: their own code prepares the search (as
    ``clf.fit(x, y)`` or ``tuner.search(x=x, y=y)`` would), and the prepared tuner and the arguments its trials get
    are what the preflight runs. Returns ``(hypermodel, data, x, y, validation_data)``, unchanged for the others."""
    owner = hypermodel if user_tuner.is_auto_model(hypermodel) else None
    if owner is None:
        if not user_tuner.is_tuner(hypermodel):
            return hypermodel, data, x, y, validation_data
        refused = user_tuner.refusal(hypermodel)
        if refused is not None:
            raise PreflightError(f"preflight(): {refused}")
        if not own_search.overrides_search(hypermodel):
            return hypermodel, data, x, y, validation_data
    if data is not None and not isinstance(data, dict):
        raise PreflightError(
            f"preflight(): {type(hypermodel).__name__} prepares its own search: pass x, y and validation_data as its "
            f"{'fit' if owner is not None else 'search'}() takes them, not data="
        )
    kwargs = dict(data) if data is not None else {"x": x, "y": y}
    if validation_data is not None:
        kwargs["validation_data"] = validation_data
    kwargs.setdefault("verbose", 0)  # its trials' fits are the preflight's, quiet
    tuner = owner.tuner if owner is not None else hypermodel
    try:
        prepared = own_search.prepare(owner, tuner, (), kwargs)
    except own_search.PreparationFailed as failed:
        if not failed.in_default_build:
            raise PreflightError(f"preflight(): {failed}") from None
        # Its build of the defaults failed, after the preparation: discovery builds them again, and the forecast
        # says the search stops there, before its first trial (each case's trial fails at the same build).
        return tuner, own_search.SearchArguments(kwargs), None, None, None
    return prepared.tuner, prepared.arguments, None, None, None


def _api_wording(message: str) -> str:
    """The engine's setup message, with the API's names for the fixes and the settings (the command line's
    ``--hypermodel-timeout`` is ``timeout=`` here), and without the ``--hypermodel`` that names a SPEC there."""
    worded = (
        message.replace(
            "pass --hypermodel-input-shape (e.g. 28,28; ini hypermodel_input_shape)", "pass input_shape=(28, 28)"
        )
        .replace("override the hypermodel_data fixture in conftest.py", "pass x and y (or data=)")
        .replace("--hypermodel-project ", "project=")
        .replace("--hypermodel-isolation off", 'isolation="off"')
    )
    worded = re.sub(r"^--hypermodel (\S)", r"\1", worded)
    return re.sub(
        r"--hypermodel-([a-z][a-z-]*)",
        lambda found: f"{name}=" if (name := found[1].replace("-", "_")) in (*_SETTINGS, "input_shape") else found[0],
        worded,
    )


def _data(data: Any, x: Any, y: Any, validation_data: Any) -> Any:
    """What the cases fit on, in the ``hypermodel_data`` fixture's forms."""
    if x is None and y is None and validation_data is None:
        return data
    if data is not None:
        raise PreflightError("preflight() takes either data= or x/y/validation_data, not both")
    if x is None:
        raise PreflightError("preflight(): validation_data without x: pass x and y as tuner.search takes them")
    fit: dict[str, Any] = {"x": x, "y": y}
    if validation_data is not None:
        fit["validation_data"] = validation_data
    return fit


def _from_tuner(tuner: Any) -> tuple[Any, dict[str, Any], Policy]:
    """A tuner's hypermodel, the settings it implies (``user_tuner.describe``) and its policy."""
    from pytest_hypermodel.rules import policy_hypermodel

    hypermodel = tuner.hypermodel
    wrapped_policy = None
    if isinstance(hypermodel, policy_hypermodel.PolicyHyperModel):
        hypermodel, wrapped_policy = hypermodel.hypermodel, hypermodel.policy
    described = user_tuner.describe(tuner, TUNERS)
    fields = described.policy_fields
    policy = dataclasses.replace(wrapped_policy, **fields) if wrapped_policy else Policy(**fields)
    return hypermodel, described.settings(), policy


def _target(obj: Any) -> tuple[str | Target, bool]:
    """What the engine prepares: a SPEC when ``obj`` can be imported by name in a probe process, else the object
    itself (a Target); and whether it is importable."""
    if isinstance(obj, str):
        return obj, True
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    path = getattr(module, "__file__", None) if module is not None else None
    importable = (
        module is not None
        and module.__name__ != "__main__"
        and path is not None
        and name is not None
        and "." not in name
        and getattr(module, name, None) is obj
    )
    if importable:
        return f"{path}:{name}", True
    from pytest_hypermodel.space import target as target_mod

    label = name or type(obj).__name__
    where = Path(path) if path else Path.cwd() / "<notebook>"
    if inspect.isclass(obj) or callable(obj) or hasattr(obj, "build"):
        return Target(label, where, label, target_mod.as_hypermodel(obj, label)), False
    raise PreflightError(f"preflight(): {label} is not a build function, a keras_tuner.HyperModel or a tuner")
