"""What crosses the pipe between the pytest side of the probe process (``parent``) and the probe process (``child``).

Each message is a frozen dataclass with named fields, and crosses as its name and a dict of its fields, as
pytest-xdist's worker events do: the child dispatches a request by its name to a handler that takes the fields as
keyword arguments, and the pytest side reads a reply back into its dataclass. So a request's meaning is in its
field names, not in the position of a value in a tuple. A field holds plain builtins or the project's own
picklable records (a Case, a Policy, a Preflight...); the user's data crosses once, pickled by the pytest side
(``HoldData``), so that data that cannot be pickled is told apart from a pipe that broke.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from pytest_hypermodel.probe.fit import FitSettings
    from pytest_hypermodel.probe.prepare import PlanOptions, Preflight
    from pytest_hypermodel.rules.policy import Policy
    from pytest_hypermodel.space.hyperparameters import SearchSpace
    from pytest_hypermodel.space.plan import Case

#: A message as it crosses the pipe: its name and its fields.
Wire = tuple[str, dict[str, Any]]

#: What ``Building`` says before the GridSearch forecast's own builds (not discovery's).
GRID_BUILDS = "grid-order"


@dataclass(frozen=True)
class Message:
    """One message; ``name`` says which, in the wire form and in the tables that dispatch on it."""

    name: ClassVar[str] = ""

    def wire(self) -> Wire:
        """The name and the fields (each as it is: nested records stay records, unlike ``dataclasses.asdict``)."""
        return self.name, {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


# ----------------------------------------------------------------------------------- requests (to the child)


@dataclass(frozen=True)
class Request(Message):
    """What the pytest side asks of the child."""


@dataclass(frozen=True)
class HoldData(Request):
    """Keep the user's data for the requests that follow (the child answers nothing to this one)."""

    name: ClassVar[str] = "hold_data"

    #: The data (``hypermodel_data``), pickled by the pytest side.
    pickled: bytes


@dataclass(frozen=True)
class Prepare(Request):
    """Resolve, discover and plan a SPEC: answered by ``Prepared``."""

    name: ClassVar[str] = "prepare"

    spec: str
    options: PlanOptions
    #: Each build's time limit (``--hypermodel-timeout``), in seconds; None: none.
    timeout: float | None
    #: The discovery builds that killed or hung an earlier child (fault key -> why), counted as failed builds.
    faults: dict[str, str]
    #: Whether the GridSearch forecast builds the grid's trials (off after they killed the child: it infers them).
    grid_builds: bool
    #: The changes the hypermodel's declarations are held to (``repair.repaired``); () for none.
    repair: tuple[Any, ...]
    #: Whether a HyperModel's own fit() runs on the held data during discovery.
    with_data: bool
    #: The probe's settings that fit() runs with; None without data.
    settings: FitSettings | None


@dataclass(frozen=True)
class Probe(Request):
    """Build and fit one case: answered by ``Probed``."""

    name: ClassVar[str] = "probe"

    spec: str
    space: SearchSpace
    case: Case
    policy: Policy
    settings: FitSettings
    #: As in ``Prepare``.
    repair: tuple[Any, ...]


@dataclass(frozen=True)
class Rehearse(Request):
    """Rehearse the search over cases that passed alone (``rehearsal.run``): answered by ``Rehearsed``."""

    name: ClassVar[str] = "rehearse"

    spec: str
    space: SearchSpace
    #: The cases, in the order the rehearsal's oracle hands them out (between the defaults, first and last).
    cases: tuple[Case, ...]
    policy: Policy
    settings: FitSettings


# ----------------------------------------------------------------------------------- replies (from the child)


@dataclass(frozen=True)
class Reply(Message):
    """What the child says: once ``Ready``, then for each request any number of ``Building`` and one answer."""


@dataclass(frozen=True)
class Ready(Reply):
    """The child imported the backend and serves requests."""

    name: ClassVar[str] = "ready"

    backend: str
    device: str


@dataclass(frozen=True)
class Building(Reply):
    """A build starts: the pytest side starts its clock again, with the build's limit."""

    name: ClassVar[str] = "building"

    #: Which: a discovery build's fault key, GRID_BUILDS, or None for a case's build.
    during: str | None


@dataclass(frozen=True)
class Prepared(Reply):
    """The answer to ``Prepare``."""

    name: ClassVar[str] = "prepared"

    #: Its target holds no hypermodel: that stays in the child.
    preflight: Preflight


@dataclass(frozen=True)
class Probed(Reply):
    """The answer to ``Probe``."""

    name: ClassVar[str] = "probed"

    #: The case's ``fit.Result``, as its ``to_dict()``.
    result: dict[str, Any]


@dataclass(frozen=True)
class Rehearsed(Reply):
    """The answer to ``Rehearse``."""

    name: ClassVar[str] = "rehearsed"

    #: The ``rehearsal.Rehearsed``, as its ``to_dict()``.
    rehearsed: dict[str, Any]


@dataclass(frozen=True)
class SpecFailed(Reply):
    """The answer to a request whose SPEC is bad input (a ``SpecError``): the user's to fix."""

    name: ClassVar[str] = "spec_failed"

    #: The error, in one line.
    message: str


@dataclass(frozen=True)
class Bug(Reply):
    """The answer to a request that pytest-hypermodel's own code failed on in the child."""

    name: ClassVar[str] = "bug"

    traceback: str


#: Reply name -> its dataclass.
REPLIES: dict[str, type[Reply]] = {
    kind.name: kind for kind in (Ready, Building, Prepared, Probed, Rehearsed, SpecFailed, Bug)
}
#: Request name -> its dataclass.
REQUESTS: dict[str, type[Request]] = {kind.name: kind for kind in (HoldData, Prepare, Probe, Rehearse)}

_Reply = TypeVar("_Reply", bound=Reply)


def reply(wire: Wire) -> Reply:
    """The reply that crossed the pipe as ``wire``; ValueError for a name no reply has."""
    name, fields = wire
    if name not in REPLIES:
        raise ValueError(f"not a reply of the probe process: {name!r}")
    return REPLIES[name](**fields)


def expect(answer: Reply, kind: type[_Reply]) -> _Reply:
    """``answer`` as the ``kind`` of reply that was due; RuntimeError for any other (a bug on one side)."""
    if not isinstance(answer, kind):
        raise RuntimeError(f"pytest-hypermodel's probe process answered {answer.name!r} where {kind.name!r} was due")
    return answer
