"""What the pytest processes of one run share by name: the keys of the config's stash, the xdist workers' inputs
and pytest's cache key, in one place so that the hooks' modules need not import each other for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

#: The preflights (resolved SPECs, their spaces and plans) of this pytest process.
PREFLIGHTS_KEY = pytest.StashKey[list[Any]]()
#: On an xdist controller: the file the planning worker writes the plans to.
HANDOFF_KEY = pytest.StashKey[Path]()
#: The gateway id of the worker that plans, once xdist has configured it.
PLANNER_KEY = pytest.StashKey[str]()
#: On the controller: the devices the workers are pinned to, round-robin.
DEVICES_KEY = pytest.StashKey[list[Any]]()
WORKER_DEVICE = "hypermodel_device"
WORKER_THREADS = "hypermodel_threads"
#: The file where the controller puts the plans once made; a worker on this machine waits for it (see ``handoff``).
WORKER_PLANS_FILE = "hypermodel_plans_file"
#: Set for the one worker that plans (the first on the controller's machine): the others, and the controller, wait.
WORKER_PLANNER = "hypermodel_planner"
#: pytest's cache key of the last results of every case, for the forecast of a run that reruns some (--lf, -k).
CACHE_ENTRIES = "hypermodel/entries"
