"""The waste health checks on real Keras models: what discovery finds, where it points, and no false alarm on the
keras-io guides' models; the findings through the engine and the API (suppression included)."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from pytest_hypermodel import preflight
from pytest_hypermodel.probe import prepare
from pytest_hypermodel.rules.health import Finding
from pytest_hypermodel.space import target as target_mod
from pytest_hypermodel.space.target import Target
from tests.hypermodels import guides, waste

pytestmark = pytest.mark.usefixtures("no_memory_growth")

ROOT = Path(__file__).resolve().parents[2]


def findings_of(obj, name: str | None = None) -> list[Finding]:
    """What preparing ``obj`` finds (discovery, no plan's draws)."""
    name = name or obj.__name__
    path = Path(inspect.getfile(obj)).resolve()
    target = Target(f"{path.name}:{name}", path, name, target_mod.as_hypermodel(obj, name))
    return prepare.prepare_target(target, prepare.PlanOptions(forecast=False), timeout=120, grid_builds=False).findings


def line_of(obj, text: str) -> int:
    """The line of ``obj``'s source that holds ``text``."""
    lines, start = inspect.getsourcelines(obj)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_a_batch_size_that_reaches_no_fit_is_unused_at_its_declaration():
    (found,) = findings_of(waste.unused_batch_size)
    assert found.check == "hyperparameter_unused"
    assert found.location == (str(Path(waste.__file__).resolve()), line_of(waste.unused_batch_size, "hp.Choice"))
    assert "'batch_size' changes nothing: its values 16, 32, 64 built the same model" in found.message
    assert "model.fit" in found.fix


def test_a_name_read_by_the_hypermodel_s_own_fit_is_used():
    assert findings_of(waste.BatchSizeInFit) == []


def test_a_conditional_hyperparameter_is_judged_where_it_is_active():
    (found,) = findings_of(waste.unused_when_active)
    assert found.check == "hyperparameter_unused" and "'rate'" in found.message
    assert findings_of(waste.used_when_active) == []


def test_what_no_configuration_shows_is_no_false_alarm():
    """A seed that moves the initial weights only is used; a value read in a Lambda gets no verdict."""
    assert findings_of(waste.seeded) == []
    assert findings_of(waste.scaled_in_lambda) == []


def test_a_tuner_with_its_own_run_trial_may_read_any_name():
    tuner = waste.make_tuner_reading_batch_size()
    path = Path(waste.__file__).resolve()
    target = Target("waste.py:make_tuner_reading_batch_size", path, "unused_batch_size", tuner.hypermodel, tuner)
    pre = prepare.prepare_target(target, prepare.PlanOptions(forecast=False), timeout=120, grid_builds=False)
    assert pre.findings == []


def test_a_name_declared_again_points_at_the_second_declaration():
    (found,) = findings_of(waste.redeclared_units)
    assert found.check == "hyperparameter_redeclared"
    second = line_of(waste.redeclared_units, 'hp.Int("units", 32')
    assert found.location == (str(Path(waste.__file__).resolve()), second)
    assert "hp.Int('units', 32, 64, step=8)" in found.message and "hp.Int('units', 1, 4)" in found.message


def test_a_tuner_that_maximizes_a_loss_points_at_its_objective():
    tuner = waste.make_maximized_loss_tuner()
    path = Path(waste.__file__).resolve()
    target = Target("waste.py:make_maximized_loss_tuner", path, "learning", tuner.hypermodel, tuner)
    pre = prepare.prepare_target(target, prepare.PlanOptions(forecast=False), timeout=120, grid_builds=False)
    (found,) = pre.findings
    assert found.check == "objective_direction"
    assert found.location == (str(path), line_of(waste.make_maximized_loss_tuner, 'Objective("val_loss", "max")'))
    assert 'keras_tuner.Objective("val_loss", "min")' in found.fix


@pytest.mark.parametrize(
    "obj", [guides.build_model, guides.MyHyperModel, guides.CroppingHyperModel], ids=lambda o: o.__name__
)
def test_the_keras_io_guides_models_as_published_have_no_finding(obj):
    assert findings_of(obj) == []


def test_the_example_project_s_models_have_no_finding():
    import importlib.util

    for module_name in ("models", "getting_started"):
        spec = importlib.util.spec_from_file_location(
            f"example_{module_name}", ROOT / "example_project" / f"{module_name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name in ("build_model", "guide_value_error", "guide_failed_trial", "large_learning_rate"):
            if hasattr(module, name):
                assert findings_of(getattr(module, name), name) == [], f"{module_name}.{name}"


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 8)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")


def test_the_api_reports_a_finding_and_a_suppressed_check_lets_the_run_pass():
    x, y = _data()
    options = dict(epochs=2, isolation="off", boundaries=False, strategy="default")  # discovery's finding
    red = preflight(waste.unused_batch_size, x, y, **options)
    assert not red.green
    (found,) = red.findings
    assert found.check == "hyperparameter_unused" and found.location is not None
    assert red.data["health"] == [found.to_dict()]
    assert found.line() in red.reasons()

    green = preflight(waste.unused_batch_size, x, y, suppress_health_check=["hyperparameter_unused"], **options)
    assert green.findings == [] and green.data["health"] == [] and green.green


def test_an_objective_given_that_contradicts_its_metric_is_found_without_a_tuner():
    x, y = _data()
    report = preflight(
        waste.learning,
        x,
        y,
        validation_data=(x, y),
        objective="val_loss:max",
        epochs=2,
        isolation="off",
        boundaries=False,
        strategy="default",  # a setting's finding: one case is enough
    )
    assert [f.check for f in report.findings] == ["objective_direction"]
    assert report.findings[0].location is None  # given as a setting: no line of the user's


def test_an_unknown_suppressed_check_is_one_line_naming_the_checks():
    from pytest_hypermodel.api import PreflightError

    with pytest.raises(PreflightError, match=r"^suppress_health_check: unknown health check 'hyperparameter_unsued': "):
        preflight(waste.learning, suppress_health_check=["hyperparameter_unsued"], isolation="off")
