"""The guide's HyperRegressor through the plugin: fit() returns a dict of two metrics. With no objective named the
[health] test names the keys and the option; with ``--hypermodel-objective metric_a`` the run is green."""

from __future__ import annotations

from tests.conftest import run_preflight

OPTIONS = (
    "--hypermodel", "regressors.py:HyperRegressor", "--hypermodel-search-data", "regressors.py:search_data",
    "--hypermodel-boundaries", "off", "--hypermodel-strategy", "extremes", "--hypermodel-epochs", "2",
)  # fmt: skip


def test_the_guide_s_hyper_regressor_names_its_objectives_unnamed_and_is_green_with_metric_a(hypermodel_dir):
    result, cases = run_preflight(hypermodel_dir, *OPTIONS, here=True)
    failed = {name for name, case in cases.items() if case.result == "failed"}
    assert failed == {"HyperRegressor[health]"}, result.stdout.str()
    health = cases["HyperRegressor[health]"].message
    assert "[objective_unnamed] HyperRegressor.fit returns a dict (metric_a, metric_b)" in health
    assert "--hypermodel-objective metric_a" in health
    assert "Expected the returned dictionary" not in result.stdout.str()

    result, cases = run_preflight(hypermodel_dir, *OPTIONS, "--hypermodel-objective", "metric_a", here=True)
    assert result.ret == 0, result.stdout.str()
    assert cases and all(case.result == "passed" for case in cases.values())
