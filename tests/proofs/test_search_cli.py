"""The search command for real: the gate, a distributed chief and workers, its exit codes (with the proofs)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_preflight

from pytest_hypermodel.rules.policy import Policy

#: Seconds any one CLI subprocess may take before the test kills it.
CLI_TIMEOUT = 240


#: Seconds any one CLI subprocess may take before the test kills it.
CLI_TIMEOUT = 240


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", **extra)
    return env


def _cli(cwd: Path, *args: str, env: dict | None = None, stdout=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest_hypermodel", "search", *args],
        cwd=cwd,
        env=env or _env(),
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(processes: dict[str, subprocess.Popen], timeout: float = CLI_TIMEOUT) -> dict[str, tuple[int, str, str]]:
    """Wait for every process (killing all of them past ``timeout``): name -> (rc, stdout, stderr)."""
    deadline = time.monotonic() + timeout
    done = {}
    try:
        for name, process in processes.items():
            out, err = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            done[name] = (process.returncode, out or "", err or "")
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
    return done


@pytest.mark.proof
def test_gate(hypermodel_dir):
    report = hypermodel_dir.path / "preflight.json"
    _result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "outcomes.py:healthy",
        "--hypermodel",
        "outcomes.py:negative_units",
        "--hypermodel-report",
        str(report),
    )
    assert cases["healthy[defaults]"].result == "passed"
    assert cases["negative_units[size=-1]"].result == "failed"
    common = ("--report", "preflight.json", "--verbose", "0", "--samples", "8", "--synthesize")
    # Flags edited by hand prove nothing: green and complete are derived from the cases again.
    tampered = json.loads(report.read_text())
    for entry in tampered["hypermodels"]:
        entry.update(green=True, complete=True)
    (hypermodel_dir.path / "tampered.json").write_text(json.dumps(tampered))
    (hypermodel_dir.path / "ints.json").write_text('{"hypermodels": [1]}')
    (hypermodel_dir.path / "abc.json").write_text('"abc"')
    runs = _finish(
        {
            "tampered": _cli(hypermodel_dir.path, "outcomes.py:negative_units", "--report", "tampered.json"),
            "ints": _cli(hypermodel_dir.path, "outcomes.py:healthy", "--report", "ints.json"),
            "abc": _cli(hypermodel_dir.path, "outcomes.py:healthy", "--report", "abc.json"),
            "green": _cli(hypermodel_dir.path, "outcomes.py:healthy", *common),
            "red": _cli(hypermodel_dir.path, "outcomes.py:negative_units", *common),
            "missing": _cli(hypermodel_dir.path, "outcomes.py:healthy", "--report", "nowhere.json"),
            "other-policy": _cli(hypermodel_dir.path, "outcomes.py:healthy", *common, "--max-retries-per-trial", "2"),
        }
    )
    rc, out, err = runs["green"]
    assert rc == 0, err
    assert "2 trials: 2 COMPLETED" in out
    for name, needle in [
        ("red", "is red: 1 of 2 cases failed (negative_units[size=-1])"),
        ("tampered", "is red: 1 of 2 cases failed (negative_units[size=-1])"),
        ("ints", "ints.json is not a preflight JSON report (TypeError: its hypermodels and cases are not lists"),
        ("abc", "abc.json is not a preflight JSON report (TypeError"),
        ("missing", "no preflight report at nowhere.json: run `pytest --hypermodel outcomes.py:healthy"),
        ("other-policy", "made with another search space or policy (policy: max_retries_per_trial=0 there, 2 here)"),
    ]:
        rc, out, err = runs[name]
        assert rc == 2, (name, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (name, err)
        assert not (hypermodel_dir.path / "hypermodel_search" / "negative_units").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.proof
def test_distributed_chief_and_two_workers(hypermodel_dir):
    report = hypermodel_dir.path / "preflight.json"
    result, _ = run_preflight(
        hypermodel_dir, "--hypermodel", "distributed.py:rendezvous", "--hypermodel-report", str(report)
    )
    assert result.ret == 0
    rendezvous = hypermodel_dir.mkdir("rendezvous")
    address = {
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(_free_port()),
        "HYPERMODEL_RENDEZVOUS": str(rendezvous),
    }
    args = (
        "distributed.py:rendezvous",
        "--report",
        "preflight.json",
        "--directory",
        "shared",
        "--verbose",
        "0",
        "--samples",
        "8",
        "--synthesize",
    )
    processes: dict[str, subprocess.Popen] = {}
    logs = {name: hypermodel_dir.path / f"{name}.out" for name in ("tuner0", "tuner1", "chief")}
    try:
        for name in ("chief", "tuner0", "tuner1"):
            with logs[name].open("w") as stdout:
                processes[name] = _cli(
                    hypermodel_dir.path, *args, env=_env(KERASTUNER_TUNER_ID=name, **address), stdout=stdout
                )
        runs = _finish(processes)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
    for name, (rc, _, err) in runs.items():
        assert rc == 0, f"{name} exited {rc}:\n{logs[name].read_text()}\n{err}"
    assert "chief: serving the oracle on 127.0.0.1" in logs["chief"].read_text()
    assert "2 trials: 2 COMPLETED" in logs["chief"].read_text()
    for name in ("tuner0", "tuner1"):
        assert f"{name}: done" in logs[name].read_text()
    assert sorted(os.listdir(rendezvous)) == ["tuner0", "tuner1"]  # each worker ran a trial
    trials = sorted((hypermodel_dir.path / "shared" / "rendezvous").glob("trial_*/trial.json"))
    statuses = {
        json.loads(p.read_text())["hyperparameters"]["values"]["size"]: json.loads(p.read_text())["status"]
        for p in trials
    }
    assert statuses == {1: "COMPLETED", 2: "COMPLETED"}


@pytest.mark.proof
def test_cli_exits_1_when_kerastuner_aborts(hypermodel_dir, monkeypatch, capsys):
    """A report that says green, yet KerasTuner aborts: exit 1 and one line (in-process, to reach main)."""
    from pytest_hypermodel.__main__ import main
    from pytest_hypermodel.probe import discovery
    from pytest_hypermodel.rules import verdict
    from pytest_hypermodel.space import target as spec

    monkeypatch.chdir(hypermodel_dir.path)
    policy = Policy(max_consecutive_failed_trials=1)
    target = spec.resolve("outcomes.py:failed_trial", hypermodel_dir.path)
    fingerprint = verdict.fingerprint(discovery.discover(target.hypermodel).kt_config, policy)
    # Green down to its cases (the gate derives green from them), yet the search aborts.
    cases = [
        {
            "nodeid": f"outcomes.py::failed_trial[{case}]",
            "test_outcome": "passed",
            "case.spec": "outcomes.py:failed_trial",
            "case.fingerprint": fingerprint,
        }
        for case in ("defaults", "size=2")
    ]
    (hypermodel_dir.path / "claims-green.json").write_text(
        json.dumps(
            {
                "hypermodels": [
                    {
                        "spec": "outcomes.py:failed_trial",
                        "fingerprint": fingerprint,
                        "cases": 2,
                        "planned": 2,
                        "complete": True,
                        "green": True,
                    }
                ],
                "cases": cases,
            }
        )
    )
    capsys.readouterr()
    rc = main(
        [
            "search",
            "outcomes.py:failed_trial",
            "--report",
            "claims-green.json",
            "--verbose",
            "0",
            "--samples",
            "8",
            "--synthesize",
            "--max-consecutive-failed-trials",
            "1",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err == [
        "pytest_hypermodel search: KerasTuner aborted the search: Number of consecutive failures exceeded the limit "
        "of 1. (last: keras_tuner.src.errors.FailedTrialError: size 2 is declared too large)"
    ]


@pytest.mark.proof
def test_worker_whose_chief_fails_its_calls_exits_1_with_one_line(hypermodel_dir, monkeypatch, capsys):
    """A real gRPC chief that answers every call UNAVAILABLE: the worker says so in one line, not a traceback."""
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos

    from pytest_hypermodel.__main__ import main
    from pytest_hypermodel.probe import discovery
    from pytest_hypermodel.rules import verdict
    from pytest_hypermodel.space import target as spec

    class GoneChief(protos.get_service_grpc().OracleServicer):
        def __getattribute__(self, name):
            if name[:1].isupper():
                return lambda request, context: context.abort(grpc.StatusCode.UNAVAILABLE, "the chief is going away")
            return super().__getattribute__(name)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    protos.get_service_grpc().add_OracleServicer_to_server(GoneChief(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    monkeypatch.chdir(hypermodel_dir.path)
    for name, value in {
        "KERASTUNER_TUNER_ID": "tuner0",
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(port),
    }.items():
        monkeypatch.setenv(name, value)
    target = spec.resolve("outcomes.py:healthy", hypermodel_dir.path)
    fingerprint = verdict.fingerprint(discovery.discover(target.hypermodel).kt_config, Policy())
    cases = [
        {
            "nodeid": "outcomes.py::healthy[defaults]",
            "test_outcome": "passed",
            "case.spec": "outcomes.py:healthy",
            "case.fingerprint": fingerprint,
        }
    ]
    (hypermodel_dir.path / "green.json").write_text(
        json.dumps(
            {
                "hypermodels": [
                    {
                        "spec": "outcomes.py:healthy",
                        "fingerprint": fingerprint,
                        "cases": 1,
                        "planned": 1,
                        "complete": True,
                        "green": True,
                    }
                ],
                "cases": cases,
            }
        )
    )
    capsys.readouterr()
    try:
        rc = main(
            [
                "search",
                "outcomes.py:healthy",
                "--report",
                "green.json",
                "--verbose",
                "0",
                "--samples",
                "8",
                "--synthesize",
            ]
        )
    finally:
        server.stop(None)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert len(err) == 1, err
    assert err[0].startswith(f"pytest_hypermodel search: the chief's oracle at 127.0.0.1:{port} stopped answering (")
    assert "the chief is going away" in err[0]
