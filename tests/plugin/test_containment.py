"""Cases that kill or hang their process are reported as crash / timeout, and every other case still runs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import alive, beside, run_preflight

from pytest_hypermodel.probe import devices

#: Each hazard's size=2 build kills, hangs or exits whatever process runs it: discovery's first, then its case's.
FAULTS = {
    "aborts": ("crash", "the process running the case died (killed by SIGABRT)"),
    "segfaults": ("crash", "the process running the case died (killed by SIGSEGV)"),
    "oom_killed": ("crash", "the process running the case died (killed by SIGKILL)"),
    "exits_hard": ("crash", "the process running the case died (exit code 3)"),
    "hangs": ("timeout", "the case ran past its time limit of 5 s"),
    "hangs_hard": ("timeout", "the case ran past its time limit (it did not stop at 5 s: its process was killed)"),
    "exits": ("error", "SystemExit: 3"),
    "interrupts": ("error", "KeyboardInterrupt: "),
}


#: Under xdist, one fault of each way to go: the process dies, hangs past its alarm, or the build raises what
#: KerasTuner does not catch (each restart of a probe process costs a backend import); with a process per case,
#: the two that end it.
XDIST_FAULTS = ("aborts", "hangs_hard", "interrupts")
ISOLATED_FAULTS = ("exits_hard", "hangs_hard")


@pytest.mark.parametrize(
    ("mode", "faults"),
    [
        pytest.param([], tuple(FAULTS), marks=pytest.mark.proof),
        (["-n", "2"], XDIST_FAULTS),
        pytest.param(["-n", "2", "--hypermodel-isolate"], ISOLATED_FAULTS, marks=pytest.mark.proof),
    ],
    ids=["serial", "xdist", "xdist-isolate"],
)
def test_every_fault_is_a_reported_case_and_no_case_is_lost(hypermodel_dir, mode, faults):
    """Whatever a build does, in discovery or in its case, the run goes on and every planned case is reported."""
    report = hypermodel_dir.path / "preflight.json"
    specs = [arg for name in [*faults, "aborts_at_defaults"] for arg in ("--hypermodel", f"hazards.py:{name}")]
    result, cases = run_preflight(
        hypermodel_dir,
        *specs,
        "--hypermodel",
        "outcomes.py:healthy",
        "--hypermodel-timeout",
        "5",
        "--hypermodel-report",
        str(report),
        *mode,
    )
    planned = {
        **{f"{name}[defaults]": "ok" for name in faults},
        **{f"{name}[size=2]": FAULTS[name][0] for name in faults},
        "aborts_at_defaults[defaults]": "crash",  # no hyperparameter survived: the defaults are the one case
        "healthy[defaults]": "ok",
        "healthy[size=2]": "ok",
    }
    assert {name: c.properties["outcome"] for name, c in cases.items()} == planned
    assert {name for name, c in cases.items() if c.result == "failed"} == {
        name for name, outcome in planned.items() if outcome != "ok"
    }
    data = json.loads(report.read_text())
    assert sorted(e["nodeid"].partition("::")[2] for e in data["cases"]) == sorted(planned)
    assert all(h["complete"] for h in data["hypermodels"]) and len(data["forecasts"]) == len(faults) + 2
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines_random([f"size=2 -> {FAULTS[name][1]}*" for name in faults])
    result.stdout.fnmatch_lines(
        [
            "*aborts_at_defaults: RandomSearch would crash before its first trial: building "
            "the defaults raises BuildFault: its process died (killed by SIGABRT) during discovery*"
        ]
    )


def test_a_module_that_kills_its_importer_is_one_usage_error(hypermodel_dir):
    result = hypermodel_dir.runpytest_subprocess(
        "-p", "no:cacheprovider", "--hypermodel", "aborts_on_import.py:build_model"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --hypermodel aborts_on_import.py:build_model: the probe process died (killed by "
            "SIGABRT) while starting or importing it, before any build; run python "
            "aborts_on_import.py to see why"
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_pytest_processes_never_import_the_backend(hypermodel_dir, monkeypatch, workers):
    """The user's code and the backend live in the probe processes: pytest itself (controller and workers) stays light."""
    modules_log = beside(hypermodel_dir, "modules.log")
    monkeypatch.setenv("MODULES_LOG", str(modules_log))
    hypermodel_dir.makeconftest(
        textwrap.dedent(
            """
        import os, sys

        def record(config):
            loaded = [m for m in ("keras", "tensorflow", "keras_tuner", "jax", "torch", "outcomes") if m in sys.modules]
            with open(os.environ["MODULES_LOG"], "a") as log:
                worker = getattr(config, "workerinput", {}).get("workerid", "main")
                log.write(worker + " " + ",".join(loaded) + "\\n")

        # A worker records before it tells the controller it finished: xdist may end a worker's process before
        # its pytest_unconfigure has run (it did under load). The controller records last of all.
        def pytest_sessionfinish(session):
            if hasattr(session.config, "workerinput"):
                record(session.config)

        def pytest_unconfigure(config):
            if not hasattr(config, "workerinput"):
                record(config)
        """
        )
    )
    result, cases = run_preflight(
        hypermodel_dir, "--hypermodel", "outcomes.py:healthy", "--hypermodel-tuner", "GridSearch", *workers
    )
    assert result.ret == pytest.ExitCode.OK and len(cases) == 2
    lines = sorted(modules_log.read_text().split("\n")[:-1])
    assert lines == (["gw0 ", "gw1 ", "main "] if workers else ["main "])


@pytest.mark.proof  # three xdist workers' backend imports (the crash takes one): with the fault matrix's other modes
def test_with_isolation_off_xdist_still_reports_a_crash(hypermodel_dir):
    """In-process probing is the fast mode; xdist's disposable workers then contain what they can."""
    result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "hazards.py:AbortsInFit",
        "--hypermodel",
        "outcomes.py:healthy",
        "-n",
        "2",
        "--hypermodel-isolation",
        "off",
    )
    assert {name: (c.properties["outcome"], c.result) for name, c in cases.items()} == {
        "AbortsInFit[defaults]": ("ok", "passed"),
        "AbortsInFit[size=2]": ("crash", "failed"),
        "healthy[defaults]": ("ok", "passed"),
        "healthy[size=2]": ("ok", "passed"),
    }
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def _record_environment(pytester: pytest.Pytester, *names: str) -> None:
    """A conftest whose hypermodel_data records, on each case, the process id and these variables as it saw them."""
    pytester.makeconftest(
        textwrap.dedent(
            f"""
            import os
            import pytest

            @pytest.fixture
            def hypermodel_data(request):
                for name in {names!r}:
                    request.node.user_properties.append((name, str(os.environ.get(name))))
                request.node.user_properties.append(("pid", str(os.getpid())))
                return None
            """
        )
    )


def test_workers_are_pinned_to_their_device(hypermodel_dir, monkeypatch):
    """Each worker's probe process gets its device and its share of the cores; one of them discovers, for everyone:
    the controller runs no build, and no other worker re-discovers."""
    log = beside(hypermodel_dir, "builds.log")
    monkeypatch.setenv("HYPERMODEL_BUILD_LOG", str(log))
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    # Two fake GPU ids on a CPU machine: the assignment is real, the backend then finds no GPU there.
    result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "outcomes.py:logs_builds",
        "--hypermodel-devices",
        "5,6",
        "-n",
        "2",
        "-p",
        "no:randomly",
    )
    assert len(cases) == 2 and result.ret == pytest.ExitCode.OK
    assert {c.properties["device"] for c in cases.values()} == {"cpu"}
    builds = [line.split() for line in log.read_text().splitlines()]
    threads = str(devices.threads_per_worker(2))
    # Every build ran in one of the two workers' probe processes, pinned to that worker's GPU and share of the
    # cores: discovery's (2 builds, in the planning worker's) and each case's, once.
    assert len({b[0] for b in builds}) == 2 and len(builds) == 2 + len(cases)
    assert {b[1] for b in builds} <= {"5", "6"} and {(b[2], b[3]) for b in builds} == {(threads, threads)}


def test_a_worker_on_another_machine_keeps_its_own_devices_and_pools(hypermodel_dir, monkeypatch):
    """xdist's remote execution on loopback: a socket gateway is what `--tx ssh=...` is to the plugin (not popen)."""
    _record_environment(hypermodel_dir, "PYTEST_XDIST_WORKER", "CUDA_VISIBLE_DEVICES", "TF_NUM_INTRAOP_THREADS")
    for name in ("CUDA_VISIBLE_DEVICES", "TF_NUM_INTRAOP_THREADS"):
        monkeypatch.delenv(name, raising=False)
    # The "other machine" has no GPU; this one claims GPU 5 (a fake id: the backend finds no GPU there).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "execnet.script.socketserver", f"127.0.0.1:{port}"],
        cwd=hypermodel_dir.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    try:
        assert "Entering Accept loop" in server.stdout.readline()  # it listens: xdist can connect
        result, cases = run_preflight(
            hypermodel_dir,
            "--hypermodel",
            "outcomes.py:healthy",
            "--hypermodel",
            "outcomes.py:nan_loss",
            "--dist",
            "load",
            "--tx",
            f"socket=127.0.0.1:{port}//chdir={hypermodel_dir.path}",
            "--tx",
            "popen",
        )
    finally:
        server.kill()
        server.wait()
    assert {name: c.properties["outcome"] for name, c in cases.items()} == {
        "healthy[defaults]": "ok",
        "healthy[size=2]": "ok",
        "nan_loss[defaults]": "ok",
        "nan_loss[size=2]": "nan",
    }
    seen = {
        (
            c.properties["PYTEST_XDIST_WORKER"],
            c.properties["CUDA_VISIBLE_DEVICES"],
            c.properties["TF_NUM_INTRAOP_THREADS"],
        )
        for c in cases.values()
    }
    # gw0, the remote one: no GPU of the controller's, its own thread pools; gw1, on this machine: GPU 5, its share.
    assert seen == {("gw0", "", "None"), ("gw1", "5", str(devices.threads_per_worker(1)))}
    result.stdout.fnmatch_lines(
        ["*1 failed, 3 passed*"]
    )  # a RandomSearch over 2 values cannot abort: no forecast fails


#: What a fresh probe process finds (``leaks.py:records_state``), whatever ran before it.
FRESH = {
    "floatx": "float32",
    "epsilon": 1e-7,
    "image_data_format": "channels_last",
    "dtype_policy": "float32",
    "environ": False,
    "path": False,
    "stdout": True,
}


@pytest.mark.parametrize("mode", [[], ["--hypermodel-isolate"]], ids=["process", "case"])
def test_what_a_build_changes_reaches_no_other_case(hypermodel_dir, monkeypatch, mode):
    """Each case starts from the state a fresh process has: Keras's config, the working directory, the environment,
    sys.path and the standard streams, as they were before a build changed them (with a process per case, the
    first case does not reuse the process that ran discovery)."""
    log = beside(hypermodel_dir, "state.log")
    monkeypatch.setenv("HYPERMODEL_STATE_LOG", str(log))
    # Isolated, only records_state's first case runs: discovery (of both, in one process) is what could leak there.
    selected = ["-k", "records_state", "--hypermodel-max-cases", "1"] if mode else []
    result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "leaks.py:leaks_state",
        "--hypermodel",
        "leaks.py:records_state",
        "-rA",
        *mode,
        *selected,
    )
    assert {name: c.properties["outcome"] for name, c in cases.items()} == {
        **({} if mode else {"leaks_state[defaults]": "ok", "leaks_state[size=2]": "ok", "records_state[size=2]": "ok"}),
        "records_state[defaults]": "ok",
    }
    assert result.ret == pytest.ExitCode.OK
    records = [json.loads(line) for line in log.read_text().splitlines()]
    # 2 discovery builds, then records_state's cases; with one case planned, the forecast's build of the other value
    assert len(records) == 2 + len(cases) - 2 * (not mode) + bool(mode)
    assert [{key: r[key] for key in FRESH} for r in records] == [FRESH] * len(records)
    assert {r["cwd"] for r in records} == {str(hypermodel_dir.path)}
    result.stdout.fnmatch_lines(["*Captured stdout call*", "records_state can print"])
    if mode:  # the case's own process, not discovery's
        assert records[-1]["pid"] not in {r["pid"] for r in records[:-1]}


def test_a_process_a_case_leaves_behind_neither_blinds_crash_detection_nor_outlives_the_run(
    hypermodel_dir, monkeypatch
):
    """Every fit forks a helper that holds the probe process's end of the pipe; size=2 then aborts. The abort is
    seen at once, as a crash (not when the helper ends, nor as a timeout), and no helper outlives the run."""
    log = beside(hypermodel_dir, "helpers.log")
    monkeypatch.setenv("HYPERMODEL_HELPERS_LOG", str(log))
    started = time.monotonic()
    try:
        result, cases = run_preflight(
            hypermodel_dir, "--hypermodel", "hazards.py:ForksThenAbortsInFit", "--hypermodel-timeout", "60", timeout=150
        )
        assert {name: c.properties["outcome"] for name, c in cases.items()} == {
            "ForksThenAbortsInFit[defaults]": "ok",
            "ForksThenAbortsInFit[size=2]": "crash",
        }
        result.stdout.fnmatch_lines(["*size=2 -> the process running the case died (killed by SIGABRT)*"])
        assert time.monotonic() - started < 60  # well before the helpers end (600 s), or the timeout (60 s)
        helpers = [int(line) for line in log.read_text().split()]
        assert len(helpers) == 3  # discovery's fit of the defaults, then each case's
        assert not [pid for pid in helpers if alive(pid)]
    finally:
        for pid in [int(line) for line in log.read_text().split()] if log.exists() else []:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


SLOW_IMPORT = """
import time

import keras

time.sleep({seconds})  # a module that loads its dataset, say


def build_model(hp):
    size = hp.Choice("size", [1, 2])
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(size), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model
"""


@pytest.mark.parametrize(("timeout", "seconds", "outcome"), [("4", 6, "ok"), ("0.01", 0, "timeout")])
def test_the_timeout_limits_each_build_not_the_import(hypermodel_dir, timeout, seconds, outcome):
    """Importing the module (6 s here, over the timeout) is not a build: it has a limit of its own, and
    --hypermodel-timeout limits each build and each case, which say so when they run past it (0.01 s: every one)."""
    hypermodel_dir.makepyfile(slow_import=SLOW_IMPORT.format(seconds=seconds))
    result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "slow_import.py:build_model",
        "--hypermodel-timeout",
        timeout,
        "-o",
        "hypermodel_epochs=1",
    )
    assert "while starting or importing it" not in result.stderr.str()
    assert cases and {c.properties["outcome"] for c in cases.values()} == {outcome}
    if outcome == "ok":
        assert len(cases) == 2
    else:  # whether the alarm stopped it or its process was killed, the timeout is named
        result.stdout.fnmatch_lines(["defaults: * -> *0.01 s*"])


PLANS_SLOWLY = """
import os
import time

with open("planner.pid", "w") as pid:  # the probe process's parent: the xdist worker that plans
    pid.write(str(os.getppid()))
time.sleep(600)


def build_model(hp):
    raise AssertionError("never built: its worker is killed while it imports")
"""


@pytest.mark.proof  # a spawned probe process and xdist workers, one killed: with the fault matrix's other modes
@pytest.mark.cold_start  # the probe process's parent must be the worker, as spawned: forked, it is the warm process
def test_a_killed_planning_worker_ends_the_run_with_one_line(hypermodel_dir):
    """The controller notices that the worker it waits for is dead (a zombie, as no one reaps it meanwhile)."""
    hypermodel_dir.makepyfile(plans_slowly=PLANS_SLOWLY)
    pidfile = hypermodel_dir.path / "planner.pid"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--hypermodel",
            "plans_slowly.py:build_model",
            "-n",
            "2",
        ],
        cwd=hypermodel_dir.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.2)  # written, not only created
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        out, _ = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == pytest.ExitCode.USAGE_ERROR, out
    assert [line for line in out.splitlines() if line.startswith("ERROR:")] == [
        "ERROR: the xdist worker that plans died before handing over the plans: run without -n to see why"
    ]
