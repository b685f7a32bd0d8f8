"""An existing KerasTuner project (issue 20 item 4): KerasTuner reloads ``DIR/NAME/oracle.json`` and searches
its OLD space; the preflight (``--hypermodel-project``, the API's ``project=``, a tuner's own project) and the
gated search refuse a project whose oracle holds another space, with one line. Real KerasTuner for the proof;
the rest on tiny Dense models, the pytest process's own (isolation off) where the face allows it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras import layers

from conftest import run_preflight
from pytest_hypermodel import PreflightError, preflight
from pytest_hypermodel.rules import project
from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine, SetupError

#: The ``units`` each build of the tests' hypermodels read.
SEEN: list[int] = []


def _model(units: int) -> keras.Model:
    SEEN.append(units)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(units), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def old_space(hp):
    return _model(hp.Int("units", 1, 2))


def new_space(hp):
    """``units`` moved to 10..20, and a hyperparameter added."""
    hp.Choice("act", ["relu", "tanh"])
    return _model(hp.Int("units", 10, 20))


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")


def _quiet(**options):
    return {"isolation": "off", "boundaries": False, "epochs": 1, "samples": 8, **options}


@pytest.mark.proof
def test_kerastuner_searches_the_old_space_of_an_existing_project_and_the_preflight_says_so(tmp_path):
    x, y = _data()
    first = kt.RandomSearch(old_space, objective="loss", max_trials=1, directory=tmp_path, project_name="proj", seed=1)
    first.search(x, y, epochs=1, verbose=0)
    proj = tmp_path / "proj"
    saved = (proj / "oracle.json").read_bytes()

    # The preflight of the new space: one line, what changed and the fix; the project is only read.
    with pytest.raises(PreflightError) as raised:
        preflight(new_space, x, y, project=str(proj), **_quiet())
    assert str(raised.value) == (
        f"project={proj}: KerasTuner will reload the old space from {proj}/oracle.json (units: min_value 1 there, "
        "10 now, max_value 2 there, 20 now; act added): pass overwrite=True to the tuner, or a new project_name")
    # The same space: a search resumed, which is legitimate.
    assert preflight(old_space, x, y, project=str(proj), **_quiet()).green
    # No project there: nothing to check, and nothing created.
    assert preflight(new_space, x, y, project=str(tmp_path / "nowhere" / "proj"), **_quiet()).green
    assert not (tmp_path / "nowhere").exists()
    assert (proj / "oracle.json").read_bytes() == saved
    assert sorted(p.name for p in proj.iterdir()) == ["oracle.json", "trial_0", "tuner0.json"]

    # What KerasTuner does (overwrite=False, its default): it reloads the old oracle, and its old range, whatever
    # the build now declares.
    second = kt.RandomSearch(new_space, objective="loss", max_trials=2, directory=tmp_path, project_name="proj", seed=1)
    units = second.oracle.hyperparameters.get_config()["space"][0]["config"]
    assert (units["name"], units["min_value"], units["max_value"]) == ("units", 1, 2)
    SEEN.clear()
    second.search(x, y, epochs=1, verbose=0)
    assert len(second.oracle.trials) == 2  # the old trial counts toward max_trials: one new trial ran
    assert SEEN and set(SEEN) <= {1, 2}  # the build declared 10..20 and was given values of the old 1..2
    # With max_trials used up, the search ends at once.
    third = kt.RandomSearch(new_space, objective="loss", max_trials=2, directory=tmp_path, project_name="proj")
    SEEN.clear()
    third.search(x, y, epochs=1, verbose=0)
    assert not SEEN and len(third.oracle.trials) == 2

    # A tuner given to the preflight: its own project is checked. KerasTuner registered `act` in the old oracle
    # during its trial; the old range of `units` stays.
    with pytest.raises(PreflightError) as raised:
        preflight(third, x, y, **_quiet())
    assert str(raised.value) == (
        f"project={proj}: KerasTuner will reload the old space from {proj}/oracle.json (units: min_value 1 there, "
        "10 now, max_value 2 there, 20 now): pass overwrite=True to the tuner, or a new project_name")


def _oracle(project_dir: Path, hp: kt.HyperParameters) -> Path:
    """An ``oracle.json`` as KerasTuner saves it, its space from KerasTuner's own config, beside the tuner file that
    makes a tuner reload the project."""
    project_dir.mkdir(parents=True)
    (project_dir / "tuner0.json").write_text("{}")
    path = project_dir / "oracle.json"
    path.write_text(json.dumps({"ongoing_trials": {}, "hyperparameters": hp.get_config(), "start_order": ["0"],
                                "end_order": ["0"], "run_times": {"0": 1}, "retry_queue": [], "seed": 1}))
    return path


def _space(**declare) -> dict:
    """``units=("Int", (1, 4, {"step": 2}))``: a HyperParameters config, declared through KerasTuner."""
    hp = kt.HyperParameters()
    for name, (kind, args) in declare.items():
        kwargs = args[-1] if args and isinstance(args[-1], dict) else {}
        getattr(hp, kind)(name, *args[:len(args) - bool(kwargs)], **kwargs)
    return hp.get_config()


@pytest.mark.parametrize(("old", "new", "unreached", "found"), [
    ({"u": ("Int", (1, 4))}, {"u": ("Int", (1, 4))}, (), []),
    ({"u": ("Int", (1, 4))}, {"u": ("Int", (1, 8, {"step": 2}))}, (),
     ["u: max_value 4 there, 8 now, step 1 there, 2 now"]),
    ({"lr": ("Float", (1e-3, 1e-1))}, {"lr": ("Float", (1e-3, 1e-1, {"sampling": "log"}))}, (),
     ["lr: sampling 'linear' there, 'log' now"]),
    ({"a": ("Choice", (["x", "y"],))}, {"a": ("Choice", (["x", "y"], {"default": "y"}))}, (),
     ["a: default 'x' there, 'y' now"]),
    ({"a": ("Choice", ([1, 2],)), "b": ("Boolean", ())}, {"a": ("Int", (1, 2))}, (),
     ["a: Choice there, Int now", "b removed"]),
    ({"u": ("Int", (1, 4))}, {"u": ("Int", (1, 4)), "units_1": ("Int", (1, 4))}, (), ["units_1 added"]),
    # A dynamic hyperparameter that no trial has reached yet is not in the oracle: KerasTuner adds it then.
    ({"u": ("Int", (1, 4))}, {"u": ("Int", (1, 4)), "units_1": ("Int", (1, 4))}, ("units_1",), []),
])
def test_differences(old, new, unreached, found):
    assert project.differences(_space(**old), _space(**new), unreached) == found


def test_an_oracle_kerastuner_cannot_reload_or_many_changes_are_one_line(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "tuner0.json").write_text("{}")
    (tmp_path / "bad" / "oracle.json").write_text("{")
    with pytest.raises(project.ProjectError, match=r"^P: .*bad/oracle.json is not an oracle KerasTuner can reload "
                                                    r"\(JSONDecodeError: .*\): FIX$"):
        project.check(tmp_path / "bad", "P", _space(), (), "FIX")
    _oracle(tmp_path / "many", kt.HyperParameters())
    current = _space(**{f"h{i}": ("Boolean", ()) for i in range(7)})
    with pytest.raises(project.ProjectError) as raised:
        project.check(tmp_path / "many", "P", current, (), "FIX")
    assert "(h0 added; h1 added; h2 added; h3 added; h4 added; and 2 more): FIX" in str(raised.value)
    project.check(tmp_path / "missing", "P", current, (), "FIX")  # no oracle: nothing to check
    (tmp_path / "many" / "tuner0.json").unlink()  # no tuner file: KerasTuner starts afresh, whatever the oracle
    project.check(tmp_path / "many", "P", current, (), "FIX")


def test_the_setting_and_one_project_per_run(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(settings.SettingError, match="project .*file: that is a file; give the tuner's "
                                                    r"directory/project_name \(DIR/NAME\)"):
        settings.read(settings.MappingSource({"hypermodel_project": str(tmp_path / "file")}))
    read = settings.read(settings.MappingSource({"hypermodel_project": "hypermodel_search/guide/"}))
    assert read.project == "hypermodel_search/guide" and settings.read(settings.MappingSource()).project is None
    with Engine(settings.read(settings.MappingSource({"hypermodel_project": "p/n", "hypermodel_isolation": "off"})),
                tmp_path) as engine:
        with pytest.raises(SetupError, match="^--hypermodel-project p/n: a project holds one search, and this run "
                                             "preflights 2 hypermodels: preflight the project's hypermodel alone"):
            engine.check_project([SimpleNamespace(tuner=None), SimpleNamespace(tuner=None)])


def _size_space(*sizes: int) -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Choice("size", list(sizes))
    return hp


def test_the_plugin_stops_with_one_line(hypermodel_dir):
    oracle = _oracle(hypermodel_dir.path / "hypermodel_search" / "healthy", _size_space(1, 2, 3))
    saved = oracle.read_text()
    result, cases = run_preflight(hypermodel_dir, "--hypermodel", "outcomes.py:healthy", "--hypermodel-isolation=off",
                                  "--hypermodel-project", "hypermodel_search/healthy")
    assert result.ret == pytest.ExitCode.USAGE_ERROR and not cases
    errors = [line for line in result.stderr.lines if line.strip()]
    assert errors == [
        "ERROR: --hypermodel-project hypermodel_search/healthy: KerasTuner will reload the old space from "
        "hypermodel_search/healthy/oracle.json (size: values [1, 2, 3] there, [1, 2] now): pass overwrite=True to "
        "the tuner, or a new project_name"
    ]
    assert "Traceback" not in result.stdout.str() and oracle.read_text() == saved


def test_the_search_refuses_a_project_with_another_space(hypermodel_dir, monkeypatch, capsys):
    """In-process, as tests/test_search.py reaches main; the project is checked before the report."""
    from pytest_hypermodel.__main__ import main

    monkeypatch.chdir(hypermodel_dir.path)
    oracle = _oracle(hypermodel_dir.path / "hypermodel_search" / "healthy", _size_space(1, 3))
    saved = oracle.read_text()
    capsys.readouterr()
    assert main(["search", "outcomes.py:healthy", "--report", "none.json", "--verbose", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "pytest_hypermodel search: hypermodel_search/healthy: KerasTuner will reload the old space from "
        "hypermodel_search/healthy/oracle.json (size: values [1, 3] there, [1, 2] now): pass --overwrite, or a new "
        "--project-name"
    ]
    # --overwrite starts afresh: the project passes, and the gate then asks for the report.
    assert main(["search", "outcomes.py:healthy", "--report", "none.json", "--verbose", "0", "--overwrite"]) == 2
    assert "no preflight report at none.json" in capsys.readouterr().err
    # Another --project-name: nothing there to reload.
    assert main(["search", "outcomes.py:healthy", "--report", "none.json", "--project-name", "fresh"]) == 2
    assert "no preflight report at none.json" in capsys.readouterr().err
    assert oracle.read_text() == saved and not (hypermodel_dir.path / "hypermodel_search" / "fresh").exists()
