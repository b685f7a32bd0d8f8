"""The xdist hand-off of the plans: the worker that plans writes them to a file, the controller and the other
workers wait for it (watching the planning worker) and read them.

Part of the pytest face (only xdist needs it), with no pytest in it.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Sequence
from pathlib import Path

from pytest_hypermodel.probe.prepare import Preflight, plain


def write_handoff(path: Path, preflights: Sequence[Preflight] = (), error: str | None = None) -> None:
    """The planning worker's spaces and plans, for the controller and the other workers (they skip discovery and
    plan the same cases), or the error that stopped it. Written atomically: no one reads half a file."""
    import os

    payload = pickle.dumps(
        ("error", error)
        if error is not None
        else ("plans", [dataclasses.replace(pre, target=plain(pre.target)) for pre in preflights])
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)


class HandoffStopped(Exception):
    """The controller stopped before handing over the plans (bad input, which it reports itself, once)."""


#: Seconds the controller waits for the planning worker to start, before it gives up on it.
PLANNER_START_LIMIT = 120.0


def announce_planner(path: Path) -> None:
    """The planning worker's pid, beside the plans it will write: the controller watches it while it waits."""
    import os

    path.with_suffix(".pid").write_text(str(os.getpid()))


def _planner_gone(path: Path, since: float) -> str | None:
    """Why the planning worker will never write the plans, if it will not.

    The planning worker is this process's child: killed, it stays a zombie until execnet reaps it, which it does
    not while the controller waits here, and ``kill(pid, 0)`` still finds a zombie. Linux tells one in /proc;
    elsewhere ``waitpid`` reaps it (xdist then sees exit status 0; the run ends here anyway)."""
    import os
    import time

    try:
        pid = int(path.with_suffix(".pid").read_text())
    except (OSError, ValueError):
        if time.monotonic() - since > PLANNER_START_LIMIT:
            return f"the xdist worker that plans did not start within {PLANNER_START_LIMIT:g} s"
        return None
    gone = "the xdist worker that plans died before handing over the plans: run without -n to see why"
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # no such process, or another user's: the worker is gone
        return gone
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return gone if stat.read().rpartition(")")[2].split()[0] in ("Z", "X") else None
    except (OSError, IndexError):  # no /proc
        pass
    try:
        return gone if os.waitpid(pid, os.WNOHANG)[0] == pid else None
    except ChildProcessError:  # not this process's child: kill 0 is all there is
        return None


def await_handoff(path: Path, poll: float = 0.05, planner: bool = False) -> list[Preflight]:
    """The plans :func:`write_handoff` wrote (a hypermodel is resolved where its cases run, when they run), for the
    controller (``planner``: it watches the planning worker) and the other workers; HandoffStopped when planning
    stopped, or whoever planned is gone."""
    import os
    import time

    parent, since = os.getppid(), time.monotonic()
    while not path.exists():
        if not planner and os.getppid() != parent:
            raise HandoffStopped("the xdist controller ended before handing over the plans")
        gone = _planner_gone(path, since) if planner else None
        if gone and not path.exists():
            raise HandoffStopped(gone)
        time.sleep(poll)
    kind, handed = pickle.loads(path.read_bytes())
    if kind == "error":
        raise HandoffStopped(handed)
    return list(handed)
