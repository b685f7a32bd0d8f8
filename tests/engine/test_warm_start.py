"""A probe process forked from a warm process (``probe.warm``) is the process spawn would have started: the same
cases, the same ends (an abort, an exit code), the requester's environment and working directory; only faster.
Each test compares a spawned run with a warm one of the same hypermodels."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from in_process import HYPERMODELS, OPTIONS, by_name  # tests/ is on sys.path

from pytest_hypermodel import preflight
from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.probe import parent, warm

pytestmark = pytest.mark.cold_start  # each test starts its own warm process, and compares it with a spawned run

SPECS = ("hazards.py:aborts", "hazards.py:exits_hard", "outcomes.py:healthy")

REPORTER = '''
import os
import keras


def build(hp):
    hp.Choice("size", [1, 2])
    raise ValueError(f"seen: {os.environ.get('HYPERMODEL_SEEN', 'unset')} in {os.path.basename(os.getcwd())}")
'''


def _isolated(rootpath: Path, *specs: str) -> dict:
    """The report's payload of a preflight of ``specs`` (files under ``rootpath``) in a probe process: SPECs as the
    plugin passes them, resolved there."""
    chosen = settings.read(settings.MappingSource({**OPTIONS, "hypermodel_isolation": "process"}))
    with Engine(chosen, rootpath) as engine:
        return engine.run(list(specs))


def _outcomes(payload: dict) -> dict[str, tuple[str, str]]:
    return {name: (case["outcome"], case.get("message", "")) for name, case in by_name(payload).items()}


def _ready_in(rootpath: Path) -> tuple[float, str]:
    """Seconds until a new probe process has imported its backend, and what kind of process it is."""
    probe = parent.ProbeProcess(rootpath)
    try:
        started = time.perf_counter()
        probe.ready()
        return time.perf_counter() - started, type(probe._process).__name__
    finally:
        probe.close()


def test_a_forked_probe_process_ends_its_cases_as_a_spawned_one_does_and_starts_in_a_fraction_of_the_time(tmp_path):
    """An abort and a hard exit with its code are each the case's crash with the same words; the healthy
    hypermodel passes; and the probe process is ready at least five times sooner (about 0.1 s against 5 s)."""
    cold_seconds, cold_kind = _ready_in(tmp_path)
    spawned = _outcomes(_isolated(HYPERMODELS, *SPECS))
    with warm.Server():
        assert os.environ.get(warm.VARIABLE)
        warm_seconds, warm_kind = _ready_in(tmp_path)
        forked = _outcomes(_isolated(HYPERMODELS, *SPECS))
    assert (cold_kind, warm_kind) == ("SpawnProcess", "WarmProcess")
    assert forked == spawned
    assert forked["aborts[size=2]"][0] == "crash" and "killed by SIGABRT" in forked["aborts[size=2]"][1]
    assert forked["exits_hard[size=2]"][0] == "crash" and "exit code 3" in forked["exits_hard[size=2]"][1]
    assert forked["healthy[size=2]"][0] == "ok"
    assert warm_seconds * 5 < cold_seconds, (warm_seconds, cold_seconds)
    assert warm.VARIABLE not in os.environ  # the server's end takes its name back


def _defaults_message(rootpath: Path) -> str:
    report = preflight(str(rootpath / "reporter.py") + ":build", rootpath=rootpath, rehearsal="off", boundaries="off")
    [defaults] = [case for case in report.cases if case["case.id"] == "defaults"]
    return str(defaults["message"])


def test_the_fork_takes_the_requester_s_environment_and_working_directory(tmp_path, monkeypatch):
    """What the requester set after the warm process started (an environment variable, the directory it works in)
    is what the user's code sees, as in a spawned process."""
    (tmp_path / "reporter.py").write_text(REPORTER)
    project = tmp_path / "project"
    project.mkdir()
    with warm.Server():
        monkeypatch.setenv("HYPERMODEL_SEEN", "after the warm start")
        monkeypatch.chdir(project)
        forked = _defaults_message(tmp_path)
        with monkeypatch.context() as cold:
            cold.delenv(warm.VARIABLE)
            spawned = _defaults_message(tmp_path)
    assert forked == spawned
    assert "seen: after the warm start in project" in forked


def test_another_import_environment_is_refused_and_the_probe_process_spawned(tmp_path, monkeypatch):
    """Another Keras configuration (here floatx) would import another Keras: the warm process refuses, and the probe
    process is spawned, with that configuration. A HOME without a configuration file reads Keras's defaults, as the
    warm process's does: that one is served."""
    with warm.Server():
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert _ready_in(tmp_path)[1] == "WarmProcess"
        keras_home = tmp_path / "keras"
        keras_home.mkdir()
        (keras_home / "keras.json").write_text('{"floatx": "float16"}')
        monkeypatch.setenv("KERAS_HOME", str(keras_home))
        assert warm.key()["keras_config"]["floatx"] == "float16"
        assert _ready_in(tmp_path)[1] == "SpawnProcess"


def test_without_a_reachable_warm_process_the_probe_process_is_spawned(tmp_path, monkeypatch):
    monkeypatch.setenv(warm.VARIABLE, str(tmp_path / "no-such-socket"))
    assert _ready_in(tmp_path)[1] == "SpawnProcess"
