"""Which files the user's code wrote or removed: Python's audit events, in every process that runs it.

The project's files are put back after a preflight (``engine.project_files``), but only those that the run's own
processes touched: the user may be editing the project in an editor while the preflight runs, and those edits are
theirs to keep. Each process that runs the user's code (the probe process, an xdist worker's, this one with the
isolation off) appends the paths it opens for writing, removes or renames to one log, named by an environment
variable that its children inherit. What a C library writes unseen by Python (h5py, TensorFlow's file system) is not
in it, and is left as it is.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

#: The environment variable naming the log: set by the process that watches the project, before any child starts.
LOG_VARIABLE = "PYTEST_HYPERMODEL_WRITES_LOG"

_WRITING_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_installed = False
_busy = threading.local()


def _paths(event: str, args: tuple[Any, ...]) -> list[Any]:
    """The paths ``event`` writes, creates or removes (none for a read)."""
    if event == "open":
        path, mode, flags = (*args, None, None, None)[:3]
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITING_FLAGS)
        return [path] if writing else []
    if event in ("os.remove", "os.rmdir", "os.truncate", "shutil.rmtree", "os.mkdir"):
        return [args[0]]
    if event == "os.rename":
        return [args[0], args[1]]
    if event == "shutil.copyfile":
        return [args[1]]
    return []


def _hook(event: str, args: tuple[Any, ...]) -> None:
    log = os.environ.get(LOG_VARIABLE)
    if not log or getattr(_busy, "on", False):
        return
    try:
        paths = [p for p in _paths(event, args) if isinstance(p, (str, bytes, os.PathLike))]
    except Exception:  # an event whose arguments are not as documented: nothing to note
        return
    if not paths:
        return
    _busy.on = True
    try:
        with open(log, "a") as noted:  # its own event is not noted: this thread is busy
            noted.write("".join(os.path.abspath(os.fsdecode(p)) + "\n" for p in paths))
    except Exception:  # a log that cannot be written: the files go unattributed, and are left as they are
        pass
    finally:
        _busy.on = False


def install() -> None:
    """Note this process's writes while the log variable is set (once per process; an audit hook stays)."""
    global _installed
    if not _installed:
        _installed = True
        sys.addaudithook(_hook)


def written(log: str) -> set[str]:
    """Every path the log holds."""
    try:
        with open(log) as noted:
            return {line.rstrip("\n") for line in noted if line.strip()}
    except OSError:
        return set()


__all__ = ["LOG_VARIABLE", "install", "written"]
