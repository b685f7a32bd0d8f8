"""A HyperModel whose fit() returns a dict of metrics, with no objective named: which key the search ranks by is
the user's choice. The preflight names the keys and how to choose one; it does not call the cases broken for an
objective the user never chose. (``tests/proofs/test_objective_unnamed_search.py``: KerasTuner on the same code.)
"""

from __future__ import annotations

import numpy as np
import pytest

from pytest_hypermodel import preflight
from tests.hypermodels.regressors import HyperRegressor

pytestmark = pytest.mark.usefixtures("no_memory_growth")


def _data():
    rng = np.random.default_rng(0)
    return rng.random((64, 10)).astype("float32"), rng.random((64, 1)).astype("float32")


def _preflight(tmp_path, **options):
    x, y = _data()
    return preflight(
        HyperRegressor(), x, y, validation_data=(x, y), epochs=2, strategy="extremes", boundaries=False,
        isolation="off", rootpath=tmp_path, **options,
    )  # fmt: skip


def test_a_dict_of_metrics_with_no_objective_named_is_one_finding_naming_its_keys_not_fatal_cases(tmp_path):
    report = _preflight(tmp_path)
    assert {c["outcome"] for c in report.cases} == {"ok"}
    assert not any(f.get("fails_run") for f in report.forecasts)
    assert [f.check for f in report.findings] == ["objective_unnamed"]
    line = report.findings[0].line()
    assert "HyperRegressor.fit returns a dict (metric_a, metric_b) in case defaults, and no objective is named" in line
    assert "--hypermodel-objective metric_a (ini hypermodel_objective, preflight(objective='metric_a'))" in line
    assert "Expected the returned dictionary" not in str(report)


def test_the_guide_s_hyper_regressor_is_green_with_its_objective_named(tmp_path):
    report = _preflight(tmp_path, objective="metric_a")
    assert report.green, report.reasons
    assert report.findings == [] and {c["outcome"] for c in report.cases} == {"ok"}
    assert {c.get("case.objective") for c in report.cases} <= {"metric_a", None}


@pytest.mark.rehearsal
def test_the_rehearsal_searches_a_dict_of_metrics_by_its_first_key_when_no_objective_is_named(tmp_path):
    """As the cases do: the one finding is the objective's, not a rehearsal whose every trial stopped on "loss"."""
    report = _preflight(tmp_path, rehearsal=True)
    assert [f.check for f in report.findings] == ["objective_unnamed"], [f.line() for f in report.findings]
