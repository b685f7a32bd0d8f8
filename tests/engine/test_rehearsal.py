"""The rehearsal of the search: cases that passed alone run again one after another through KerasTuner's own
``search()`` in the probe process, then the calls a user makes after a search. Each finding kind on a hypermodel
that shows it (``tests/hypermodels/sequence.py``), nothing on healthy ones; the real KerasTuner searches that break
the same way are ``tests/proofs/test_rehearsal_searches.py``."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import keras_tuner as kt
import pytest

from pytest_hypermodel import PreflightError, preflight
from pytest_hypermodel.engine import progress, settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.space.hyperparameters import HypermodelWarning
from pytest_hypermodel.space.target import Target
from tests.conftest import once_per_run

pytestmark = [pytest.mark.xdist_group("rehearsal"), pytest.mark.rehearsal]

ROOT = Path(__file__).parents[2]
SEQUENCE = "tests/hypermodels/sequence.py"
SPECS = {
    "leaks": f"{SEQUENCE}:half_precision_leaks",
    "shared": f"{SEQUENCE}:shared_layer",
    "unbuilt": f"{SEQUENCE}:unbuilt_subclass",
    "factory": f"{SEQUENCE}:make_tuner",
    "clean": f"{SEQUENCE}:clean",
    "guide": "tests/hypermodels/guide.py:failed_trial",
    "hypermodel_fit": "tests/hypermodels/guides.py:MyHyperModel",
}


def _rehearse(folder: Path) -> dict:
    """One engine, one probe process, every hypermodel: the findings by spec, and the progress lines."""
    options = settings.MappingSource(
        {
            "hypermodel_boundaries": "off",
            "hypermodel_rehearsal": "on",
            "hypermodel_memory_growth": "0",  # not the subject: three more trials of each defaults case
            "hypermodel_epochs": "1",  # what a trial leaves behind shows after one epoch as after two
            "hypermodel_strategy": "extremes",  # the rehearsal runs the extremes and Choice values only
            "hypermodel_input_shape": ["28,28"],  # for the models without keras.Input; the others warn
        }
    )
    lines: list[str] = []
    with contextlib.chdir(folder), Engine(settings.read(options), ROOT) as engine, warnings.catch_warnings():
        warnings.simplefilter("ignore", HypermodelWarning)
        engine.progress = progress.Progress(lines.append)
        payload = engine.run(list(SPECS.values()))
        findings = [f.to_dict() for f in engine.findings]
    return {
        "findings": findings,
        "progress": lines,
        "outcomes": {c["nodeid"]: c["outcome"] for c in payload["cases"]},
        "user_project": (folder / "sequence_search").exists(),
    }


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return once_per_run(tmp_path_factory, "rehearsal", _rehearse)


def _of(rehearsed: dict, key: str) -> list[dict]:
    return [f for f in rehearsed["findings"] if f["spec"] == SPECS[key]]


def test_a_value_that_sets_floatx_is_state_left_behind_and_the_last_defaults_trial_trains_in_float16(rehearsed):
    found = _of(rehearsed, "leaks")
    left = [f for f in found if f["check"] == "state_left_behind"]
    assert len(left) == 1, found
    assert left[0]["case"] == "precision=half" and "keras.config.floatx()" in left[0]["message"]
    assert "'float16'" in left[0]["message"] and "'float32'" in left[0]["message"]
    differs = [f for f in found if f["check"] == "fails_in_sequence"]
    assert differs and "float32" in differs[0]["message"] and "float16" in differs[0]["message"]
    assert left[0]["file"].endswith("sequence.py") and left[0]["line"]  # the build function's definition


def test_a_layer_made_at_module_level_is_shared_variables(rehearsed):
    found = _of(rehearsed, "shared")
    shared = [f for f in found if f["check"] == "shared_variables"]
    assert len(shared) == 1 and "shared/kernel" in shared[0]["message"], found
    # the defaults, built again last, start from the weights earlier trials trained
    assert any(f["check"] == "fails_in_sequence" and "starting weights" in f["message"] for f in found)


def test_a_checkpoint_that_cannot_be_loaded_into_a_fresh_build_is_after_search(rehearsed):
    found = _of(rehearsed, "unbuilt")
    assert [f["check"] for f in found] == ["after_search"], found
    assert "get_best_models(1) raised ValueError" in found[0]["message"]
    assert "not yet been built" in found[0]["message"]


def test_the_users_tuner_is_made_again_for_the_rehearsal_and_its_project_is_not_touched(rehearsed):
    found = _of(rehearsed, "factory")
    assert any(f["check"] == "state_left_behind" and "floatx" in f["message"] for f in found), found
    assert not rehearsed["user_project"]


def test_a_tuner_object_is_copied_for_the_rehearsal_and_left_as_it_was(tmp_path):
    """The Python API's tuner object: its cases ran as its trials here; the rehearsal searches with a copy, on a
    project of its own."""
    from tests.hypermodels import sequence

    tuner = kt.RandomSearch(
        sequence.unbuilt_subclass, objective="loss", max_trials=3, directory=tmp_path, project_name="user"
    )
    options = {
        "hypermodel_isolation": "off",
        "hypermodel_boundaries": "off",
        "hypermodel_rehearsal": "on",
        "hypermodel_memory_growth": "0",
        "hypermodel_epochs": "1",
    }
    with Engine(settings.read(settings.MappingSource(options)), tmp_path) as engine, warnings.catch_warnings():
        warnings.simplefilter("ignore", HypermodelWarning)
        engine.run([Target("unbuilt", Path(sequence.__file__), "unbuilt", tuner.hypermodel, tuner)], sequence.data())
    assert [f.check for f in engine.findings] == ["after_search"]
    assert "get_best_models(1)" in engine.findings[0].message
    assert tuner.oracle.trials == {} and not list((tmp_path / "user").glob("trial_*"))


def test_healthy_hypermodels_have_no_finding(rehearsed):
    for key in ("clean", "guide", "hypermodel_fit"):
        assert _of(rehearsed, key) == [], key
    failing_alone = [n for n, o in rehearsed["outcomes"].items() if "failed_trial" in n and o != "ok"]
    assert failing_alone  # the guide's grid: cases that fail alone are left out of the rehearsal


def test_the_progress_lines_say_what_the_rehearsal_runs(rehearsed):
    started = [line for line in rehearsed["progress"] if "rehearsing" in line and SPECS["leaks"] in line]
    assert started and "through KerasTuner's search()" in started[0]
    assert "get_best_models()" in started[0] and "a reload of its project" in started[0]
    assert "at most 6" in started[0]  # two cases a hyperparameter, and the defaults first and last
    assert any("rehearsed 4 trials" in line and "state_left_behind" in line for line in rehearsed["progress"])


def test_the_rehearsal_is_on_by_default_and_can_be_turned_off(tmp_path):
    from tests.hypermodels import sequence

    options = {"hypermodel_isolation": "off", "hypermodel_boundaries": "off", "hypermodel_epochs": "2"}
    cheap = {"hypermodel_strategy": "default", "hypermodel_memory_growth": "0"}  # one case shows no rehearsal
    off = settings.read(settings.MappingSource({**options, "hypermodel_rehearsal": "off"}))
    on = settings.read(settings.MappingSource({**options, "hypermodel_rehearsal": "on"}))
    assert on.rehearsal and not off.rehearsal and settings.read(settings.MappingSource(options)).rehearsal
    assert settings.Settings().rehearsal
    lines: list[str] = []
    with Engine(
        settings.read(settings.MappingSource({**options, **cheap, "hypermodel_rehearsal": "off"})), tmp_path
    ) as engine:
        engine.progress = progress.Progress(lines.append)
        # a checkpoint that get_best_models() cannot load: a finding had it been rehearsed; a space of two
        # configurations, built whole at once
        engine.run([Target("unbuilt", Path(sequence.__file__), "unbuilt", sequence.unbuilt_subclass)], sequence.data())
    assert engine.findings == [] and not any("rehears" in line for line in lines)
    with pytest.raises(settings.SettingError, match="use on or off"):
        settings.read(settings.MappingSource({"hypermodel_rehearsal": "maybe"}))
    with pytest.raises(PreflightError, match="'sometimes': use on or off"):
        preflight(sequence.clean, isolation="off", rehearsal="sometimes")
