"""A probe process forked from a warm process (``probe.warm``) is the process spawn would have started: the
requester's environment and working directory, and a spawned one where the import environment differs (the ends of
its cases, an abort and an exit code: tests/proofs/test_warm_start_faults.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import alive  # tests/ is on sys.path
from in_process import probe_ready_in

from pytest_hypermodel import preflight
from pytest_hypermodel.probe import warm

pytestmark = pytest.mark.cold_start  # each test starts its own warm process, and compares it with a spawned run


REPORTER = """
import os
import keras


def build(hp):
    hp.Choice("size", [1, 2])
    raise ValueError(f"seen: {os.environ.get('HYPERMODEL_SEEN', 'unset')} in {os.path.basename(os.getcwd())}")
"""


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


@pytest.mark.proof  # two backend imports (a spawn and the refused warm process's): with the proofs
def test_another_import_environment_is_refused_and_the_probe_process_spawned(tmp_path, monkeypatch):
    """Another Keras configuration (here floatx) would import another Keras: the warm process refuses, and the probe
    process is spawned, with that configuration. A HOME without a configuration file reads Keras's defaults, as the
    warm process's does: that one is served."""
    with warm.Server():
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert probe_ready_in(tmp_path)[1] == "WarmProcess"
        keras_home = tmp_path / "keras"
        keras_home.mkdir()
        (keras_home / "keras.json").write_text('{"floatx": "float16"}')
        monkeypatch.setenv("KERAS_HOME", str(keras_home))
        assert warm.key()["keras_config"]["floatx"] == "float16"
        assert probe_ready_in(tmp_path)[1] == "SpawnProcess"


def test_without_a_reachable_warm_process_the_probe_process_is_spawned(tmp_path, monkeypatch):
    monkeypatch.setenv(warm.VARIABLE, str(tmp_path / "no-such-socket"))
    assert probe_ready_in(tmp_path)[1] == "SpawnProcess"


REQUESTER = """
import os, pickle, time
from pathlib import Path
from pytest_hypermodel.probe import messages, parent

class Busy:  # data whose unpickling keeps the probe process busy, as a long build would
    def __reduce__(self):
        return (time.sleep, (600,))

probe = parent.ProbeProcess(Path.cwd())
probe.ready()
probe._conn.send(messages.HoldData(pickled=pickle.dumps(Busy())).wire())
print(type(probe._process).__name__, probe._process.pid, flush=True)
time.sleep(1)
os._exit(0)  # dies while its probe process works, as a killed pytest would
"""


def test_a_forked_probe_process_ends_with_the_process_that_asked_for_it(tmp_path):
    """A spawned probe process dies with pytest (its parent); a forked one's parent is the warm process, which ends
    it (and what it started) when its requester hangs up: nothing runs on after a killed pytest."""
    with warm.Server():  # alive throughout: its own end would end its forks anyway
        done = subprocess.run(
            [sys.executable, "-c", REQUESTER], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )  # a probe process left running would hold its output open: a timeout
        kind, pid = done.stdout.split()
        assert kind == "WarmProcess"
        deadline = time.monotonic() + 10
        while alive(int(pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(int(pid))
