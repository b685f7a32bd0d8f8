"""The narrowest change to a search space that removes every failure found, and the edit that makes it.

A repair is a list of changes to hyperparameter declarations (a new ``max_value``, a Choice value removed, a
Boolean fixed). It is proven by running the preflight again through :func:`repaired`, a hypermodel whose ``hp``
enforces the changes on the user's own declarations (the user's file is not touched), and shown as a unified
diff of those declarations, found at the file and line that declared them.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_hypermodel.space.plan import format_value

if TYPE_CHECKING:
    from pytest_hypermodel.rules.boundaries import Findings
    from pytest_hypermodel.space.hyperparameters import SearchSpace

MAX_VALUE, MIN_VALUE, VALUES, FIXED = "max_value", "min_value", "values", "fixed"
#: An Int or Float range declared as a Choice of the values that passed (``Change.new``; ``old``: min, max).
CHOICE = "choice"
#: A condition in the build, not a declaration's edit: FailedTrialError past a pair's frontier.
GUARD = "guard"
#: In the message of the guard's FailedTrialError: how its verification tells it from any other failure.
GUARD_MESSAGE = "past the frontier the preflight found"
#: Positional parameters of KerasTuner's declarations, after the name.
_POSITIONAL = {
    "Int": ("min_value", "max_value", "step", "sampling", "default"),
    "Float": ("min_value", "max_value", "step", "sampling", "default"),
    "Choice": ("values", "ordered", "default"),
    "Boolean": ("default",),
    "Fixed": ("value",),
}


@dataclass(frozen=True)
class Change:
    """One edit of one declaration: ``kind`` is max_value, min_value, values (the Choice values kept) or fixed."""

    hyperparameter: str
    kind: str
    old: Any
    new: Any

    def describe(self) -> str:
        if self.kind == GUARD:
            return f"raise FailedTrialError when {self.condition()}"
        if self.kind == VALUES:
            removed = [v for v in self.old if v not in self.new]
            return f"{self.hyperparameter}: remove {', '.join(map(repr, removed))} from the values"
        if self.kind == FIXED:
            return f"{self.hyperparameter}: fix it to {self.new!r}"
        if self.kind == CHOICE:
            return f"{self.hyperparameter}: a Choice of {', '.join(map(format_value, self.new))}"
        return f"{self.hyperparameter}: {self.kind} {format_value(self.old)} -> {format_value(self.new)}"

    def condition(self, receiver: str = "hp") -> str:
        """A guard's test, as Python: ``hp.get("units_1") > {10: 30, 20: 20}[hp.get("units_2")]``."""
        partner, upward, limits = self.old, self.new[0], self.new[1]
        table = "{" + ", ".join(f"{_literal(value)}: {_literal(limit)}" for value, limit in limits) + "}"
        return (
            f"{receiver}.get({self.hyperparameter!r}) {'>' if upward else '<'} {table}[{receiver}.get({partner!r})]"
        ).replace("'", '"')

    def crossed(self, values: dict[str, Any]) -> bool:
        """Whether a guard's condition holds for these values (False while either is undeclared)."""
        partner, upward, limits = self.old, self.new[0], dict(self.new[1])
        if self.hyperparameter not in values or values.get(partner) not in limits:
            return False
        limit = limits[values[partner]]
        return bool(values[self.hyperparameter] > limit if upward else values[self.hyperparameter] < limit)

    def to_dict(self) -> dict[str, Any]:
        if self.kind == GUARD:
            return {
                "hyperparameter": self.hyperparameter,
                "kind": GUARD,
                "partner": self.old,
                "fails": "above" if self.new[0] else "below",
                "limits": [list(pair) for pair in self.new[1]],
                "condition": self.condition(),
            }
        return {
            "hyperparameter": self.hyperparameter,
            "kind": self.kind,
            "old": list(self.old) if isinstance(self.old, tuple) else self.old,
            "new": list(self.new) if isinstance(self.new, tuple) else self.new,
        }


def _nice(value: float, down: bool) -> float:
    """A short literal for a continuous bound, on the passing side of ``value``."""
    for digits in (2, 3, 4):
        nice = float(f"{value:.{digits}g}")
        if (nice <= value) if down else (nice >= value):
            return nice
    return value


def propose(space: SearchSpace, findings: Findings) -> list[Change]:
    """Ranges cut to the tightest boundary found (so every failing partner value passes), failing Choice values
    removed, a failing Boolean fixed to the value that passes."""
    changes = []
    for param in space:
        found = [b for b in findings.boundaries if b.hyperparameter == param.name]
        upper = [b.last_ok for b in found if b.upward]
        lower = [b.last_ok for b in found if not b.upward]
        continuous = param.kind == "float" and not param.step
        if upper:
            new = min(upper)
            new = _nice(new, down=True) if continuous else new
            changes.append(Change(param.name, MAX_VALUE, param.max_value, new))
        if lower:
            new = max(lower)
            new = _nice(new, down=False) if continuous else new
            changes.append(Change(param.name, MIN_VALUE, param.min_value, new))
        failing = [value for name, value in findings.failing_choices if name == param.name]
        if failing and param.kind == "choice":
            kept = tuple(v for v in param.levels if v not in failing)
            if kept:
                changes.append(Change(param.name, VALUES, tuple(param.levels), kept))
        elif failing and param.kind == "boolean" and len(failing) == 1:
            changes.append(Change(param.name, FIXED, None, not failing[0]))
    return changes


def kept_values(space: SearchSpace, findings: Findings, changes: Iterable[Change], name: str) -> list[Any] | None:
    """The values of ``name`` that passed alone (``Findings.surveyed``) which ``changes`` still let KerasTuner draw;
    None when its range was not surveyed."""
    surveyed = findings.surveyed.get(name)
    if surveyed is None:
        return None
    param = space.by_name[name]
    low, high, allowed = param.min_value, param.max_value, None
    for change in changes:
        if change.hyperparameter != name:
            continue
        if change.kind == MAX_VALUE:
            high = change.new
        elif change.kind == MIN_VALUE:
            low = change.new
        elif change.kind == CHOICE:
            allowed = set(change.new)
    return [
        value
        for value, failed in surveyed.items()
        if not failed and low <= value <= high and (allowed is None or value in allowed)
    ]


def widest(space: SearchSpace, findings: Findings, name: str) -> list[Change]:
    """The repair of one surveyed range that keeps the most of its passing values: the longest run of passing
    values as a range (a raised min_value, a lowered max_value, or both), or, when that run leaves passing values
    out, a Choice of every passing value. [] when no value passed."""
    param = space.by_name[name]
    surveyed = findings.surveyed[name]
    passing = [value for value, failed in surveyed.items() if not failed]
    if not passing:
        return []
    runs: list[list[Any]] = [[]]
    for value, failed in surveyed.items():
        if failed:
            runs.append([])
        else:
            runs[-1].append(value)
    # The longest run; among equals, the one holding the default (it moves least), then the lowest.
    run = max(runs, key=lambda r: (len(r), param.default in r))
    if len(run) < len(passing):
        return [Change(name, CHOICE, (param.min_value, param.max_value), tuple(passing))]
    changes = []
    if run[0] != param.min_value:
        changes.append(Change(name, MIN_VALUE, param.min_value, run[0]))
    if run[-1] != param.max_value:
        changes.append(Change(name, MAX_VALUE, param.max_value, run[-1]))
    return changes


def propose_widest(space: SearchSpace, findings: Findings, changes: list[Change]) -> list[Change]:
    """``changes`` with each surveyed range's cut replaced by the repair that keeps the most of its passing values
    (``widest``): rows=3 failing in 2..5 is cut to max_value 2, which keeps 1 of the 3 values that pass; a Choice
    of 2, 4, 5 keeps them all. [] when every cut already keeps all it can."""
    better = list(changes)
    for name in findings.surveyed:
        cut = [c for c in changes if c.hyperparameter == name and c.kind in (MAX_VALUE, MIN_VALUE)]
        wide = widest(space, findings, name)
        kept, cut_kept = kept_values(space, findings, wide, name), kept_values(space, findings, cut, name)
        if not wide or not cut or kept is None or cut_kept is None or len(kept) <= len(cut_kept):
            continue
        better = [c for c in better if c not in cut] + wide
    return better if better != changes else []


def propose_guarded(space: SearchSpace, findings: Findings, changes: list[Change]) -> list[Change]:
    """The interaction's alternative to ``changes``: the range cut only as far as the frontier's loosest point,
    and FailedTrialError in the build for the pairs past the frontier; [] when it would keep nothing more.

    Only for a boundary known at every value KerasTuner can give the partner (a numeric partner's frontier, or
    each value of a Choice or Boolean), each with the partner alone given (so the condition holds whatever the
    other hyperparameters are, as far as the boundaries went).
    """
    from pytest_hypermodel.rules.boundaries import values_between

    alternative = list(changes)
    for (name, partner), group in findings.frontiers().items():
        param, other = space.by_name[name], space.by_name[partner]
        if other.kind in ("int", "float"):
            everything = values_between(other, other.min_value, other.max_value)
        else:  # a Choice or Boolean partner: its every value
            everything = list(other.levels)
        points = {b.given[partner]: b for b in group if set(b.given) == {partner}}
        default = next((b for b in findings.boundaries if b.hyperparameter == name and not b.given), None)
        if default is not None and other.default not in points:
            points[other.default] = default  # the boundary with the partner at its default
        if everything is None or set(everything) != set(points) or len({b.upward for b in points.values()}) != 1:
            continue
        upward = next(iter(points.values())).upward
        limits = tuple((value, points[value].last_ok) for value in everything)
        loosest = (max if upward else min)(limit for _, limit in limits)
        kind = MAX_VALUE if upward else MIN_VALUE
        cut = next((c for c in alternative if c.hyperparameter == name and c.kind == kind), None)
        if cut is None or cut.new == loosest:
            continue  # no range cut of this name, or the frontier is flat: the cut is already the narrowest
        alternative.remove(cut)
        if loosest != getattr(param, kind):
            alternative.append(Change(name, kind, cut.old, loosest))
        alternative.append(Change(name, GUARD, partner, (upward, limits)))
    return alternative if any(c.kind == GUARD for c in alternative) else []


# ------------------------------------------------------------------------------------------- enforcing


def rewrite(
    method: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], changes: Iterable[Change]
) -> tuple[str, dict[str, Any]]:
    """The declaration ``hp.<method>(name, *args, **kwargs)`` with ``changes`` applied: (method, keyword args)."""
    mine = [c for c in changes if c.hyperparameter == name and c.kind != GUARD]
    bound = dict(zip(_POSITIONAL.get(method, ()), args), **kwargs)
    if not mine:
        return method, bound
    for change in mine:
        if change.kind == FIXED:
            return "Fixed", {"value": change.new}
        if change.kind == CHOICE:
            choice: dict[str, Any] = {"values": list(change.new)}
            if bound.get("default") is not None:
                choice["default"] = kept_default(bound["default"], choice)
            return "Choice", choice
        if change.kind == VALUES:
            bound["values"] = list(change.new)
        else:
            bound[change.kind] = change.new
    if bound.get("default") is not None:
        bound["default"] = kept_default(bound["default"], bound)
    return method, bound


def kept_default(default: Any, bound: Mapping[str, Any]) -> Any:
    """A declared default moved into the repaired range (to the bound it crossed) or values (to the first kept):
    KerasTuner does not check an Int's default against its range, and builds the defaults first."""
    if "values" in bound and default not in bound["values"]:
        return next(iter(bound["values"]))
    if bound.get("max_value") is not None and default > bound["max_value"]:
        return bound["max_value"]
    if bound.get("min_value") is not None and default < bound["min_value"]:
        return bound["min_value"]
    return default


class Enforced:
    """A trial's ``hp`` that declares every hyperparameter with the repair applied; the rest passes through."""

    _hp: Any
    _changes: tuple[Change, ...]
    _declared: set[str]

    def __init__(self, hp: Any, changes: tuple[Change, ...]) -> None:
        object.__setattr__(self, "_hp", hp)
        object.__setattr__(self, "_changes", changes)
        #: Names this build declared: a guard fires at the later of its two, where its diff puts it.
        object.__setattr__(self, "_declared", set())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hp, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._hp, name, value)

    def _declare(self, method: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        method, bound = rewrite(method, name, args, kwargs, self._changes)
        value = getattr(self._hp, method)(name, **bound)
        self._declared.add(name)
        for guard in self._changes:
            if (
                guard.kind == GUARD
                and name in (guard.hyperparameter, guard.old)
                and {guard.hyperparameter, guard.old} <= self._declared
                and guard.crossed(self._hp.values)
            ):
                from keras_tuner.errors import FailedTrialError

                raise FailedTrialError(f"{guard.hyperparameter} is {GUARD_MESSAGE} for this {guard.old}")
        return value

    def Int(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._declare("Int", name, args, kwargs)

    def Float(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._declare("Float", name, args, kwargs)

    def Choice(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._declare("Choice", name, args, kwargs)

    def Boolean(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._declare("Boolean", name, args, kwargs)


def repaired(hypermodel: Any, changes: tuple[Change, ...]) -> Any:
    """``hypermodel`` with ``changes`` enforced on its declarations: what the repair's preflight, or a tuner, runs."""
    import keras_tuner as kt

    class RepairedHyperModel(kt.HyperModel):  # type: ignore[misc]  # KerasTuner ships no types: its classes are Any
        def build(self, hp: Any) -> Any:
            return hypermodel.build(Enforced(hp, changes))

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            return hypermodel.fit(Enforced(hp, changes), model, *args, **kwargs)

    return RepairedHyperModel(name=getattr(hypermodel, "name", None), tunable=getattr(hypermodel, "tunable", True))


# ------------------------------------------------------------------------------------------- the diff


def _literal(value: Any) -> str:
    if isinstance(value, float):
        return repr(float(format_value(value))) if math.isfinite(value) else repr(value)
    if isinstance(value, tuple):
        return repr(list(value))
    return repr(value)


def _offset(lines: list[str], line: int, col: int) -> int:
    """A character offset in the file's text from ast's (1-based line, UTF-8 byte column)."""
    before = sum(len(text) for text in lines[: line - 1])
    return before + len(lines[line - 1].encode()[:col].decode(errors="replace"))


def _declaration(tree: ast.AST, line: int, name: str) -> ast.Call | None:
    """The ``hp.Int(name, ...)`` call spanning ``line`` (an f-string name matches by its constant parts)."""
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _POSITIONAL
            and node.lineno <= line <= (node.end_lineno or node.lineno)
        ):
            continue
        first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "name"), None)
        if isinstance(first, ast.Constant) and first.value == name:
            return node
        parts = _name_parts(first)
        if parts is not None and _matches(name, parts):
            return node
    return None


def _name_parts(node: ast.AST | None) -> list[str | None] | None:
    """A name built at run time as its literal parts, None for each computed one: ``f"pooling{i}"``,
    ``"pooling" + str(i)``, ``"pooling{}".format(i)``, ``"pooling%d" % i``; None when it has no literal part."""
    if isinstance(node, ast.JoinedStr):
        parts: list[str | None] = [str(v.value) if isinstance(v, ast.Constant) else None for v in node.values]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _name_parts(node.left), _name_parts(node.right)
        parts = [*(left if left is not None else [None]), *(right if right is not None else [None])]
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        parts = [node.value]
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
    ):
        parts = [None if p.startswith("{") else p for p in re.split(r"(\{[^{}]*\})", node.func.value.value)]
    elif (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mod)
        and isinstance(node.left, ast.Constant)
        and isinstance(node.left.value, str)
    ):
        parts = [
            None if p.startswith("%") else p for p in re.split(r"(%[-#0 +]*\d*(?:\.\d+)?[sdifr])", node.left.value)
        ]
    else:
        return None
    return parts if any(parts) else None


def _matches(name: str, parts: list[str | None]) -> bool:
    """Whether ``name`` can be what the parts build: the literal parts in order, something for each computed one."""
    pattern = "".join(".+" if p is None else re.escape(p) for p in parts if p != "")
    return re.fullmatch(pattern, name, re.DOTALL) is not None


def _span(node: ast.expr, lines: list[str]) -> tuple[int, int]:
    assert node.end_lineno is not None and node.end_col_offset is not None  # ast.parse sets them
    return _offset(lines, node.lineno, node.col_offset), _offset(lines, node.end_lineno, node.end_col_offset)


def _default_edits(call: ast.Call, changes: list[Change], lines: list[str]) -> list[tuple[int, int, str]]:
    """The declared default moved as :func:`rewrite` moves it, when the changes leave it outside the range or the
    values (a literal default only; a Fixed change replaces the whole call)."""
    assert isinstance(call.func, ast.Attribute)  # _declaration found an hp.<method>(...) call
    given = dict(zip(_POSITIONAL.get(call.func.attr, ()), call.args[1:]))
    given.update({k.arg: k.value for k in call.keywords if k.arg})
    node = given.get("default")
    if node is None or any(c.kind not in (MIN_VALUE, MAX_VALUE, VALUES) for c in changes):
        return []
    try:
        default = ast.literal_eval(node)
    except ValueError:
        return []
    moved = kept_default(default, {c.kind: c.new for c in changes})
    return [] if moved == default else [(*_span(node, lines), _literal(moved))]


def _edits(call: ast.Call, change: Change, lines: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, text) replacements in the file's text that make ``call`` declare the change."""
    assert isinstance(call.func, ast.Attribute)  # _declaration found an hp.<method>(...) call
    method = call.func.attr

    def span(node: ast.expr) -> tuple[int, int]:
        return _span(node, lines)

    if change.kind == FIXED:
        start, end = span(call)
        receiver = ast.get_source_segment("".join(lines), call.func.value) or "hp"
        name = ast.get_source_segment("".join(lines), call.args[0]) if call.args else repr(change.hyperparameter)
        return [(start, end, f"{receiver}.Fixed({name}, {change.new!r})")]
    if change.kind == CHOICE:  # the range becomes a Choice: the whole call, its declared default kept if it can be
        start, end = span(call)
        receiver = ast.get_source_segment("".join(lines), call.func.value) or "hp"
        name = ast.get_source_segment("".join(lines), call.args[0]) if call.args else repr(change.hyperparameter)
        given = dict(zip(_POSITIONAL.get(method, ()), call.args[1:]))
        given.update({k.arg: k.value for k in call.keywords if k.arg})
        default = ""
        if given.get("default") is not None:
            try:
                default = (
                    f", default={_literal(kept_default(ast.literal_eval(given['default']), {VALUES: change.new}))}"
                )
            except ValueError:
                default = ""
        return [(start, end, f"{receiver}.Choice({name}, {_literal(tuple(change.new))}{default})")]
    position = _POSITIONAL[method].index(change.kind) + 1
    new = _literal(change.new)
    if len(call.args) > position:
        return [(*span(call.args[position]), new)]
    keyword = next((k for k in call.keywords if k.arg == change.kind), None)
    if keyword is not None:
        return [(*span(keyword.value), new)]
    last = (call.args + [k.value for k in call.keywords])[-1]
    end = span(last)[1]
    return [(end, end, f", {change.kind}={new}")]


def _guard_edit(tree: ast.AST, lines: list[str], line: int, change: Change) -> tuple[int, int, str] | None:
    """The guard's ``if ...: raise FailedTrialError(...)`` where it runs as soon as the later of its two
    hyperparameters (declared at ``line``) has its value, as the enforcing ``hp`` raises it: after a statement
    that only assigns the declaration (``units_2 = hp.Int(...)``), or first in the body of the loop that ranges
    over it (``for i in range(hp.Int(...)):``). Anywhere else the declaring statement may itself do what
    fails (``model.add(Dense(hp.Int(...)))``), so the guard is not placed (None)."""
    later = next((n for n in (change.hyperparameter, change.old) if _declaration(tree, line, n) is not None), None)
    call = _declaration(tree, line, later) if later else None
    if call is None:
        return None
    assert isinstance(call.func, ast.Attribute)  # _declaration found an hp.<method>(...) call
    statements = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt)
        and node.lineno <= call.lineno
        and (node.end_lineno or node.lineno) >= (call.end_lineno or call.lineno)
    ]
    statement = max(statements, key=lambda node: (node.lineno, -(node.end_lineno or node.lineno)))
    anchor: ast.stmt
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.Expr)) and statement.value is call:
        anchor, before = statement, False
    elif (
        isinstance(statement, (ast.For, ast.AsyncFor))
        and isinstance(statement.iter, ast.Call)
        and isinstance(statement.iter.func, ast.Name)
        and statement.iter.func.id == "range"
        and any(arg is call for arg in statement.iter.args)
    ):
        anchor, before = statement.body[0], True
    else:
        return None
    text = lines[anchor.lineno - 1]
    indent = text[: len(text) - len(text.lstrip())]
    receiver = ast.get_source_segment("".join(lines), call.func.value) or "hp"
    end = anchor.lineno - 1 if before else (anchor.end_lineno or anchor.lineno)
    position = sum(len(text) for text in lines[:end])
    newline = "" if before or lines[end - 1].endswith("\n") else "\n"
    block = (
        f"{newline}{indent}if {change.condition(receiver)}:  # the frontier the preflight found\n"
        f"{indent}    from keras_tuner.errors import FailedTrialError\n"
        f'{indent}    raise FailedTrialError("{change.hyperparameter} is {GUARD_MESSAGE} for this {change.old}")\n'
    )
    return position, position, block


def _differing_names(
    space: SearchSpace, changes: Iterable[Change], change: Change, tree: ast.AST, call: ast.Call
) -> list[str]:
    """A declaration that declares several names (``hp.Int(f"units_{i}", ...)`` in a loop) can only take a change
    that every one of them gets: the names it declares that do not get ``change`` (other declarations on its line
    are not concerned)."""
    site = space.sites.get(change.hyperparameter)
    sharing = [
        name for name, other in space.sites.items() if other == site and _declaration(tree, site[1], name) is call
    ]
    wanted = {(c.hyperparameter, c.kind, c.new) for c in changes}
    return [name for name in sharing if (name, change.kind, change.new) not in wanted]


def _shown(path: Path, root: Path) -> str:
    """The path as ``git apply`` from the rootdir (or the working directory) takes it."""
    for start in (root, Path.cwd()):
        try:
            return str(path.relative_to(start.resolve()))
        except ValueError:
            continue
    return str(path)


def diff(space: SearchSpace, changes: Iterable[Change], root: Path) -> tuple[str, dict[Path, str], dict[str, str]]:
    """The unified diff of the declarations the changes edit, the new text of each file, and the changes it could
    not place, each with why (a declaration built in a way this cannot edit, or one that declares names the
    changes treat differently)."""
    changes = list(changes)
    by_file: dict[str, list[tuple[int, Change]]] = {}
    unplaced: dict[str, str] = {}
    for change in changes:
        site = space.sites.get(change.hyperparameter)
        if change.kind == GUARD:  # after the later of the two declarations, which must be in one file
            other = space.sites.get(change.old)
            site = None if other is None or site is None or other[0] != site[0] else max(site, other)
            if site is None:
                unplaced[change.hyperparameter] = (
                    f"its guard needs {change.hyperparameter} and {change.old} declared in one file"
                )
                continue
        if site is None:
            unplaced[change.hyperparameter] = "its declaration is in no file this can read"
        else:
            by_file.setdefault(site[0], []).append((site[1], change))
    texts: dict[Path, str] = {}
    chunks = []
    for path_text, located in by_file.items():
        path = Path(path_text)
        try:
            source = path.read_text()
            tree = ast.parse(source)
        except (OSError, SyntaxError, ValueError) as exc:
            unplaced.update(
                (change.hyperparameter, f"{path.name} could not be read ({type(exc).__name__})")
                for _, change in located
            )
            continue
        lines = source.splitlines(keepends=True)
        edits = []
        declared: dict[int, tuple[ast.Call, list[Change]]] = {}
        for line, change in located:
            if change.kind == GUARD:
                shared = [name for name, site in space.sites.items() if site == (path_text, line)]
                edit = _guard_edit(tree, lines, line, change) if len(shared) == 1 else None
                if edit is None:
                    unplaced[change.hyperparameter] = (
                        f"its guard goes only after a statement that does nothing but declare it (line {line} "
                        f"does more)"
                    )
                else:
                    edits.append(edit)
                continue
            call = _declaration(tree, line, change.hyperparameter)
            if call is None:
                unplaced[change.hyperparameter] = (
                    f"{path.name}:{line} declares it with a name this cannot read "
                    f"(neither a literal nor built from literal parts)"
                )
                continue
            differing = _differing_names(space, changes, change, tree, call)
            if differing:
                unplaced[change.hyperparameter] = (
                    f"{path.name}:{line} also declares {', '.join(differing)}, which the repair does not change the "
                    f"same way: one edit there would change them all"
                )
                continue
            edits.extend(_edits(call, change, lines))
            declared.setdefault(id(call), (call, []))[1].append(change)
        for call, made in declared.values():
            edits.extend(_default_edits(call, made, lines))
        new = source
        for start, end, text in sorted(set(edits), reverse=True):
            new = new[:start] + text + new[end:]
        if new == source:
            continue
        texts[path] = new
        shown = _shown(path, root)
        before, after = (f"a/{shown}", f"b/{shown}") if not Path(shown).is_absolute() else (shown, shown)
        chunks.append(
            "".join(
                difflib.unified_diff(source.splitlines(keepends=True), new.splitlines(keepends=True), before, after)
            )
        )
    return "".join(chunks), texts, unplaced
