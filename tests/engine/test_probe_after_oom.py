"""A case that ran the probe process out of memory leaves it: the next case, the next hypermodel's default among
them, runs in a fresh process, not beside what the first could not free."""

from __future__ import annotations

from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine

MODELS = """
import os

import keras


def _noted(name, hp):
    units = hp.Int("units", 2, 4, step=2)
    with open(os.environ["PIDS_FILE"], "a") as pids:  # outside the project, which the preflight puts back
        pids.write(f"{name} {units} {os.getpid()}\\n")
    return units


def exhausts(hp):
    if _noted("exhausts", hp) == 4:
        raise MemoryError("the build allocated more than the machine has")
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])
    model.compile(loss="mse")
    return model


def healthy(hp):
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(_noted("healthy", hp))])
    model.compile(loss="mse")
    return model
"""


def test_the_case_after_one_out_of_memory_runs_in_a_fresh_process(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    (project / "models.py").write_text(MODELS)
    monkeypatch.setenv("PIDS_FILE", str(tmp_path / "pids.txt"))
    options = {"hypermodel_strategy": "extremes", "hypermodel_boundaries": "off", "hypermodel_epochs": "2"}
    with Engine(settings.read(settings.MappingSource(options)), project) as engine:
        payload = engine.run(["models.py:exhausts", "models.py:healthy"])
    outcomes = {c["nodeid"].split("::")[1]: c["outcome"] for c in payload["cases"]}
    assert outcomes["exhausts[units=4]"] == "oom" and outcomes["healthy[defaults]"] == "ok", outcomes
    lines = [line.split() for line in (tmp_path / "pids.txt").read_text().splitlines()]
    # discovery builds every hypermodel first (units=4 among them), then the cases run: the last is the case's
    last = max(i for i, (name, units, _) in enumerate(lines) if (name, units) == ("exhausts", "4"))
    after = [pid for _, _, pid in lines[last + 1 :]]
    assert after and lines[last][2] not in after, lines
