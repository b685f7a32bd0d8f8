"""How much faster is the preflight with pytest-xdist, and what limits it?

    python benchmarks/xdist_scaling.py                  # -n 0 and -n 2; thread pools as the plugin sets them,
                                                        # and at the backends' defaults
    python benchmarks/xdist_scaling.py --workers 0 2 4  # other worker counts
    python benchmarks/xdist_scaling.py --repeat 2       # every configuration twice (the best is kept)
    python benchmarks/xdist_scaling.py --spec benchmarks/hypermodels.py:wide6 --samples 1024
                                                        # compute-bound cases, where thread pools matter

Every run is the real plugin on the same plan (``benchmarks/hypermodels.py:dense6``,
``--hypermodel-strategy grid``: 64 cases):

    python -m pytest --hypermodel benchmarks/hypermodels.py:dense6 --hypermodel-strategy grid \\
        -p no:cacheprovider -q -n N --junitxml=... -p hypermodel_xdist_timer

once with the thread pools the plugin gives each xdist worker (its share of
the cores: 1 thread each for 2 workers on 2 cores; a serial run keeps the
backends' defaults), and once at the backends' defaults, which the plugin
leaves alone when they are set: ``TF_NUM_INTRAOP_THREADS=0
TF_NUM_INTEROP_THREADS=0`` (TensorFlow picks) and ``OMP_NUM_THREADS=<cores>``. A tiny plugin (written to a
temporary folder, loaded with ``-p``) records in each process the time of its
first and last case and its OS thread count; the JUnit report gives each
case's duration and its ``seconds`` property (the probe's build + fit).

Columns:
    wall       seconds of the whole pytest run (what a user waits for)
    speedup    the -n 0 run's wall (same thread setting) / this run's wall
    1st case   seconds from launch to the first case starting on any worker: Python, pytest,
               TensorFlow's import and discovery, in the controller and then again in each worker
    span s     mean over workers of (last case end - first case start): time spent running cases
    after      wall - 1st case - span: the end of the session (forecast, reports, workers' and
               TensorFlow's shutdown), plus any imbalance between workers
    cases s    sum of the cases' durations (JUnit ``time``) over all workers
    probe s    sum of the ``seconds`` property (build + fit only; clear_session and gc are outside it)
    per case   span s * workers / cases: the cost of one case as a worker sees it
    CPU s      CPU-seconds the run used, all its processes together (controller and workers)
    threads    OS threads per worker process at its last case (TensorFlow's pools, tf.data, oneDNN)
    others     CPU-seconds other processes on this machine used during the run (/proc/stat busy time
               minus this run's own CPU time): anything but ~0 means the timings are contaminated

Before the runs it checks the machine: the CPU-scaling ceiling (a pure-Python
loop in 1 process, then in 2 at once: on 2 real, idle cores the ceiling is
2.0), and it waits (up to --max-wait seconds) for the machine to be idle
before each run, since these machines are shared; a run during which other
processes still took more than 5% of its CPU time is run again (twice at
most; the least contaminated is kept).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = "benchmarks/hypermodels.py:dense6"
#: Extra plugin options for every run (--samples adds --hypermodel-samples).
OPTIONS: list[str] = []
#: The backends' own thread-pool sizes: set explicitly, the plugin keeps them.
DEFAULT_POOLS = {
    "OMP_NUM_THREADS": str(os.cpu_count() or 1),
    "TF_NUM_INTRAOP_THREADS": "0",
    "TF_NUM_INTEROP_THREADS": "0",
}
THREAD_VARS = (*DEFAULT_POOLS, "XLA_FLAGS")
#: A run during which other processes used more CPU than this fraction of its own is run again (twice at most).
CONTAMINATED = 0.05

TIMER = '''\
"""Per process: when its first case started, when its last ended, how many cases, OS threads."""
import json
import os
import time

import pytest

_state = {"first": None, "last": None, "cases": 0}


def _threads():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if _state["first"] is None:
        _state["first"] = time.time()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    _state["last"] = time.time()
    _state["cases"] += 1
    _state["threads"] = _threads()
    _state["worker"] = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = os.path.join(os.environ["HYPERMODEL_TIMER_DIR"], "timer-%d.json" % os.getpid())
    with open(path, "w") as out:
        json.dump(_state, out)
'''


SPIN = "import time\nt = time.perf_counter()\nx = 0\nfor i in range(20_000_000): x += i\nprint(time.perf_counter() - t)"


def busy_seconds() -> float:
    """CPU-seconds the whole machine has been busy (everything but idle and iowait), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def background_load(seconds: float = 2.0) -> float:
    """Cores' worth of CPU other processes use now (this script sleeps meanwhile)."""
    before = busy_seconds()
    time.sleep(seconds)
    return (busy_seconds() - before) / seconds


def wait_quiet(max_wait: float, threshold: float = 0.15) -> float:
    """Wait until other processes use under ``threshold`` cores; the load found (waits at most max_wait s)."""
    deadline = time.monotonic() + max_wait
    load = background_load()
    while load > threshold and time.monotonic() < deadline:
        print(f"  machine busy ({load:.2f} cores used by other processes): waiting", flush=True)
        time.sleep(10)
        load = background_load()
    return load


def scaling_ceiling() -> tuple[float, float, float]:
    """(seconds of a CPU loop alone, seconds of each of two at once, the 2-process speedup ceiling)."""

    def timed(n: int) -> list[float]:
        procs = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True) for _ in range(n)]
        return [float(p.communicate()[0]) for p in procs]

    alone = timed(1)[0]
    pair = max(timed(2))
    return alone, pair, 2 * alone / pair


def rank(row: dict) -> tuple[bool, float]:
    """Clean runs first, then the fastest."""
    return row["others"] > CONTAMINATED * row["cpu"], row["wall"]


def pytest_command(workers: int, junit: Path, extra: list[str] = ()) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "--hypermodel",
        SPEC,
        "--hypermodel-strategy",
        "grid",
        *OPTIONS,
        "-p",
        "no:cacheprovider",
        "-q",
        "-n",
        str(workers),
        f"--junitxml={junit}",
        "-p",
        "hypermodel_xdist_timer",
        *extra,
    ]


def environment(tmp: Path, default_pools: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tmp), env.get("PYTHONPATH", "")) if p)
    env["HYPERMODEL_TIMER_DIR"] = str(tmp)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if default_pools:
        env.update(DEFAULT_POOLS)
    return env


def run_once(workers: int, default_pools: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="hypermodel-xdist-") as name:
        tmp = Path(name)
        (tmp / "hypermodel_xdist_timer.py").write_text(TIMER)
        junit = tmp / "report.xml"
        busy, own = busy_seconds(), children_seconds()
        launched = time.time()
        done = subprocess.run(
            pytest_command(workers, junit),
            cwd=ROOT,
            env=environment(tmp, default_pools),
            capture_output=True,
            text=True,
        )
        wall = time.time() - launched
        own = children_seconds() - own
        others = max(0.0, busy_seconds() - busy - own)
        if not junit.exists():
            raise SystemExit(
                f"pytest -n {workers} wrote no report (exit {done.returncode}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        cases = test_seconds = probe_seconds = 0.0
        outcomes: dict[str, int] = {}
        for case in ET.parse(junit).getroot().iter("testcase"):
            cases += 1
            test_seconds += float(case.get("time", 0))
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            probe_seconds += float(props.get("seconds", 0) or 0)
            outcome = props.get("outcome", "?")
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        timers = [json.loads(p.read_text()) for p in tmp.glob("timer-*.json")]
    if not timers:
        raise SystemExit(f"no timings recorded (exit {done.returncode}):\n{done.stdout[-3000:]}")
    first = min(t["first"] for t in timers) - launched
    spans = [t["last"] - t["first"] for t in timers]
    return {
        "workers": workers,
        "default_pools": default_pools,
        "exit": done.returncode,
        "cases": int(cases),
        "cpu": own,
        "others": others,
        "outcomes": outcomes,
        "wall": wall,
        "first": first,
        "test_s": test_seconds,
        "probe_s": probe_seconds,
        "span": sum(spans) / len(spans),
        "processes": len(timers),
        "per_case": sum(spans) / cases if cases else 0.0,
        "threads": "/".join(str(t.get("threads", "?")) for t in sorted(timers, key=lambda t: t.get("worker", ""))),
    }


def startup_seconds() -> tuple[float, float]:
    """(import keras + tensorflow, pytest start-up + import + discovery + plan without fitting), in seconds."""
    with tempfile.TemporaryDirectory(prefix="hypermodel-xdist-") as name:
        env = environment(Path(name), default_pools=False)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import keras, tensorflow"], cwd=ROOT, env=env, capture_output=True, check=True
        )
        imported = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--hypermodel",
                SPEC,
                "--hypermodel-strategy",
                "grid",
                *OPTIONS,
                "-p",
                "no:cacheprovider",
                "-q",
                "--hypermodel-plan",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=True,
        )
        planned = time.perf_counter() - started
    return imported, planned


def pools(default_pools: bool) -> str:
    return "default" if default_pools else "plugin"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="xdist worker counts (default: 0 2)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration; the fastest is shown")
    parser.add_argument("--only", choices=("plugin", "default"), help="only this thread-pool setting")
    parser.add_argument("--spec", help=f"the hypermodel (default {SPEC}: 64 grid cases)")
    parser.add_argument("--samples", type=int, help="--hypermodel-samples for every run (default: the plugin's 32)")
    parser.add_argument(
        "--max-wait", type=float, default=120, help="seconds to wait for an idle machine before each run (default 120)"
    )
    args = parser.parse_args()
    if args.spec:
        globals()["SPEC"] = args.spec
    if args.samples:
        OPTIONS.extend(["--hypermodel-samples", str(args.samples)])
    settings = [False, True] if args.only is None else [args.only == "default"]
    if 0 not in args.workers:
        args.workers = [0, *args.workers]

    print(f"cores: {os.cpu_count()}; plan: --hypermodel {SPEC} --hypermodel-strategy grid {' '.join(OPTIONS)}")
    print(
        "$ cd "
        + str(ROOT)
        + " && python "
        + " ".join(pytest_command(9, Path("report.xml"))[1:]).replace("-n 9", "-n N")
        + "   (pools: the plugin's, or default: "
        + " ".join(f"{k}={v}" for k, v in DEFAULT_POOLS.items())
        + ")"
    )
    load = wait_quiet(args.max_wait)
    alone, pair, ceiling = scaling_ceiling()
    print(
        f"CPU check: other processes use {load:.2f} cores; a CPU loop takes {alone:.2f} s alone, {pair:.2f} s "
        f"with two at once: 2-process speedup ceiling {ceiling:.2f} (2.00 on two idle cores)"
    )
    imported, planned = startup_seconds()
    print(
        f"start-up: import keras+tensorflow {imported:.1f} s; "
        f"pytest --hypermodel-plan (start-up, import, discovery, plan; no fit) {planned:.1f} s"
    )

    started = time.perf_counter()
    results: dict[tuple[int, bool], dict] = {}
    for _ in range(args.repeat):
        for default in settings:  # interleaved, so drift on a shared machine hits every row alike
            for workers in args.workers:
                for _attempt in range(3):
                    wait_quiet(args.max_wait)
                    row = run_once(workers, default)
                    print(
                        f"  ran -n {workers} pools={pools(default)}: {row['wall']:.1f} s, "
                        f"CPU {row['cpu']:.1f} s, others' CPU {row['others']:.1f} s",
                        flush=True,
                    )
                    key = (workers, default)
                    if key not in results or rank(row) < rank(results[key]):
                        results[key] = row
                    if not rank(row)[0]:
                        break
                    print("  other processes competed for the CPU during that run: running it again", flush=True)

    header = (
        f"{'-n':>3} {'pools':>7} {'cases':>5} {'wall s':>7} {'speedup':>7} {'1st case':>8} "
        f"{'span s':>7} {'after':>5} {'cases s':>7} {'probe s':>7} {'per case':>8} {'CPU s':>6} "
        f"{'threads':>9} {'others':>6}  outcomes"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for default in settings:
        base = results[(0, default)]["wall"]
        for workers in args.workers:
            r = results[(workers, default)]
            outcomes = ",".join(f"{k}={v}" for k, v in sorted(r["outcomes"].items()))
            print(
                f"{workers:>3} {pools(default):>7} {r['cases']:>5} {r['wall']:>7.1f} "
                f"{base / r['wall']:>7.2f} {r['first']:>8.1f} {r['span']:>7.1f} "
                f"{r['wall'] - r['first'] - r['span']:>5.1f} {r['test_s']:>7.1f} {r['probe_s']:>7.1f} "
                f"{r['per_case']:>8.2f} {r['cpu']:>6.1f} {r['threads']:>9} {r['others']:>6.1f}  {outcomes}"
            )
    if len(settings) == 2:
        for workers in args.workers:
            plugin, default = results[(workers, False)]["wall"], results[(workers, True)]["wall"]
            print(f"-n {workers}: the plugin's pools vs the defaults: {default / plugin:.2f}x")
    print(f"\n(benchmark itself: {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
