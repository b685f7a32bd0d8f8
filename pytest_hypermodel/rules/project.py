"""An existing KerasTuner project: the space its oracle would reload, compared with the space now. Plain data.

A tuner given a ``directory``/``project_name`` that already holds its tuner file (``tuner0.json``, or the
``KERASTUNER_TUNER_ID``'s) reloads itself and its oracle (``oracle.json``) from it unless ``overwrite=True``
(KerasTuner's default is False): the search then samples the OLD space (a changed range keeps its old bounds, a
build's ``hp.Int`` returns the old value) or ends at once when the old search had used up ``max_trials``. Resuming a
search over an unchanged space is legitimate; any other difference is a setup error, with one line naming what
changed and the fix. Nothing here writes into, reloads from or deletes the project: ``oracle.json`` is only read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: The file KerasTuner's oracle saves in ``directory/project_name`` and reloads from.
ORACLE_FILE = "oracle.json"

#: The fixes, as each face names them.
TUNER_FIX = "pass overwrite=True to the tuner, or a new project_name"
SEARCH_FIX = "pass --overwrite, or a new --project-name"

#: At most this many differences are named in the one line; the rest are counted.
SHOWN = 5


class ProjectError(ValueError):
    """The project's oracle would reload another space, or cannot be read: one line naming the fix."""


def tuner_file(project_dir: str | Path) -> Path:
    """The file whose presence makes a tuner reload the project (``BaseTuner.__init__``): ``tuner0.json``, or the
    distributed tuner's id from ``KERASTUNER_TUNER_ID``."""
    return Path(project_dir) / f"{os.environ.get('KERASTUNER_TUNER_ID', 'tuner0')}.json"


def saved_space(project_dir: str | Path) -> dict[str, Any] | None:
    """The hyperparameters config (``{"space": [...], "values": {...}}``) in ``project_dir/oracle.json``;
    None when the tuner would not reload the project (no tuner file, no oracle: KerasTuner then starts afresh)."""
    path = Path(project_dir) / ORACLE_FILE
    if not path.is_file() or not tuner_file(project_dir).is_file():
        return None
    try:
        saved = json.loads(path.read_text())
        config: dict[str, Any] = saved["hyperparameters"]
        if not isinstance(config["space"], list) or not all(isinstance(e, dict) for e in config["space"]):
            raise TypeError("its hyperparameters.space is not a list of records")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProjectError(f"{path} is not an oracle KerasTuner can reload ({type(exc).__name__}: {exc})") from None
    return config


def _plain(value: Any) -> Any:
    """As it reads once saved as JSON (tuples are lists), so that a saved config compares with a live one."""
    return json.loads(json.dumps(value, default=str))


def _by_name(config: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in _plain(list(config.get("space", []))):
        name = str(entry.get("config", {}).get("name"))
        found.setdefault(name, []).append(entry)
    return found


def _changes(name: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """``units: max_value 40 there, 20 now``: how one hyperparameter's declaration changed; None when it did not."""
    if old.get("class_name") != new.get("class_name"):
        return f"{name}: {old.get('class_name')} there, {new.get('class_name')} now"
    before, after = old.get("config", {}), new.get("config", {})
    parts = []
    for key in [*before, *(k for k in after if k not in before)]:
        if key == "name" or before.get(key) == after.get(key):
            continue
        if key == "conditions":
            parts.append("its conditions changed")
        else:
            parts.append(f"{key} {before.get(key)!r} there, {after.get(key)!r} now")
    return f"{name}: {', '.join(parts)}" if parts else None


def differences(saved: Mapping[str, Any], current: Mapping[str, Any], unreached: Iterable[str] = ()) -> list[str]:
    """What differs between a saved oracle's hyperparameters and the current space (``HyperParameters``
    configs), one phrase each: a changed declaration (range, values, step, sampling, default, conditions, class),
    a hyperparameter removed, or one added. ``unreached``: names the current space reads only under some values of
    another (dynamic ones), which KerasTuner registers once a trial reaches them: absent from an oracle, they are
    not additions."""
    old, new = _by_name(saved), _by_name(current)
    unreached = set(unreached)
    found = []
    for name, entries in old.items():
        if name not in new:
            found.append(f"{name} removed")
        elif len(entries) == 1 and len(new[name]) == 1:
            change = _changes(name, entries[0], new[name][0])
            if change:
                found.append(change)
        elif sorted(map(json.dumps, entries)) != sorted(map(json.dumps, new[name])):
            found.append(f"{name}: its declarations changed")
    found += [f"{name} added" for name in new if name not in old and name not in unreached]
    return found


def check(project_dir: str | Path, label: str, current: Mapping[str, Any], unreached: Iterable[str], fix: str) -> None:
    """ProjectError when ``project_dir`` holds an oracle whose space differs from ``current``; nothing when it
    holds none, or the same space (a search resumed). ``label`` names the setting as the user gave it."""
    try:
        saved = saved_space(project_dir)
    except ProjectError as exc:
        raise ProjectError(f"{label}: {exc}: {fix}") from None
    if saved is None:
        return
    found = differences(saved, current, unreached)
    if not found:
        return
    shown = "; ".join(found[:SHOWN]) + (f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else "")
    raise ProjectError(
        f"{label}: KerasTuner will reload the old space from {Path(project_dir) / ORACLE_FILE} ({shown}): {fix}"
    )
