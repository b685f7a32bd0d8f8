"""The Python API tells its progress (discovery, the plan, the boundaries, the repair) on stderr when verbose."""

from __future__ import annotations

import re

SECONDS = r"\(\d+\.\d s\)"


def test_the_python_api_tells_its_progress_on_stderr_when_verbose(tmp_path, capsys):
    from test_engine import _notebook_build

    from pytest_hypermodel import preflight

    def build(hp):  # not importable: runs in this process
        return _notebook_build(hp)

    preflight(build, epochs=1, strategy="extremes", rootpath=tmp_path, verbose=True, rehearsal=True)
    err = capsys.readouterr().err.splitlines()
    progress = [line for line in err if line.startswith("hypermodel: ")]
    assert re.fullmatch(r"hypermodel: discovering .*build", progress[0]), progress
    assert re.fullmatch(rf"hypermodel: .*: 1 hyperparameter, 2 cases planned {SECONDS}", progress[1])
    assert progress[2].startswith("hypermodel: rehearsing ") and "through KerasTuner's search()" in progress[2]
    assert re.fullmatch(rf"hypermodel: .*: rehearsed \d+ trials {SECONDS}: .*", progress[3]), progress
    assert progress[4].startswith("hypermodel: searching the boundaries of ")
    assert any(
        re.fullmatch(rf"hypermodel: .*: the repair is green: \d+ cases pass {SECONDS}", line) for line in progress
    ), progress
