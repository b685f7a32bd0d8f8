"""Which values a preflight's failures come from: one analysis for every place that names a culprit.

A failing case is explained by another failing case whose moved values (those off the defaults) are a proper
subset of its own: ``conv_blocks=5`` failing alone explains the corner ``conv_blocks=5, filters_1=16``, which then
says nothing against ``filters_1``. What no failing case explains is a culprit: a value that fails alone, or a
combination that fails only together. The cases' hints, the forecast, the boundaries and the renderers all ask
here, so they name the same culprits. Plain logic over ``{name: value}`` mappings, tested without Keras.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

#: The values a case moved off the defaults: ``{name: value}``.
Moved = Mapping[str, Any]


def key(moved: Moved) -> frozenset:
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


def analyse(failing: Sequence[Moved], order: Callable[[str], Any] = lambda name: 0) -> list[Group]:
    """The culprits of the failing sets ``failing`` (none of them empty: the defaults failing is said apart).

    Minimal sets with the same names make one culprit, their names in ``order``; every other failing set joins
    the first culprit, in the order found, that explains it.
    """
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


def text(failing: Sequence[Moved], order: Callable[[str], Any] = lambda name: 0) -> str:
    """The culprits in a phrase, for a forecast's "constrain ...": the values that fail alone, then the
    combinations (empty when nothing fails, or when the defaults fail: every other failure may be theirs)."""
    if not failing or any(not m for m in failing):
        return ""
    groups = analyse(failing, order)
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
