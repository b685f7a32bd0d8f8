"""A probe process forked from the warm process ends its cases as a spawned one does: the same outcomes and words
for an abort and a hard exit with its code, and it is ready in a fraction of the time. Spawned and forked runs of
the same hypermodels, compared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from in_process import HYPERMODELS, OPTIONS, by_name, probe_ready_in  # tests/ is on sys.path

from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.probe import warm

pytestmark = pytest.mark.cold_start  # it starts its own warm process, and compares it with a spawned run

SPECS = ("hazards.py:aborts", "hazards.py:exits_hard", "outcomes.py:healthy")


def _isolated(rootpath: Path, *specs: str) -> dict:
    """The report's payload of a preflight of ``specs`` (files under ``rootpath``) in a probe process: SPECs as the
    plugin passes them, resolved there."""
    chosen = settings.read(settings.MappingSource({**OPTIONS, "hypermodel_isolation": "process"}))
    with Engine(chosen, rootpath) as engine:
        return engine.run(list(specs))


def _outcomes(payload: dict) -> dict[str, tuple[str, str]]:
    return {name: (case["outcome"], case.get("message", "")) for name, case in by_name(payload).items()}


def test_a_forked_probe_process_ends_its_cases_as_a_spawned_one_does_and_starts_in_a_fraction_of_the_time(tmp_path):
    """An abort and a hard exit with its code are each the case's crash with the same words; the healthy
    hypermodel passes; and the probe process is ready at least five times sooner (about 0.1 s against 5 s)."""
    cold_seconds, cold_kind = probe_ready_in(tmp_path)
    spawned = _outcomes(_isolated(HYPERMODELS, *SPECS))
    with warm.Server():
        assert os.environ.get(warm.VARIABLE)
        warm_seconds, warm_kind = probe_ready_in(tmp_path)
        forked = _outcomes(_isolated(HYPERMODELS, *SPECS))
    assert (cold_kind, warm_kind) == ("SpawnProcess", "WarmProcess")
    assert forked == spawned
    assert forked["aborts[size=2]"][0] == "crash" and "killed by SIGABRT" in forked["aborts[size=2]"][1]
    assert forked["exits_hard[size=2]"][0] == "crash" and "exit code 3" in forked["exits_hard[size=2]"][1]
    assert forked["healthy[size=2]"][0] == "ok"
    assert warm_seconds * 5 < cold_seconds, (warm_seconds, cold_seconds)
    assert warm.VARIABLE not in os.environ  # the server's end takes its name back
