"""The Python API from every way Python starts: a script read from stdin, ``python -c``, ``python -m`` and a script
without the ``__main__`` guard, IPython. The probe process is started by multiprocessing's spawn, which imports the
parent's main script again in it: a main read from stdin has no file to import, and one without the guard would run
its own preflight again there. Each is a real Python process here (the entry point is the subject), with one case.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pytest_hypermodel

PACKAGE_ROOT = str(Path(pytest_hypermodel.__file__).parents[1])

MODEL = """
import os
import keras

def build(hp):
    open(os.path.join(os.environ["TEST_LOGS"], "builds.log"), "a").write(f"{os.getpid()}\\n")  # where it runs
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 1, 4)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    return model
"""

#: One case (the defaults), no boundaries, no rehearsal: the entry point is the subject, not the preflight.
CHEAP = 'strategy="default", epochs=2, boundaries=False, rehearsal=False'

#: Where the builds of the last preflight ran: ``process`` (a probe process) or ``off`` (this one).
WHERE = """
import os, pathlib
def where():
    log = pathlib.Path(os.environ["TEST_LOGS"], "builds.log")
    pids = set(log.read_text().split())
    log.unlink()
    return "off" if pids == {str(os.getpid())} else "process" if str(os.getpid()) not in pids else "both"
"""

#: The top level of a script: it counts its runs in ran.log, and preflights model.py's build in a probe process.
TOP_LEVEL = f"""
import os, pathlib
from pytest_hypermodel import preflight
{WHERE}
pathlib.Path(os.environ["TEST_LOGS"], "ran.log").open("a").write("ran\\n")
report = preflight("model.py:build", {CHEAP})
print("preflight:", "green" if report.green else "red", len(report.cases), where())
"""


def logs(cwd: Path) -> Path:
    """Where the scripts' logs go: beside the project (``cwd``), not in it, which a preflight puts back."""
    folder = cwd.parent / f"{cwd.name}-logs"
    folder.mkdir(exist_ok=True)
    return folder


def _run(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": PACKAGE_ROOT, "TEST_LOGS": str(logs(cwd))},
    )


def _verdicts(stdout: str) -> list[str]:
    return [line[line.index("preflight:") :] for line in stdout.splitlines() if "preflight:" in line]


@pytest.mark.parametrize(
    "entry",
    # each a Python process and its probe process (a backend import each): one in the default suite, the others
    # with the proofs (-m proof), as is stdin (the test below)
    ["-c", pytest.param("-m without guard", marks=pytest.mark.proof), pytest.param("IPython", marks=pytest.mark.proof)],
)
def test_the_api_runs_a_probe_process_from_every_entry_point_and_the_script_runs_once(tmp_path, entry):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TOP_LEVEL)
    python = sys.executable
    if entry == "-c":
        done = _run([python, "-c", TOP_LEVEL], tmp_path)
    elif entry == "-m without guard":
        done = _run([python, "-m", "train"], tmp_path)
    else:
        pytest.importorskip("IPython")
        done = _run([python, "-m", "IPython", "--quick", "--no-banner", "--colors=NoColor"], tmp_path, TOP_LEVEL)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _verdicts(done.stdout) == ["preflight: green 1 process"], done.stdout[-2000:] + done.stderr[-3000:]
    assert (logs(tmp_path) / "ran.log").read_text() == "ran\n"  # the probe process did not run the script's top level


@pytest.mark.proof  # two processes of its own, each importing the backend: python -c stays in the default suite
def test_a_build_function_imported_or_defined_in_a_main_read_from_stdin_runs(tmp_path):
    """``python - <<EOF`` that imports a build function (it runs in the probe process, and spawn finds no script
    to import there: "<stdin>") and defines another (it cannot be imported there: it runs in this process)."""
    (tmp_path / "model.py").write_text(MODEL)
    script = WHERE + textwrap.dedent(f"""
        from model import build
        from pytest_hypermodel import preflight

        def build_here(hp):
            return build(hp)

        for fn in (build, build_here):
            report = preflight(fn, {CHEAP})
            print("preflight:", fn.__name__, report.green, where())
    """)
    done = _run([sys.executable, "-"], tmp_path, stdin=script)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _verdicts(done.stdout) == ["preflight: build True process", "preflight: build_here True off"]


def test_a_main_script_that_fails_when_spawn_imports_it_again_is_one_line_naming_it_and_the_way_out(tmp_path):
    """A guarded script is imported again by spawn in the probe process (as ``__mp_main__``): when that import
    raises, the child dies before it says anything; the message names the script, not the model's module, and
    the API's own way out."""
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(
        textwrap.dedent(f"""
        from pytest_hypermodel import PreflightError, preflight

        if __name__ == "__mp_main__":
            raise RuntimeError("not importable twice")

        if __name__ == "__main__":
            try:
                preflight("model.py:build", {CHEAP})
            except PreflightError as exc:
                print("preflight:", exc)
        """)
    )
    done = _run([sys.executable, "train.py"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _verdicts(done.stdout) == [
        "preflight: model.py:build: the probe process died (exit code 1) as it started, before any "
        f"build: multiprocessing's spawn imports the main script {tmp_path}/train.py again in it, and that failed "
        "(its traceback is on stderr); move the script's top-level code under if __name__ == '__main__':, or run "
        'the hypermodel in this process, where its traceback shows (isolation="off")'
    ]
    assert "RuntimeError: not importable twice" in done.stderr
