"""Devices and threads per xdist worker, and the controller's handoff of the plans to its workers."""

from __future__ import annotations

import pytest

from pytest_hypermodel.probe import devices


def test_device_assignment_round_robin():
    assert [devices.assign(i, ["0", "1"]) for i in range(5)] == ["0", "1", "0", "1", "0"]
    assert devices.assign(3, []) == ""  # no GPU: the CPU
    assert devices.worker_index("gw7") == 7 and devices.worker_index(None) == 0
    assert devices.parse("auto") is None and devices.parse("cpu") == [] and devices.parse("0, 2") == ["0", "2"]
    with pytest.raises(devices.DeviceError, match="use auto, cpu, or GPU indices"):
        devices.parse("gpu")
    env = devices.environment("1")
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert devices.environment("")["JAX_PLATFORMS"] == "cpu"


def test_detect_reads_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert devices.detect() == ["2", "3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert devices.detect() == []


def test_threads_per_worker_share_the_cores(monkeypatch):
    monkeypatch.setattr(devices, "cores", lambda: 16)
    assert [devices.threads_per_worker(n) for n in (1, 2, 3, 16, 32)] == [16, 8, 5, 1, 1]
    env = devices.environment("", threads=1)
    assert env["TF_NUM_INTRAOP_THREADS"] == env["TF_NUM_INTEROP_THREADS"] == env["OMP_NUM_THREADS"] == "1"
    assert "intra_op_parallelism_threads=1" in env["XLA_FLAGS"]
    assert "OMP_NUM_THREADS" not in devices.environment("")  # a serial run keeps the backends' defaults


def test_the_handoff_carries_the_plans_or_the_error_that_stopped_the_controller(tmp_path):
    from pytest_hypermodel.plugin import handoff
    from pytest_hypermodel.space import plan
    from pytest_hypermodel.space.hyperparameters import Param, SearchSpace
    from pytest_hypermodel.space.target import Target

    space = SearchSpace((Param("size", "choice", 1, (1, 2)),), {"space": []})
    pre = handoff.Preflight(Target("m.py:build", tmp_path / "m.py", "build", object()), space, plan.cases(space))
    handoff.write_handoff(tmp_path / "plans", [pre])
    (handed,) = handoff.await_handoff(tmp_path / "plans")
    assert handed.target.hypermodel is None and [c.id for c in handed.plan] == ["defaults", "size=2"]
    handoff.write_handoff(tmp_path / "error", error="--hypermodel m.py:nothing: no such build function")
    with pytest.raises(handoff.HandoffStopped, match="--hypermodel m.py:nothing: no such build function"):
        handoff.await_handoff(tmp_path / "error")
