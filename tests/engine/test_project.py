"""An existing KerasTuner project: KerasTuner reloads ``DIR/NAME/oracle.json`` and searches
its OLD space; the preflight (``--hypermodel-project``, the API's ``project=``, a tuner's own project) and the
gated search refuse a project whose oracle holds another space, with one line. Real KerasTuner for the proof;
the rest on tiny Dense models, the pytest process's own (isolation off) where the face allows it.
"""

from __future__ import annotations

from types import SimpleNamespace

import keras_tuner as kt
import pytest

from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine, SetupError
from pytest_hypermodel.rules import project
from tests.kerastuner_made import saved_oracle


def _space(**declare) -> dict:
    """``units=("Int", (1, 4, {"step": 2}))``: a HyperParameters config, declared through KerasTuner."""
    hp = kt.HyperParameters()
    for name, (kind, args) in declare.items():
        kwargs = args[-1] if args and isinstance(args[-1], dict) else {}
        getattr(hp, kind)(name, *args[: len(args) - bool(kwargs)], **kwargs)
    return hp.get_config()


@pytest.mark.parametrize(
    ("old", "new", "unreached", "found"),
    [
        ({"u": ("Int", (1, 4))}, {"u": ("Int", (1, 4))}, (), []),
        (
            {"u": ("Int", (1, 4))},
            {"u": ("Int", (1, 8, {"step": 2}))},
            (),
            ["u: max_value 4 there, 8 now, step 1 there, 2 now"],
        ),
        (
            {"lr": ("Float", (1e-3, 1e-1))},
            {"lr": ("Float", (1e-3, 1e-1, {"sampling": "log"}))},
            (),
            ["lr: sampling 'linear' there, 'log' now"],
        ),
        (
            {"a": ("Choice", (["x", "y"],))},
            {"a": ("Choice", (["x", "y"], {"default": "y"}))},
            (),
            ["a: default 'x' there, 'y' now"],
        ),
        (
            {"a": ("Choice", ([1, 2],)), "b": ("Boolean", ())},
            {"a": ("Int", (1, 2))},
            (),
            ["a: Choice there, Int now", "b removed"],
        ),
        ({"u": ("Int", (1, 4))}, {"u": ("Int", (1, 4)), "units_1": ("Int", (1, 4))}, (), ["units_1 added"]),
        # A dynamic hyperparameter that no trial has reached yet is not in the oracle: KerasTuner adds it then.
        ({"u": ("Int", (1, 4))}, {"u": ("Int", (1, 4)), "units_1": ("Int", (1, 4))}, ("units_1",), []),
    ],
)
def test_differences(old, new, unreached, found):
    assert project.differences(_space(**old), _space(**new), unreached) == found


def test_an_oracle_kerastuner_cannot_reload_or_many_changes_are_one_line(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "tuner0.json").write_text("{}")
    (tmp_path / "bad" / "oracle.json").write_text("{")
    with pytest.raises(
        project.ProjectError,
        match=r"^P: .*bad/oracle.json is not an oracle KerasTuner can reload "
        r"\(JSONDecodeError: .*\): FIX$",
    ):
        project.check(tmp_path / "bad", "P", _space(), (), "FIX")
    saved_oracle(tmp_path / "many", kt.HyperParameters())
    current = _space(**{f"h{i}": ("Boolean", ()) for i in range(7)})
    with pytest.raises(project.ProjectError) as raised:
        project.check(tmp_path / "many", "P", current, (), "FIX")
    assert "(h0 added; h1 added; h2 added; h3 added; h4 added; and 2 more): FIX" in str(raised.value)
    project.check(tmp_path / "missing", "P", current, (), "FIX")  # no oracle: nothing to check
    (tmp_path / "many" / "tuner0.json").unlink()  # no tuner file: KerasTuner starts afresh, whatever the oracle
    project.check(tmp_path / "many", "P", current, (), "FIX")


def test_the_setting_and_one_project_per_run(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(
        settings.SettingError,
        match="project .*file: that is a file; give the tuner's "
        r"directory/project_name \(DIR/NAME\)",
    ):
        settings.read(settings.MappingSource({"hypermodel_project": str(tmp_path / "file")}))
    read = settings.read(settings.MappingSource({"hypermodel_project": "hypermodel_search/guide/"}))
    assert read.project == "hypermodel_search/guide" and settings.read(settings.MappingSource()).project is None
    with (
        Engine(
            settings.read(settings.MappingSource({"hypermodel_project": "p/n", "hypermodel_isolation": "off"})),
            tmp_path,
        ) as engine,
        pytest.raises(
            SetupError,
            match="^--hypermodel-project p/n: a project holds one search, and this run "
            "preflights 2 hypermodels: preflight the project's hypermodel alone",
        ),
    ):
        engine.check_project([SimpleNamespace(tuner=None), SimpleNamespace(tuner=None)])
