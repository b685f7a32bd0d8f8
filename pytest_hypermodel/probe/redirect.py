"""The search's callbacks, with the paths they write to moved into the throwaway directory.

A ``ModelCheckpoint("best_model.keras")``, a ``CSVLogger``, a ``TensorBoard`` or ``BackupAndRestore`` directory:
a real search writes there, and the preflight runs the same callbacks for real, so it would write over the
user's files (a checkpoint from last night's search). Each case gets a deep copy (as KerasTuner's trials do) whose
path-valued attributes point into the throwaway directory instead, keeping their relative layout. The principle
is the attribute, not the class: any callback whose attribute names a path (``filepath``, ``log_dir``,
``*_dir``, ``*_path``, ``filename``) is moved, a user's own callback included.
"""

from __future__ import annotations

import copy
import os
import tempfile
from typing import Any

from pytest_hypermodel.space.user_tuner import throwaway_directory

#: Attribute names that hold a path a callback writes to; besides these, any name ending in ``_dir``, ``_path``,
#: ``_file`` or ``_filepath``.
_PATH_NAMES = frozenset({"filepath", "filename", "log_dir", "logdir", "path", "backup_dir", "directory"})
_PATH_ENDINGS = ("_dir", "_path", "_file", "_filepath")


def _names_a_path(name: str) -> bool:
    bare = name.lstrip("_")
    return bare in _PATH_NAMES or bare.endswith(_PATH_ENDINGS)


def moved(path: str | os.PathLike[str], into: str) -> str:
    """``path`` inside ``into``: a relative one under it as it is, an absolute one under ``into/abs``. The
    directories on its way that exist in the user's tree exist there too (and no others): a ``CSVLogger`` into a
    missing ``logs/`` fails in the case as it fails in the search."""
    text = os.fspath(path)
    if os.path.abspath(text).startswith(into):
        return text
    if os.path.isabs(text):
        there = os.path.join(into, "abs", os.path.splitdrive(text)[1].lstrip(os.sep))
    else:
        there = os.path.join(into, text)
    if os.path.isdir(text):
        os.makedirs(there, exist_ok=True)
    elif os.path.isdir(os.path.dirname(text) or "."):
        os.makedirs(os.path.dirname(there), exist_ok=True)
    return there


def callbacks(given: Any, into: str | None = None) -> Any:
    """A deep copy of the search's ``callbacks`` whose path attributes point into ``into`` (the throwaway
    directory); ``given`` itself where it cannot be copied (KerasTuner refuses such callbacks with its own
    error, which the case then meets as the search would)."""
    if not given:
        return given
    try:
        copied = copy.deepcopy(given)
    except Exception:  # KerasTuner's _deepcopy_callbacks says why, in the case
        return given
    into = into or tempfile.mkdtemp(prefix="written-", dir=throwaway_directory())  # a trial's own, as in a search
    for callback in copied if isinstance(copied, (list, tuple)) else [copied]:
        for name, value in list(vars(callback).items()):
            if isinstance(value, (str, os.PathLike)) and _names_a_path(name) and os.fspath(value):
                setattr(callback, name, moved(value, into))
    return copied


__all__ = ["callbacks", "moved"]
