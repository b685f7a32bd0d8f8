"""Does a worker's resident memory stay flat over 200 cases?

    python benchmarks/memory_flat.py                       # fit.run in this process, 200 cases
    python benchmarks/memory_flat.py --pytest              # the real plugin (200 cases) in the pytest process
    python benchmarks/memory_flat.py --pytest -n 1         # the same in one pytest-xdist worker
    python benchmarks/memory_flat.py --without-release     # either, with the plugin's remedy switched off

Default mode: in one process, resolve ``benchmarks/hypermodels.py:grid200``
as the plugin does, discover its space, plan its grid (200 cases) and probe
them one after the other with ``fit.run`` (clear the session, build, the
plugin's short fit: 3 epochs of 32 samples), keeping every ``Result`` alive
as the plugin does (it stashes each on its item). After each case it reads
VmRSS from /proc/self/status; at the checkpoints it also counts the Keras
models, TensorFlow FuncGraphs and ``CustomGradient-*`` entries of
TensorFlow's global gradient registry still alive.

``--pytest`` mode: runs ``python -m pytest --hypermodel ...:grid200
--hypermodel-strategy grid --hypermodel-max-cases 256 -p no:cacheprovider``
with a tiny plugin (written to a temporary folder, loaded with ``-p``: no
conftest.py) that appends the process's VmRSS to a file after each case's
teardown.

``--without-release`` switches off what ``fit.run`` does about memory, to show
what it is for: ``_released_gradient_entries`` removes, after each case, the
``CustomGradient-<n>`` entries the case added to TensorFlow's
``ops._gradient_registry``. TensorFlow registers one per traced train step
(Keras's optimizer sums gradients through ``ReplicaContext.all_reduce``, a
``tf.custom_gradient``) and never removes it; its closure holds the step's
tensors, so the whole FuncGraph (and the optimizer's variable-initialization
``cond`` functions in the eager context) stays alive (TensorFlow's tracker:
https://github.com/tensorflow/tensorflow/issues/97697,
https://github.com/tensorflow/tensorflow/issues/27492). It also skips
``_freeze_start_up`` (``gc.freeze()`` once before the first case, so the full
collection each case's ``clear_session()`` makes no longer rescans the ~400,000
objects of TensorFlow's and Keras's modules): that changes the seconds per case,
not the RSS.

Both modes print the RSS at cases 1, 10, 50, 100, 200, the growth from case
10 to case 200 in MiB and per case in KiB, and a verdict. Cases 1 to 10 are
warm-up (kernels, first traces, allocator arenas) and not counted. Exit
status 0 when flat, 1 when it grows.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = f"{HERE / 'hypermodels.py'}:grid200"
CHECKPOINTS = (1, 10, 50, 100, 200)
#: Growth per case (KiB) under which memory counts as flat: 190 cases at this
#: rate add under 10 MiB, the noise of malloc arenas and TensorFlow's caches.
FLAT_KIB_PER_CASE = 50.0


def rss_kib() -> int:
    """This process's resident set size in KiB (VmRSS)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def custom_gradients() -> dict:
    """TensorFlow's global gradient registry (name -> entry); {} without TensorFlow."""
    from pytest_hypermodel.probe import fit

    return fit.gradient_registry() or {}


def without_release() -> None:
    """Switch off fit.run's memory remedies (the registry purge and the one gc.freeze())."""
    import contextlib

    from pytest_hypermodel.probe import fit

    fit._released_gradient_entries = contextlib.nullcontext
    fit._frozen = True


def remedy(released: bool) -> str:
    return "the plugin as shipped" if released else "--without-release"


def census() -> str:
    """What is still alive: Keras models, FuncGraphs, registry entries (a full gc scan: checkpoints only)."""
    import keras

    graph_type: type = type(None)
    if keras.backend.backend() == "tensorflow":
        from tensorflow.python.framework import func_graph

        graph_type = func_graph.FuncGraph
    gc.collect()
    models = graphs = 0
    for obj in gc.get_objects():
        if isinstance(obj, keras.Model):
            models += 1
        elif isinstance(obj, graph_type):
            graphs += 1
    from pytest_hypermodel.probe.fit import CUSTOM_GRADIENT_PREFIX

    entries = sum(1 for name in custom_gradients() if name.startswith(CUSTOM_GRADIENT_PREFIX))
    return f"models {models:>3}  FuncGraphs {graphs:>4}  {CUSTOM_GRADIENT_PREFIX}* {entries:>3}"


def summarize(samples: list[int], title: str, notes: dict[int, str] | None = None) -> bool:
    """Print the table and the verdict; ``samples[i]`` is the RSS (KiB) after case i+1. True when flat."""
    notes = notes or {}
    n = len(samples)
    print(f"\n{title}")
    print(f"{'case':>6}  {'RSS MiB':>8}  {'vs case 10':>10}" + ("  still alive" if notes else ""))
    marks = [c for c in CHECKPOINTS if c <= n] + ([n] if n not in CHECKPOINTS else [])
    base = samples[min(10, n) - 1]
    for case in marks:
        rss = samples[case - 1]
        print(
            f"{case:>6}  {rss / 1024:>8.1f}  {(rss - base) / 1024:>+10.1f}"
            + (f"  {notes[case]}" if case in notes else "")
        )
    if n < 20:
        print("verdict: too few cases")
        return False
    end = min(200, n)
    growth = samples[end - 1] - base
    per_case = growth / (end - 10)
    print(
        f"growth case 10 -> {end}: {growth / 1024:+.1f} MiB, {per_case:+.1f} KiB/case; "
        f"peak {max(samples) / 1024:.1f} MiB"
    )
    flat = per_case < FLAT_KIB_PER_CASE
    print(
        f"verdict: {'FLAT' if flat else 'GROWS'} (flat means under {FLAT_KIB_PER_CASE:g} KiB/case, "
        f"{FLAT_KIB_PER_CASE * (end - 10) / 1024:.1f} MiB over cases 10..{end})"
    )
    return flat


def in_process(n_cases: int, epochs: int, released: bool, census_at: bool) -> bool:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()
    from pytest_hypermodel.probe import fit
    from pytest_hypermodel.probe.discovery import discover
    from pytest_hypermodel.rules.policy import Policy
    from pytest_hypermodel.space import plan
    from pytest_hypermodel.space import target as target_mod

    if not released:
        without_release()
    target = target_mod.resolve(SPEC, ROOT)
    space = discover(target.hypermodel)
    planned = list(plan.cases(space, (plan.GRID,), max_cases=256))
    policy, settings = Policy(), fit.FitSettings(epochs=epochs)
    print(
        f"{SPEC}: {len(space)} hyperparameters, {len(planned)} planned cases, probing {n_cases}"
        f"{' (cycled)' if n_cases > len(planned) else ''}; epochs={epochs}, samples={settings.samples}; "
        f"{remedy(released)}; start-up {time.perf_counter() - started:.1f} s, RSS {rss_kib() / 1024:.1f} MiB"
    )
    results, rss, notes = [], [], {}
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for i in range(n_cases):
        result = fit.run(target.hypermodel, space, planned[i % len(planned)], policy, settings)
        results.append(result)  # the plugin's controller keeps every case's result for the session
        gc.collect()  # the next case's clear_session() would do it; here so this sample sees it
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        rss.append(rss_kib())
        if census_at and (i + 1 in CHECKPOINTS or i + 1 == n_cases):
            checked = time.perf_counter()
            notes[i + 1] = census()
            started += time.perf_counter() - checked  # the census is not the cases' time
    seconds = time.perf_counter() - started
    print(f"{n_cases} cases in {seconds:.1f} s ({seconds / n_cases:.2f} s/case); outcomes {outcomes}")
    return summarize(rss, f"fit.run in one process, {remedy(released)}", notes)


RECORDER = '''\
"""Appends this process's VmRSS (KiB) after each test's teardown: pid, index, rss_kib, nodeid."""
import contextlib
import os

import pytest

_count = 0


def pytest_configure(config):
    if os.environ.get("HYPERMODEL_RSS_RELEASE") == "0":
        from pytest_hypermodel.probe import fit

        fit._released_gradient_entries = contextlib.nullcontext
        fit._frozen = True


def _rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    global _count
    _count += 1
    path = os.path.join(os.environ["HYPERMODEL_RSS_DIR"], "rss-%d.tsv" % os.getpid())
    with open(path, "a") as out:
        out.write("%d\\t%d\\t%d\\t%s\\n" % (os.getpid(), _count, _rss_kib(), item.nodeid))
'''


def with_pytest(workers: int, epochs: int | None, released: bool) -> bool:
    with tempfile.TemporaryDirectory(prefix="hypermodel-rss-") as tmp:
        Path(tmp, "hypermodel_rss_recorder.py").write_text(RECORDER)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (tmp, env.get("PYTHONPATH", "")) if p)
        env["HYPERMODEL_RSS_DIR"] = tmp
        env["HYPERMODEL_RSS_RELEASE"] = "1" if released else "0"
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--hypermodel",
            SPEC,
            "--hypermodel-strategy",
            "grid",
            "--hypermodel-max-cases",
            "256",
            "-p",
            "no:cacheprovider",
            "-p",
            "hypermodel_rss_recorder",
            "-q",
            "-n",
            str(workers),
        ]
        if epochs:
            command += ["--hypermodel-epochs", str(epochs)]
        shown = [
            "python" if c == sys.executable else os.path.relpath(c, ROOT) if c.startswith(str(ROOT)) else c
            for c in command
        ]
        print(f"$ cd {ROOT} && " + " ".join(shown) + f"   ({remedy(released)})")
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        tail = [line for line in done.stdout.splitlines() if line.strip()][-1:]
        print(f"exit {done.returncode} in {seconds:.1f} s: {tail[0] if tail else done.stderr[-500:]}")
        per_pid: dict[str, list[int]] = {}
        for path in sorted(Path(tmp).glob("rss-*.tsv")):
            for line in path.read_text().splitlines():
                pid, _, rss, _ = line.split("\t", 3)
                per_pid.setdefault(pid, []).append(int(rss))
    if not per_pid:
        print("no RSS recorded: did pytest run?\n" + done.stdout[-2000:] + done.stderr[-2000:])
        return False
    flat = True
    for pid, samples in per_pid.items():
        where = "the pytest process (-n 0)" if workers == 0 else f"xdist worker pid {pid}"
        flat &= summarize(samples, f"plugin run, {where}: {len(samples)} cases, {remedy(released)}")
    return flat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pytest", action="store_true", help="run the real plugin instead of fit.run")
    parser.add_argument("-n", "--workers", type=int, default=0, help="--pytest: xdist workers (default 0)")
    parser.add_argument(
        "--cases", type=int, default=200, help="cases to probe in-process, cycling the plan (default 200)"
    )
    parser.add_argument("--epochs", type=int, default=None, help="epochs per case (default: the plugin's 3)")
    parser.add_argument(
        "--without-release",
        action="store_true",
        help="keep the CustomGradient-* gradient-registry entries each case adds, and skip gc.freeze()",
    )
    parser.add_argument("--no-census", action="store_true", help="in-process: skip counting live objects")
    args = parser.parse_args()
    if args.pytest:
        flat = with_pytest(args.workers, args.epochs, not args.without_release)
    else:
        flat = in_process(args.cases, args.epochs or 3, not args.without_release, not args.no_census)
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
