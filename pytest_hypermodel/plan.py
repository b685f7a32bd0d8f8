"""Plan the cases to probe: the default, the extremes, and (later) the corners.

A case is a full set of values, as a KerasTuner trial would hold them. Its id
is built from the values that differ from the defaults, so it is stable
across runs and identical on every xdist worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from .space import SearchSpace

DEFAULT = "default"
EXTREMES = "extremes"
STRATEGIES = (DEFAULT, EXTREMES)

#: Case kinds, in the order a case is labelled when several strategies plan it.
KIND_DEFAULT = "default"
KIND_EXTREME = "extreme"
KIND_CHOICE = "choice"


def format_value(value: Any) -> str:
    """Short, stable text of a value for case ids."""
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return f"{value:.1f}"
        return f"{value:.6g}"
    return str(value)


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

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "values": dict(self.values), "varied": list(self.varied)}


@dataclass
class Plan:
    """The cases of one hypermodel, in a deterministic order."""

    cases: list[Case] = field(default_factory=list)
    strategies: tuple[str, ...] = (EXTREMES,)

    def __iter__(self):
        return iter(self.cases)

    def __len__(self) -> int:
        return len(self.cases)


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
    def __init__(self, space: "SearchSpace") -> None:
        self.space = space
        self.cases: list[Case] = []
        self.seen: set = set()

    def add(self, overrides: Mapping[str, Any], kind: str) -> None:
        values = self.space.complete(overrides)
        # Compare values as KerasTuner does (2 == 2.0): one case per distinct trial.
        key = frozenset(values.items())
        if key in self.seen:
            return
        self.seen.add(key)
        varied = tuple(p.name for p in self.space if p.name in values and values[p.name] != p.default)
        case_id = "-".join(f"{name}={format_value(values[name])}" for name in varied) or "defaults"
        self.cases.append(Case(case_id, kind, values, varied))

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
            for level in param.levels:
                self.add({**ctx, param.name: level}, kind)


def cases(space: "SearchSpace", strategies: tuple[str, ...] = (EXTREMES,)) -> Plan:
    """Plan the cases of ``space``: the default first, then each strategy's cases."""
    planner = _Planner(space)
    planner.add({}, KIND_DEFAULT)
    for strategy in strategies:
        if strategy == EXTREMES:
            planner.extremes()
    return Plan(planner.cases, strategies)
