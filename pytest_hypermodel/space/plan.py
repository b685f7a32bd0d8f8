"""Plan the cases to probe: the default, the extremes, the corners, the grid.

A case is a full set of values, as a KerasTuner trial would hold them. Its id
is built from the values that differ from the defaults, so it is stable
across runs and identical on every xdist worker.

Corners are a t-way covering array over the levels of the hyperparameters
(numeric: the two reachable extremes, optionally the default between them;
Choice: every value; Boolean: both): every combination of levels of any t
co-active hyperparameters appears in some case, in a number of cases that
grows with the logarithm of their count. Failures come from interactions
(units_1=40 is fine alone and too large with units_2=30); the full grid of
extremes finds them too, but has 2^d cases.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_hypermodel.space.words import plural

if TYPE_CHECKING:
    import random

    from pytest_hypermodel.space import covering
    from pytest_hypermodel.space.hyperparameters import Param, SearchSpace

DEFAULT = "default"
EXTREMES = "extremes"
CORNERS = "corners"
GRID = "grid"
INTERIOR = "interior"
STRATEGIES = (DEFAULT, EXTREMES, CORNERS, INTERIOR, GRID)
#: The default strategy: one-factor-at-a-time extremes catch a bad range of one
#: hyperparameter and name it; pairwise corners catch bad combinations, for a
#: number of cases that grows only with the log of the hyperparameter count;
#: interior cases catch values that fail inside a range (heads that do not divide units).
DEFAULT_STRATEGIES = (EXTREMES, CORNERS, INTERIOR)
DEFAULT_MAX_CASES = 256
#: Seconds of covering-array improvement per plan (a deterministic work budget).
COVERING_BUDGET = 1.0
#: Levels the plan varies one hyperparameter over, at most: a Choice of 10,000 values is planned at this many of
#: them, evenly spread (its first, its last and its default among them). Each level costs at least one case
#: (the extremes) and multiplies the corners, so a plan over every value would outgrow any cap on the cases.
MAX_LEVELS = 32
#: An Int range this small has every value planned, one at a time (heads 1..8: 3, 5, 6 and 7 fail inside it).
SMALL_RANGE = 8
#: Seeded random draws from inside every range, as a random tuner would draw them (the same for a seed), each built
#: and fitted. Few: a fit costs seconds, and the builds without a fit (``screen``) draw the tuner's configurations
#: by the dozen; the fitted draws see what only a fit of an interior configuration shows. With 8 draws the
#: getting-started guide's preflight cost 1.47 times what it did before the interior cases and the cheap checks;
#: with 3, 1.24 times.
INTERIOR_DRAWS = 3

#: Case kinds, in the order a case is labelled when several strategies plan it.
KIND_DEFAULT = "default"
KIND_EXTREME = "extreme"
KIND_CHOICE = "choice"
KIND_CORNER = "corner"
KIND_GRID = "grid"
KIND_INTERIOR = "interior"
#: A trial of the tuner's own order (GridSearch), planned to forecast the search.
KIND_TRIAL = "trial"


def format_value(value: Any) -> str:
    """Short, stable text of a value for case ids."""
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return f"{value:.1f}"
        return f"{value:.6g}"
    return str(value)


def printable(text: str) -> str:
    """``text`` with each character that is not printable (a BEL, an ANSI escape, a newline) and each backslash
    written as a Python escape (``\\x07``): safe in XML, in a terminal and in a pytest node id, and reversible
    (see ``unprintable``), so reports keyed by it still name the hyperparameter."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(ch if ch.isprintable() and ch != "\\" else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def unprintable(text: str) -> str:
    """The text ``printable`` was given."""
    return _ESCAPE.sub(lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1)[1:], 16)), text)


def plan_levels(param: Param) -> tuple[Any, ...]:
    """The levels the plan varies ``param`` over: all of them, or MAX_LEVELS evenly spread, the default included."""
    levels = param.levels
    if len(levels) <= MAX_LEVELS:
        return levels
    picks = {round(i * (len(levels) - 1) / (MAX_LEVELS - 2)) for i in range(MAX_LEVELS - 1)}
    return tuple(dict.fromkeys(level for i, level in enumerate(levels) if i in picks or level == param.default))


class PlanError(ValueError):
    """A planning option the user gave cannot be honoured (a usage error)."""


@dataclass(frozen=True)
class Case:
    """One configuration to build and fit."""

    id: str
    kind: str
    #: Values as KerasTuner would hold them in a trial (every active hyperparameter).
    values: Mapping[str, Any]
    #: Active hyperparameters whose value differs from the default, in space order.
    varied: tuple[str, ...] = ()
    #: Every kind that planned it (a corner can coincide with an extreme).
    kinds: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "values": dict(self.values),
            "varied": list(self.varied),
            "kinds": list(self.kinds),
        }


@dataclass
class Plan:
    """The cases of one hypermodel, in a deterministic order."""

    cases: list[Case] = field(default_factory=list)
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    strength: int = 2
    #: Cases planned before the cap, and how many of them the cap dropped.
    planned: int = 0
    dropped: int = 0
    max_cases: int | None = None
    #: name -> (levels planned, levels it has) of each hyperparameter with more than MAX_LEVELS levels.
    capped: dict[str, tuple[int, int]] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """What the plan leaves out of the space, one line each (for --hypermodel-plan)."""
        return [
            f"{printable(name)}: {kept} of its {total} values planned (evenly spread, its default among them; "
            f"at most {MAX_LEVELS} per hyperparameter)"
            for name, (kept, total) in self.capped.items()
        ]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for case in self.cases:
            counts[case.kind] = counts.get(case.kind, 0) + 1
        return counts

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    def __len__(self) -> int:
        return len(self.cases)


def make_case(space: SearchSpace, values: Mapping[str, Any], kind: str) -> Case:
    """The case of complete ``values``, its id built from those that differ from the defaults."""
    varied = tuple(p.name for p in space if p.name in values and values[p.name] != p.default)
    case_id = "-".join(printable(f"{name}={format_value(values[name])}") for name in varied) or "defaults"
    return Case(case_id, kind, values, varied, (kind,))


def parse_strategies(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"extremes,corners"`` -> ``("extremes", "corners")``, rejecting unknown names."""
    names = [part.strip() for part in (text.split(",") if isinstance(text, str) else text) if part.strip()]
    unknown = [name for name in names if name not in STRATEGIES]
    if unknown or not names:
        raise PlanError(
            f"unknown strategy {', '.join(unknown) or repr(text)}: use one of {', '.join(STRATEGIES)} "
            f"or a comma list of them"
        )
    return tuple(dict.fromkeys(names))


class _Planner:
    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.cases: list[Case] = []
        self.seen: dict[frozenset[tuple[str, Any]], int] = {}

    def add(self, overrides: Mapping[str, Any], kind: str) -> None:
        values = self.space.complete(overrides)
        # Compare values as KerasTuner does (2 == 2.0): one case per distinct trial.
        key = frozenset(values.items())
        if key in self.seen:
            index = self.seen[key]
            case = self.cases[index]
            if kind not in case.kinds:
                self.cases[index] = dataclasses.replace(case, kinds=(*case.kinds, kind))
            return
        self.seen[key] = len(self.cases)
        self.cases.append(make_case(self.space, values, kind))

    def context(self, name: str) -> dict[str, Any]:
        """Values of the ancestors that make ``name`` active."""
        ctx: dict[str, Any] = {}
        for condition in self.space.by_name[name].conditions:
            if condition.parent in self.space.by_name and condition.values:
                ctx.update(self.context(condition.parent))
                ctx.setdefault(condition.parent, condition.values[0])
        return ctx

    def extremes(self) -> None:
        """One factor at a time: each level of each hyperparameter, the rest at defaults."""
        for param in self.space:
            kind = KIND_EXTREME if param.kind in ("int", "float") else KIND_CHOICE
            ctx = self.context(param.name)
            for level in plan_levels(param):
                self.add({**ctx, param.name: level}, kind)

    def interior(self, seed: int, draws: int = INTERIOR_DRAWS) -> None:
        """Inside the ranges: every value of a small Int range, one at a time, then ``draws`` seeded random
        configurations (each hyperparameter drawn over its whole range, as a random tuner draws)."""
        import random

        for param in self.space:
            values = int_values(param)
            if values is not None and len(values) <= SMALL_RANGE:
                ctx = self.context(param.name)
                for value in values:
                    self.add({**ctx, param.name: value}, KIND_INTERIOR)
        rng = random.Random(seed)
        for _ in range(draws):
            self.add({p.name: draw(p, rng) for p in self.space}, KIND_INTERIOR)


def int_values(param: Param) -> list[int] | None:
    """Every value of an Int range (None for another kind, or a range of more than 1,000 values)."""
    if param.kind != "int" or param.min_value is None or param.max_value is None:
        return None
    low, high, step = int(param.min_value), int(param.max_value), param.step or 1
    if param.sampling == "reverse_log":
        return None
    if param.sampling == "log" and low > 0 and step > 1:
        values = [low]
        while values[-1] * step <= high and len(values) <= 1000:
            values.append(values[-1] * step)
        return values
    if (high - low) // step >= 1000:
        return None
    return list(range(low, high + 1, int(step)))


def draw(param: Param, rng: random.Random) -> Any:
    """A value of ``param`` drawn over its whole range: an Int's step, a Float's scale (log when sampled so)."""
    if param.kind == "int":
        values = int_values(param)
        if values is not None:
            return rng.choice(values)
        if param.sampling == "reverse_log" or param.min_value is None or param.max_value is None:
            return rng.choice(param.levels)
        step = int(param.step or 1)
        return int(param.min_value) + step * rng.randint(0, (int(param.max_value) - int(param.min_value)) // step)
    if param.kind == "float" and param.min_value is not None and param.max_value is not None:
        low, high = float(param.min_value), float(param.max_value)
        if param.step:
            return low + float(param.step) * rng.randint(0, int((high - low) / float(param.step) + 1e-9))
        if param.sampling == "log" and low > 0:
            return math.exp(rng.uniform(math.log(low), math.log(high)))
        return rng.uniform(low, high)
    return rng.choice(param.levels) if param.levels else param.default


class _Factors:
    """The hyperparameters varied together, with their levels and activation conditions."""

    def __init__(self, space: SearchSpace, levels: int) -> None:
        self.params = [p for p in space if len(p.levels) > 1]
        from pytest_hypermodel.space import (
            covering,  # NumPy, only when a plan is made: reading the settings must not import it
        )

        self.levels: list[list[Any]] = []
        for param in self.params:
            values = list(plan_levels(param))
            if levels == 3 and param.kind in ("int", "float") and param.default not in values:
                values.insert(1, param.default)
            self.levels.append(values)
        index = {p.name: i for i, p in enumerate(self.params)}
        self.conditions: dict[int, covering.Condition] = {}
        for j, param in enumerate(self.params):
            condition = param.conditions[-1] if param.conditions else None
            if condition is None or condition.parent not in index:
                continue
            parent = index[condition.parent]
            allowed = [i for i, v in enumerate(self.levels[parent]) if v in condition.values]
            if not allowed and condition.values:
                self.levels[parent].append(condition.values[0])
                allowed = [len(self.levels[parent]) - 1]
            self.conditions[j] = covering.Condition(parent, frozenset(allowed))

    def values(self, row: tuple[int, ...]) -> dict[str, Any]:
        """The values a covering-array row gives its active factors."""
        from pytest_hypermodel.space import covering

        return {
            p.name: self.levels[j][row[j]]
            for j, p in enumerate(self.params)
            if covering.is_active(row, j, self.conditions)
        }


def _grid_size(factors: _Factors) -> int:
    size = 1
    for values in factors.levels:
        size *= len(values)
    return size


def cases(
    space: SearchSpace,
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES,
    strength: int | None = None,
    levels: int = 2,
    max_cases: int | None = DEFAULT_MAX_CASES,
    budget: float = COVERING_BUDGET,
    trials: Sequence[Mapping[str, Any]] = (),
    seed: int = 0,
) -> Plan:
    """Plan the cases of ``space``: the default first, then each strategy's cases.

    ``strength`` None means 2, or fewer when the space has fewer factors;
    an explicit strength above the number of factors is a PlanError.
    """
    from pytest_hypermodel.space import covering

    if levels not in (2, 3):
        raise PlanError(f"levels {levels}: use 2 (the extremes) or 3 (the extremes and the default)")
    factors = _Factors(space, levels)
    if strength is None:
        strength = max(1, min(2, len(factors.params)))
    elif strength < 1 or (strength > len(factors.params) and CORNERS in strategies):
        raise PlanError(
            f"strength {strength}: use 1 to {max(1, len(factors.params))}, "
            f"the number of hyperparameters varied ({len(factors.params)})"
        )
    planner = _Planner(space)
    planner.add({}, KIND_DEFAULT)
    for values in trials:
        planner.add(values, KIND_TRIAL)
    for strategy in strategies:
        if strategy == EXTREMES:
            planner.extremes()
        elif strategy == CORNERS:
            rows = covering.covering_array(
                [len(v) for v in factors.levels],
                strength,
                conditions=factors.conditions,
                time_budget=budget,
                wall_clock_cap=False,
            )
            for row in rows:
                planner.add(factors.values(row), KIND_CORNER)
        elif strategy == INTERIOR:
            planner.interior(seed)
        elif strategy == GRID:
            size = _grid_size(factors)
            if max_cases is not None and size > max_cases:
                raise PlanError(
                    f"grid of {plural(len(factors.params), 'hyperparameter')} has {plural(size, 'case')}, over "
                    f"--hypermodel-max-cases {max_cases}: use corners, or raise the cap"
                )
            for row in itertools.product(*(range(len(v)) for v in factors.levels)):
                planner.add(factors.values(row), KIND_GRID)
    planned = len(planner.cases)
    kept = planner.cases if max_cases is None else _cap(planner.cases, max_cases)
    capped = {p.name: (len(plan_levels(p)), len(p.levels)) for p in space if len(p.levels) > MAX_LEVELS}
    return Plan(_unique_ids(kept), strategies, strength, planned, planned - len(kept), max_cases, capped)


def _unique_ids(planned: list[Case]) -> list[Case]:
    """The cases, each with its own id: values holding ``-`` and ``=`` can spell another case's id
    (``a='y-b=2'`` and ``a='y', b=2``); a later one gets a suffix, ``~2``, ``~3``, ... (its values are in
    its JUnit properties and its JSON entry)."""
    taken = {case.id for case in planned}
    if len(taken) == len(planned):
        return planned
    seen: set[str] = set()
    out = []
    for case in planned:
        if case.id in seen:
            n = 2
            while f"{case.id}~{n}" in taken:
                n += 1
            case = dataclasses.replace(case, id=f"{case.id}~{n}")
            taken.add(case.id)
        seen.add(case.id)
        out.append(case)
    return out


#: Which cases a cap keeps first: the default, then corners (each covers many
#: interactions), then extremes and choices, then interior cases, then grid leftovers.
_CAP_PRIORITY = {
    KIND_DEFAULT: 0,
    KIND_TRIAL: 1,
    KIND_CORNER: 1,
    KIND_EXTREME: 2,
    KIND_CHOICE: 2,
    KIND_INTERIOR: 3,
    KIND_GRID: 4,
}


def _cap(planned: list[Case], max_cases: int) -> list[Case]:
    if len(planned) <= max_cases:
        return planned

    def rank(i: int) -> tuple[int, int]:
        return min(_CAP_PRIORITY.get(kind, 4) for kind in planned[i].kinds or (planned[i].kind,)), i

    ranked = sorted(range(len(planned)), key=rank)
    keep = set(ranked[:max_cases])
    return [case for i, case in enumerate(planned) if i in keep]
