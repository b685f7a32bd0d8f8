"""Where a search space breaks: the last passing and first failing value of a numeric hyperparameter.

The plan probes a numeric hyperparameter at its extremes only, so "conv_blocks=4 fails" says nothing of 3.
When an extreme fails and the default passes, a bisection over the values KerasTuner can produce between them
finds the boundary in about log2(values) probes; repeated with each value of a partner that failed beside it
(a Choice, a Boolean, or a numeric partner, whose boundaries make the frontier of the pair), it tells a user
the exact range that works. Plain logic over an oracle ``failed(values) -> bool``, so it is tested without Keras.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_hypermodel.rules import culprits

if TYPE_CHECKING:
    from pytest_hypermodel.space.hyperparameters import Param, SearchSpace

#: A probed case as ``find``'s ``known`` holds it: its complete values, frozen.
Key = frozenset[tuple[str, Any]]

#: Halvings of a continuous (Float, no step) range: the boundary to within 1/128 of the range (of its log, for
#: log sampling).
CONTINUOUS_STEPS = 7
#: Probes spent looking for one hyperparameter's value that makes failing defaults pass (the values the cases
#: already ran are free): the hyperparameters the error names are tried first.
DEFAULTS_BUDGET = 8
#: Values of a numeric partner the frontier is computed at (its extremes included).
FRONTIER_POINTS = 8
#: Probes one hypermodel's boundaries may cost, beyond the cases already probed: what stops the search, so that
#: a loaded machine finds the same boundaries as a quiet one, only later.
DEFAULT_BUDGET = 64
#: The wall clock is only a safety cap (a hung probe, a huge model): this many times as long as the hypermodel's
#: cases took, and at least SAFETY_MINIMUM seconds. A slower machine slows the cases as much as the probes.
SAFETY_FACTOR = 10.0
SAFETY_MINIMUM = 600.0


def safety_cap(case_seconds: float) -> float:
    """The default wall-clock cap of one hypermodel's boundaries, from the seconds its cases took."""
    return max(SAFETY_MINIMUM, SAFETY_FACTOR * case_seconds)


@dataclass(frozen=True)
class Boundary:
    """``hyperparameter`` passes up to ``last_ok`` and fails from ``first_failing`` on, with ``given`` set and the
    rest at their defaults."""

    hyperparameter: str
    last_ok: Any
    first_failing: Any
    given: Mapping[str, Any] = field(default_factory=dict)
    #: Probes this boundary cost (the cases the plan had probed already are free).
    probes: int = 0

    @property
    def upward(self) -> bool:
        """Whether the failing side is above the passing side (lower max_value), not below (raise min_value)."""
        return bool(self.first_failing > self.last_ok)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hyperparameter": self.hyperparameter,
            "last_ok": self.last_ok,
            "first_failing": self.first_failing,
            "given": dict(self.given),
            "probes": self.probes,
        }


@dataclass
class Findings:
    """What the search found for one hypermodel."""

    boundaries: list[Boundary] = field(default_factory=list)
    #: (hyperparameter, value) of Choice and Boolean values that fail with everything else at its default.
    failing_choices: list[tuple[str, Any]] = field(default_factory=list)
    probes: int = 0
    seconds: float = 0.0
    #: Why nothing was searched, or why the search stopped early (the budget).
    note: str | None = None
    #: (hyperparameter, its failing default, the value it passes at) when the defaults failed: the search ran
    #: from that value instead.
    moved_default: tuple[str, Any, Any] | None = None
    #: For a range that fails alone (no partner) and has at most SURVEYED values: whether each of its values fails
    #: with the rest at defaults, so a repair can keep every value that passed (``repair.propose_widest``).
    surveyed: dict[str, dict[Any, bool]] = field(default_factory=dict)

    def add(self, boundary: Boundary | None) -> None:
        if boundary is not None and not any(
            (b.hyperparameter, b.last_ok, b.first_failing, b.given)
            == (boundary.hyperparameter, boundary.last_ok, boundary.first_failing, boundary.given)
            for b in self.boundaries
        ):
            self.boundaries.append(boundary)

    def frontiers(self) -> dict[tuple[str, str], list[Boundary]]:
        """(hyperparameter, numeric partner) -> its boundary at each value of the partner that was tried."""
        pairs: dict[tuple[str, str], list[Boundary]] = {}
        for boundary in self.boundaries:
            for partner in boundary.given:
                pairs.setdefault((boundary.hyperparameter, partner), []).append(boundary)
        return pairs


#: A range that fails alone with at most this many values has each of them probed (``Findings.surveyed``).
SURVEYED = 12

#: A stepped range with more values than this is read lazily (``_Steps``).
ENUMERATED = 10_000


class _Steps(Sequence[Any]):
    """The values ``min_value + i * step`` of a long linear range from ``low`` to ``high``, computed when read."""

    def __init__(self, param: Param, low: Any, high: Any, descending: bool) -> None:
        self.param, self.descending = param, descending
        self.first: int = max(0, math.ceil((low - param.min_value) / param.step - 1e-9))
        self.length: int = max(0, math.floor((high - param.min_value) / param.step + 1e-9) + 1 - self.first)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.length))]
        if i < 0:
            i += self.length
        if not 0 <= i < self.length:
            raise IndexError(i)
        index = self.first + (self.length - 1 - i if self.descending else i)
        value = self.param.min_value + index * self.param.step
        return round(value, 12) if self.param.kind == "float" else value


def values_between(param: Param, start: Any, end: Any) -> Sequence[Any] | None:
    """The values KerasTuner can give ``param`` from ``start`` to ``end`` inclusive, in that order; None for a
    continuous range (a Float without a step)."""
    low, high = min(start, end), max(start, end)
    if param.kind == "float" and not param.step:
        return None
    if param.kind == "int" and not param.step:
        values: Sequence[Any] = range(int(low), int(high) + 1)
    elif param.sampling in ("log", "reverse_log") and param.step and param.step > 1:
        values, value = [], param.min_value  # KerasTuner multiplies by the step under log sampling
        while value <= param.max_value * (1 + 1e-9):
            if low * (1 - 1e-9) <= value <= high * (1 + 1e-9):
                values.append(value)
            value *= param.step
    else:
        count = math.floor((param.max_value - param.min_value) / param.step + 1e-9) + 1
        if count > ENUMERATED:  # a bisection reads ~log2(count) of them: never list a billion
            return _Steps(param, low, high, start > end)
        values = [param.min_value + i * param.step for i in range(count)]
        if param.kind == "float":
            values = [round(v, 12) for v in values]
        values = [v for v in values if low - 1e-12 <= v <= high + 1e-12]
    return values if start <= end else list(reversed(values))


def sample(param: Param, points: int = FRONTIER_POINTS) -> list[Any]:
    """Up to ``points`` values of a numeric hyperparameter, evenly spread, extremes included."""
    values = values_between(param, param.min_value, param.max_value)
    if values is None:
        if param.sampling == "log":
            ratio = (param.max_value / param.min_value) ** (1 / (points - 1))
            return [param.min_value * ratio**i for i in range(points - 1)] + [param.max_value]
        width = (param.max_value - param.min_value) / (points - 1)
        return [param.min_value + width * i for i in range(points - 1)] + [param.max_value]
    if len(values) <= points:
        return list(values)
    return [values[round(i * (len(values) - 1) / (points - 1))] for i in range(points)]


class _Search:
    """The oracle with its memory (the plan's probed cases included) and the probe budget."""

    def __init__(
        self,
        space: SearchSpace,
        known: Mapping[Key, bool],
        failed: Callable[[dict[str, Any]], bool],
        budget: int,
        seconds: float | None,
    ) -> None:
        self.space = space
        self.known = dict(known)
        self.oracle = failed
        self.budget = budget
        self.seconds = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.probes = 0
        #: Whether some probe was refused for the budget, and whether for the safety cap on the wall clock.
        self.cut = False
        self.capped = False

    @property
    def spent(self) -> bool:
        if self.probes >= self.budget:
            return True
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.capped = True
            return True
        return False

    def key(self, overrides: Mapping[str, Any]) -> Key:
        """The case with ``overrides`` (the rest at defaults), as ``known`` holds it."""
        return frozenset(self.space.complete(overrides).items())

    def failed(self, overrides: Mapping[str, Any]) -> bool | None:
        """Whether the case with ``overrides`` (the rest at defaults) fails; None when the budget is spent."""
        key = self.key(overrides)
        if key not in self.known:
            if self.spent:
                self.cut = True
                return None
            self.probes += 1
            self.known[key] = bool(self.oracle(self.space.complete(overrides)))
        return self.known[key]

    def bisect(
        self, name: str, failing: Any, given: Mapping[str, Any], like: Boundary | None = None
    ) -> Boundary | None:
        """The boundary of ``name`` between its default and ``failing``, with ``given`` set; None when ``failing``
        does not fail there (or the budget ran out). When ``like`` (the boundary without ``given``) still holds,
        two probes say so and it is returned."""
        param = self.space.by_name[name]
        before = self.probes
        if (
            like is not None
            and self.failed({**given, name: like.last_ok}) is False
            and self.failed({**given, name: like.first_failing})
        ):
            return like
        end = self.failed({**given, name: failing})
        if not end:
            return None
        start = param.default
        if self.failed({**given, name: start}) is not False:
            return None  # fails at its default too: the partner's own failure, not a boundary of this one
        values = values_between(param, start, failing)
        if values is not None:
            lo, hi = 0, len(values) - 1
            while hi - lo > 1:
                mid = (lo + hi) // 2
                verdict = self.failed({**given, name: values[mid]})
                if verdict is None:
                    return None
                lo, hi = (lo, mid) if verdict else (mid, hi)
            ok, bad = values[lo], values[hi]
        else:
            ok, bad = start, failing
            for _ in range(CONTINUOUS_STEPS):
                middle = math.sqrt(ok * bad) if param.sampling == "log" and ok > 0 and bad > 0 else (ok + bad) / 2
                verdict = self.failed({**given, name: middle})
                if verdict is None:
                    return None
                ok, bad = (ok, middle) if verdict else (middle, bad)
        return Boundary(name, ok, bad, dict(given), self.probes - before)


def _passing_default(search: _Search, space: SearchSpace) -> tuple[str, Any] | None:
    """Where the defaults fail: a value of one hyperparameter that passes with the rest at their defaults, trying
    first the hyperparameters the default build's error names, then the others in declaration order, each at the
    values the plan varies it over; None when none passes (or the budget ran out)."""
    error = space.default_error or space.default_fit_error or ""
    defaults = space.complete({})
    movable = [p for p in space if len(p.levels) > 1 and p.name in defaults]
    movable.sort(key=lambda p: re.search(rf"(?<!\w){re.escape(p.name)}(?!\w)", error) is None)
    budget = search.probes + DEFAULTS_BUDGET
    for param in movable:
        for value in (v for v in param.levels if v != param.default):
            if search.probes >= budget and search.key({param.name: value}) not in search.known:
                return None  # a build that fails whatever its values: not worth the whole budget
            verdict = search.failed({param.name: value})
            if verdict is None:
                return None
            if not verdict:
                return param.name, value
    return None


def _side(param: Param, value: Any) -> Any:
    """Which side of ``param``'s default ``value`` lies on (True: above); the value itself for a Choice's."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not isinstance(param.default, (int, float)):
        return value
    return value > param.default


def _far_end(param: Param, value: Any) -> Any:
    """The reachable end of ``param``'s range on ``value``'s side of its default (None for a value that is not a
    number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or len(param.levels) < 2:
        return None
    return param.levels[-1] if value > param.default else param.levels[0]


def find(
    space: SearchSpace,
    known: Mapping[Key, bool],
    failed: Callable[[dict[str, Any]], bool],
    budget: int = DEFAULT_BUDGET,
    seconds: float | None = None,
) -> Findings:
    """Boundaries of every numeric hyperparameter that fails in the probed cases ``known`` (frozen complete
    values -> failed), asking ``failed(values)`` for the values in between.

    A numeric value that fails with the rest at defaults is bisected alone, then with each partner that failed
    beside it in a corner: each failing value of a Choice or Boolean, and each of up to FRONTIER_POINTS values of a
    numeric partner (the frontier of the pair). A failing corner no single value explains (an interaction) is
    bisected along each of its numeric values, with each partner in turn. It stops after ``budget`` probes, or
    at the safety cap of ``seconds`` on the wall clock, saying which.
    """
    search = _Search(space, known, failed, budget, seconds)
    findings = Findings()
    if search.failed({}):
        passing = _passing_default(search, space)
        if passing is None:
            findings.note = (
                "the defaults fail, and no hyperparameter moved alone from its default passes: fix them "
                "first, then the boundaries can be found"
            )
            findings.probes = search.probes
            return findings
        # The search goes on from a default that passes: the failing default is then a failing value like any
        # other, and its boundary is the repair that moves the bound (or removes the value) that default sat on.
        moved_name, moved_value = passing
        findings.moved_default = (moved_name, space.by_name[moved_name].default, moved_value)
        space = search.space = space.with_defaults({moved_name: moved_value})
    defaults = space.complete({})
    failing: list[dict[str, Any]] = []
    passed: list[dict[str, Any]] = []
    for values, verdict in known.items():
        # In the space's order, not the frozenset's (string hashes differ per process): the same requests, in the
        # same order, in every run, and so the same boundaries when the budget cuts the search short.
        complete = dict(values)
        moved = {p.name: complete[p.name] for p in space if p.name in complete and p.default != complete[p.name]}
        if verdict and moved:
            failing.append(moved)
        elif not verdict:
            passed.append(moved)
    # A value that exists only under another's (filters_3 under conv_blocks=4) is no partner to bisect beside it.
    requires = culprits.requires_of(space)
    failing = [dict(moved) for moved in culprits.attributed_all(failing, requires, passed)]
    failing = [moved for i, moved in enumerate(failing) if moved not in failing[:i]]
    if findings.moved_default is not None and {findings.moved_default[0]: findings.moved_default[1]} not in failing:
        failing.append({findings.moved_default[0]: findings.moved_default[1]})
    failing.sort(key=lambda moved: (len(moved), sorted(map(str, moved.items()))))
    #: (name, failing value, given, numeric partner or None); a numeric partner's frontier is walked only when
    #: the partner's corner value moves the boundary (a dropout rate beside a too-deep stack does not).
    requests: list[tuple[str, Any, dict[str, Any], str | None]] = []

    def request(name: str, value: Any, given: Mapping[str, Any], partner: str | None = None) -> None:
        if not any(r[:3] == (name, value, given) for r in requests):
            requests.append((name, value, dict(given), partner))

    numeric = {p.name for p in space if p.kind in ("int", "float") and len(p.levels) > 1}
    # Of the values of one numeric hyperparameter that fail alone on one side of its default (an extreme and the
    # interior cases' values), the nearest to the default is bisected: its boundary is the one a repair needs, and
    # a float's bisections from further values would each end a little apart.
    nearest: dict[tuple[str, bool], Any] = {}
    for moved in failing:
        ((name, value),) = moved.items() if len(moved) == 1 else ((None, None),)
        if name in numeric:
            side = _side(space.by_name[name], value)
            if (name, side) not in nearest or abs(value - space.by_name[name].default) < abs(
                nearest[name, side] - space.by_name[name].default
            ):
                nearest[name, side] = value
    for moved in failing:
        if len(moved) == 1:
            name, value = next(iter(moved.items()))
            if name in numeric:
                if nearest[name, _side(space.by_name[name], value)] == value:
                    request(name, value, {})
            elif (name, value) not in findings.failing_choices:
                findings.failing_choices.append((name, value))
            continue
        # A corner that a smaller failing case explains (see ``culprits``): that case's values' boundaries with each
        # partner beside them. Otherwise an interaction: each numeric value's boundary with each partner.
        explained = culprits.names_of(culprits.explaining(moved, failing))
        for name in [n for n in (explained or list(moved)) if n in numeric]:
            for other, other_value in moved.items():
                if other != name:
                    request(name, moved[name], {other: other_value}, other if other in numeric else None)
    #: (name, side of its default) -> its boundary alone, which a partner's boundary is compared with.
    alone: dict[tuple[str, Any], Boundary | None] = {}
    #: Frontiers walked: (name, partner) pairs, and the corner boundaries that started them (partners that move a
    #: boundary the same way, units_1..units_9 beside num_layers, are walked once).
    walked: set[tuple[str, str]] = set()
    started: dict[str, list[tuple[Any, Any]]] = {}
    for name, value, given, partner in requests:
        if search.spent:
            search.cut = True
            break
        if not space.is_active(name, {**defaults, **given}):
            continue
        side = _side(space.by_name[name], value)
        base = alone.get((name, side))
        boundary = search.bisect(name, value, given, like=base)
        if not given:
            alone[name, side] = boundary
        elif boundary is None or boundary is base:
            continue  # the partner does not move the boundary
        if partner is not None:
            assert boundary is not None  # a partner comes with a given value: a None boundary went on above
            corner = (boundary.last_ok, boundary.first_failing)
            if (partner, name) in walked or corner in started.get(name, []):
                continue  # the pair's frontier is known from the other side, or a like partner's
            walked.add((name, partner))
            started.setdefault(name, []).append(corner)
        findings.add(boundary)
        if partner is not None:  # the frontier: the boundary at each value of the numeric partner
            for point in sample(space.by_name[partner]):
                if point != given[partner]:
                    if search.spent:  # a frontier cut short is a boundary missing: said so below
                        search.cut = True
                        break
                    point_given = {**given, partner: point}
                    found = search.bisect(name, value, point_given)
                    far = _far_end(space.by_name[name], value)
                    if found is None and far is not None and far != value:
                        # An interior corner's value passes at this point: the range's end on its side may not.
                        found = search.bisect(name, far, point_given)
                    findings.add(found)
    _survey(search, findings)
    if search.cut and search.capped:  # the one result that depends on the machine's speed: said as such
        findings.note = (
            f"stopped at the safety cap of {search.seconds:g} s on the wall clock "
            f"(--hypermodel-boundaries-seconds), before the probe budget of {budget}: some boundaries "
            f"may be missing, and a faster machine may find more"
        )
    elif search.cut:
        findings.note = f"stopped at the probe budget of {budget}: some boundaries may be missing"
    findings.probes = search.probes
    return findings


def _survey(search: _Search, findings: Findings) -> None:
    """Each value of a short range whose boundaries are all its own (no partner given) and past one of which a
    value was seen passing, probed with the rest at defaults (the cases' and bisections' results reused): a
    failing value between passing ones (rows=3 of 2..5, rows=5 passing) leaves passing values on both sides,
    which a range cut alone throws away. A range that fails from its boundary to its end costs no probe more."""
    names = dict.fromkeys(b.hyperparameter for b in findings.boundaries)
    for name in names:
        mine = [b for b in findings.boundaries if b.hyperparameter == name]
        param = search.space.by_name[name]
        if any(b.given for b in mine) or param.kind not in ("int", "float"):
            continue
        values = values_between(param, param.min_value, param.max_value)
        if values is None or len(values) > SURVEYED or not search.space.is_active(name, search.space.defaults()):
            continue
        past = [v for b in mine for v in values if (v > b.first_failing if b.upward else v < b.first_failing)]
        if not any(search.known.get(search.key({name: value})) is False for value in past):
            continue  # no value past a boundary is known to pass: the range fails from there on, as far as seen
        fails = {value: search.failed({name: value}) for value in values}
        if any(failed is None for failed in fails.values()):  # the budget ran out: no survey is better than half
            continue
        findings.surveyed[name] = {value: bool(failed) for value, failed in fails.items()}
