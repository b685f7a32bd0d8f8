"""The search space a hypermodel defines: plain data, free of Keras.

The pytest process holds spaces and plans without importing a backend (the
user's code runs in the probe process, see ``probe.parent``); the discovery that
finds a space by building the model is in ``discovery``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

#: Hyperparameter kinds, by KerasTuner class name.
KINDS = {"Int": "int", "Float": "float", "Choice": "choice", "Boolean": "boolean", "Fixed": "fixed"}


class HypermodelWarning(UserWarning):
    """Something in a search space that KerasTuner accepts silently but that is probably a mistake."""


class SpaceError(ValueError):
    """The hypermodel declares a hyperparameter KerasTuner cannot use (a usage error)."""


@dataclass(frozen=True)
class Condition:
    """``parent`` must be active and take one of ``values`` for the child to be active."""

    parent: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its range, the levels the plan varies it over, and its conditions."""

    name: str
    kind: str
    default: Any
    #: Values the plan varies it over: reachable extremes, every choice, both booleans.
    levels: tuple[Any, ...]
    min_value: Any = None
    max_value: Any = None
    step: Any = None
    sampling: str | None = None
    conditions: tuple[Condition, ...] = ()
    #: True when found only by re-building (read only under some values of another).
    dynamic: bool = False
    #: A KerasTuner quirk worth telling the user about.
    note: str | None = None

    @property
    def extremes(self) -> tuple[Any, ...]:
        return self.levels if self.kind in ("int", "float") else ()


@dataclass
class SearchSpace:
    """Every hyperparameter of a hypermodel, in KerasTuner's declaration order."""

    params: tuple[Param, ...]
    #: KerasTuner's own ``HyperParameters`` config, to rebuild a real ``hp``.
    kt_config: dict[str, Any]
    #: ``"ExceptionClass: message"`` when the all-defaults build already fails.
    default_error: str | None = None
    builds: int = 0
    #: What discovery warns of (a default build that failed, a fit() that could not run...), one line each.
    warnings: tuple[str, ...] = ()
    #: The default model declares no input (no keras.Input): synthesized data needs the input shape.
    undeclared_input: bool = False
    #: Discovery builds that failed before reading every unconditional hyperparameter (``values failed (...)``).
    unfinished: tuple[str, ...] = ()
    #: ``"ExceptionClass: message"`` when the default case failed in its fit; set in the process that probed it,
    #: so that later cases there that fail the same way blame the defaults, not their own values.
    default_fit_error: str | None = None
    #: Seconds the default case took when it passed, set where it was probed: a later case past its time limit
    #: is then slow because of the values it moved.
    default_seconds: float | None = None
    #: name -> (absolute path, line) of the ``hp.Int(...)`` call that declared it (its first declaration).
    sites: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: (absolute path, line) of the build function's ``def``.
    definition: tuple[str, int] | None = None
    #: Discovery's builds that succeeded: (the values it set off the defaults, the names the build read).
    reads: tuple[tuple[dict[str, Any], tuple[str, ...]], ...] = ()
    #: Declarations of a name that differ from its first, which KerasTuner ignores: (name, first call, its
    #: file:line, this call, this call's absolute path, its line).
    redeclarations: tuple[tuple[str, str, str, str, str, int], ...] = ()
    #: Hyperparameters whose values built the same model and that no fit() reads: (name, the values compared).
    unused: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    by_name: dict[str, Param] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name = {p.name: p for p in self.params}

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def is_active(self, name: str, values: Mapping[str, Any]) -> bool:
        """Whether the build reads ``name`` under ``values`` (conditions and dynamic reads)."""
        for condition in self.by_name[name].conditions:
            if condition.parent not in self.by_name:
                continue
            if not self.is_active(condition.parent, values):
                return False
            if values.get(condition.parent, self.by_name[condition.parent].default) not in condition.values:
                return False
        return True

    def parents(self, name: str) -> set[str]:
        """The hyperparameters whose values make ``name`` active (its conditions' parents, theirs, ...)."""
        found: set[str] = set()
        for condition in self.by_name[name].conditions if name in self.by_name else ():
            found |= {condition.parent} | self.parents(condition.parent)
        return found

    def with_defaults(self, defaults: Mapping[str, Any]) -> SearchSpace:
        """This space with other defaults: what a search that starts from them sees."""
        params = tuple(replace(p, default=defaults[p.name]) if p.name in defaults else p for p in self.params)
        return replace(self, params=params)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def complete(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``values``, keeping only the active ones."""
        merged = {**self.defaults(), **values}
        return {name: value for name, value in merged.items() if name in self.by_name and self.is_active(name, merged)}
