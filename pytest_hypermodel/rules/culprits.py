"""Which values a preflight's failures come from: one analysis for every place that names a culprit.

A failing case is explained by another failing case whose moved values (those off the defaults) are a proper
subset of its own: ``conv_blocks=5`` failing alone explains the corner ``conv_blocks=5, filters_1=16``, which then
says nothing against ``filters_1``. What no failing case explains is a culprit: a value that fails alone, or a
combination that fails only together. A hyperparameter that exists only under another's value (``filters_3``,
declared only when ``conv_blocks=4``) is never that value's partner: moved beside it, it is a bystander and the
culprit is the rest, unless a run showed the rest passing without it. The cases' hints, the forecast, the
boundaries and the renderers all ask here, so they name the same culprits. Plain logic over ``{name: value}``
mappings, tested without Keras.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_hypermodel.space.hyperparameters import SearchSpace

#: The values a case moved off the defaults: ``{name: value}``.
Moved = Mapping[str, Any]
#: For each hyperparameter that exists only under some values of others, those others (``filters_3``:
#: ``conv_blocks``, which a conditional scope or a loop bound makes its parent).
Requires = Mapping[str, Collection[str]]


def off_defaults(values: Mapping[str, Any], space: SearchSpace) -> dict[str, Any]:
    """The values of a case that differ from the defaults, in the space's order: its ``Moved``."""
    return {p.name: values[p.name] for p in space if p.name in values and values[p.name] != p.default}


def requires_of(space: SearchSpace) -> dict[str, tuple[str, ...]]:
    """Each conditional hyperparameter of ``space`` and the ones whose values make it exist (``Requires``)."""
    order = space_order(space)
    return {p.name: tuple(sorted(space.parents(p.name), key=order)) for p in space if space.parents(p.name)}


def attributed(moved: Moved, requires: Requires, passing: Iterable[Moved] = ()) -> Moved:
    """``moved`` without its bystanders: the names that exist only under the value of another name it moved
    (``filters_3`` beside ``conv_blocks=4``), which cannot be that value's partner. Kept whole when a passing run
    held the rest (``model_type="large"`` passing: ``large_units=128`` beside it is the culprit, not a bystander),
    or when the rest is only what makes them exist (``conv_blocks=4, filters_3=32``: no partner to stand by).
    """
    dropped = {name for name in moved if set(requires.get(name, ())) & moved.keys()}
    kept = {name: value for name, value in moved.items() if name not in dropped}
    parents = {parent for name in dropped for parent in requires.get(name, ())}
    if not dropped or kept.keys() <= parents or any(key(kept) <= key(run) for run in passing):
        return moved
    return kept


def attributed_all(failing: Sequence[Moved], requires: Requires, passing: Iterable[Moved] = ()) -> list[Moved]:
    """``failing`` with each minimal set (no other failing set inside it) ``attributed``; a set that a smaller one
    explains keeps its values (``num_layers=3, units_0=8, units_1=8`` is explained by ``num_layers=3, units_1=8``,
    whose units_1 is a culprit with what makes it exist, not a bystander)."""
    keys = [key(m) for m in failing]
    passing = list(passing)
    return [m if any(other < k for other in keys) else attributed(m, requires, passing) for m, k in zip(failing, keys)]


def space_order(space: SearchSpace) -> Callable[[str], int]:
    """Sort key: a hyperparameter's place in the space (unknown names last)."""
    places = {p.name: i for i, p in enumerate(space)}
    return lambda name: places.get(name, len(places))


def key(moved: Moved) -> frozenset[tuple[str, Any]]:
    """``moved`` as a set of (name, value) pairs, comparable by inclusion (lists and dicts as their JSON)."""
    return frozenset((name, _hashable(value)) for name, value in moved.items())


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, (list, dict)) else value


def explaining(moved: Moved, failing: Iterable[Moved]) -> list[Moved]:
    """The failing sets that explain ``moved``: its proper, non-empty subsets among ``failing``, minimal among
    themselves (``a=1`` rather than ``a=1, b=2`` when both fail inside ``a=1, b=2, c=3``)."""
    mine = key(moved)
    inside = [(key(m), m) for m in failing if m and key(m) < mine]
    return [m for k, m in inside if not any(other < k for other, _ in inside)]


def names_of(sets: Iterable[Moved]) -> list[str]:
    """The hyperparameters named by ``sets``, each once, in the order met."""
    return list(dict.fromkeys(name for moved in sets for name in moved))


@dataclass(frozen=True)
class Group:
    """One culprit: the hyperparameters whose values fail (alone when one name, else only together).

    ``minimal`` indexes the failing sets no other failing set explains; ``members`` every failing set this
    culprit explains, the minimal ones first.
    """

    names: tuple[str, ...]
    minimal: tuple[int, ...]
    members: tuple[int, ...]


def analyse(
    failing: Sequence[Moved],
    order: Callable[[str], Any] = lambda name: 0,
    requires: Requires | None = None,
    passing: Sequence[Moved] = (),
) -> list[Group]:
    """The culprits of the failing sets ``failing`` (none of them empty: the defaults failing is said apart).

    Each set is taken without its bystanders (``attributed``, with ``requires`` and the ``passing`` sets). Minimal
    sets with the same names make one culprit, their names in ``order``; every other failing set joins the first
    culprit, in the order found, that explains it.
    """
    if requires:
        failing = attributed_all(failing, requires, passing)
    keys = [key(m) for m in failing]
    minimal = [i for i, k in enumerate(keys) if not any(other < k for other in keys)]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i in minimal:
        groups.setdefault(tuple(sorted(failing[i], key=order)), []).append(i)
    members = {names: list(indexes) for names, indexes in groups.items()}
    for i, k in enumerate(keys):
        if i in minimal:
            continue
        for names, indexes in groups.items():
            if any(keys[j] <= k for j in indexes):
                members[names].append(i)
                break
    return [Group(names, tuple(indexes), tuple(members[names])) for names, indexes in groups.items()]


def shared(groups: Sequence[Group]) -> tuple[list[str], list[str]] | None:
    """For several combinations that share hyperparameters (num_layers with units_3, with units_4, ...): the
    shared names and the rest, to be said as one culprit; None otherwise."""
    combos = [g.names for g in groups if len(g.names) > 1]
    if len(combos) < 2:
        return None
    common = set.intersection(*map(set, combos))
    every = list(dict.fromkeys(name for names in combos for name in names))
    rest = [name for name in every if name not in common]
    if not common or not rest:
        return None
    return [name for name in every if name in common], rest


def text(
    failing: Sequence[Moved],
    order: Callable[[str], Any] = lambda name: 0,
    requires: Requires | None = None,
    passing: Sequence[Moved] = (),
) -> str:
    """The culprits in a phrase, for a forecast's "constrain ...": the values that fail alone, then the
    combinations (empty when nothing fails, or when the defaults fail: every other failure may be theirs);
    ``requires`` and ``passing``: see ``analyse``."""
    if not failing or any(not m for m in failing):
        return ""
    groups = analyse(failing, order, requires, passing)
    singles = sorted({g.names[0] for g in groups if len(g.names) == 1}, key=order)
    parts = [", ".join(singles)] if singles else []
    combos = [g for g in groups if len(g.names) > 1]
    merged = shared(combos)
    if merged is not None:
        parts.append(f"{', '.join(merged[0])} together with any of {', '.join(merged[1])}")
    else:
        labels = [", ".join(g.names) for g in combos]
        parts += [f"{label} together" for label in labels[:3]]
        if len(labels) > 3:
            parts.append(f"{len(labels) - 3} more combinations")
    return "; ".join(parts)


@dataclass
class Predicate:
    """What a configuration the search may draw would do, judged from the configurations the preflight ran.

    A configuration that was run does what it did. Any other fails when it holds the values of a minimal failing
    set, unless a completed run held that set together with one of its other values (``conv_layers=1`` completing
    with ``pooling_2="avg"``: the value masks the failure, the build never reads it). A numeric value counts as a
    failing one when it lies nearer to it than to any value seen completing (on ``scale``: log for a log-sampled
    range), so ``units=30`` fails with ``units=40`` when only 10 was seen to pass. Plain logic over moved values
    (see ``key``): the forecast drives KerasTuner's oracle with it.
    """

    #: ``key(moved)`` of each configuration run, and its disposition (None: it completed).
    known: dict[frozenset[tuple[str, Any]], str | None]
    #: The minimal failing sets and their dispositions.
    failing: list[tuple[Moved, str]]
    #: The moved values of each completed run.
    passing: list[Moved]
    #: How a numeric hyperparameter's values compare (absent: by equality only).
    scale: Mapping[str, Callable[[float], float]] = field(default_factory=dict)
    #: The default values, which pass when the defaults do.
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_runs(
        cls,
        runs: Sequence[tuple[Moved, str]],
        completed: str,
        scale: Mapping[str, Callable[[float], float]] | None = None,
        defaults: Mapping[str, Any] | None = None,
        exact: Sequence[tuple[Moved, str]] = (),
    ) -> Predicate:
        """``runs``: each configuration's moved values (off ``defaults``) and its disposition (``completed`` for a
        pass); the defaults count as passing values when their run (moved nothing) completed. ``exact``: more
        configurations and their dispositions, known for themselves only (no rule is drawn from them)."""
        known = {
            key(moved): (None if disposition == completed else disposition) for moved, disposition in [*runs, *exact]
        }
        failed = [(moved, d) for moved, d in runs if d != completed]  # the defaults failing: every value fails
        keys = [key(moved) for moved, _ in failed]
        minimal = [pair for pair, k in zip(failed, keys) if not any(other < k for other in keys)]
        passed = frozenset() in known and known[frozenset()] is None
        return cls(
            known,
            minimal,
            [moved for moved, d in runs if d == completed],
            dict(scale or {}),
            dict(defaults or {}) if passed else {},
        )

    def __call__(self, moved: Moved) -> str | None:
        """The disposition of a configuration with these moved values; None when it completes."""
        mine = key(moved)
        if mine in self.known:
            return self.known[mine]
        for culprit, disposition in self.failing:
            if all(
                name in moved and self._near(name, value, moved[name]) for name, value in culprit.items()
            ) and not self._masked(culprit, moved):
                return disposition
        return None

    def _near(self, name: str, failing: Any, value: Any) -> bool:
        if _hashable(value) == _hashable(failing):
            return True
        scale = self.scale.get(name)
        if scale is None or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (failing, value)):
            return False
        seen = [m[name] for m in [*self.passing, self.defaults] if isinstance(m.get(name), (int, float))]
        distance = abs(scale(value) - scale(failing))
        return bool(seen) and all(distance < abs(scale(value) - scale(s)) for s in seen)

    def _masked(self, culprit: Moved, moved: Moved) -> bool:
        inside = key(culprit)
        others = key(moved) - inside
        return any(inside <= key(run) and key(run) & others for run in self.passing)
