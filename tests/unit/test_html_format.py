"""The HTML report's heatmaps and the report view, from report payloads made here."""

from __future__ import annotations

from report_payloads import cells, many_culprits  # tests/ is on sys.path

from pytest_hypermodel.views import html as html_report
from pytest_hypermodel.views import readback as report_view


def test_untested_and_declared_cells():
    wide = many_culprits(3)  # hp_1 fails with a declared FailedTrialError, hp_0 diverges, hp_2 is fatal
    got = cells(html_report.render(wide))
    assert got["hp_0=1, hp_1=9: 1 case, 1 failed (FailedTrialError)"] == "declared"
    assert got["hp_0=9, hp_1=9: untested"] == "untested"
    assert got["hp_0=9, hp_1=1: 1 case, 1 failed (diverged)"] == "fail"
    assert got["hp_0=1, hp_1=1: 2 cases, 1 failed (FatalError)"] == "fail"


def test_many_hyperparameters_keep_six_heatmaps():
    html = html_report.render(many_culprits(15))
    assert html.count('<figure class="heatmap">') == 6
    assert "99 more pairs left out" in html  # 15 * 14 / 2 = 105 pairs


def test_report_view_varied_uses_the_id_for_conditional_hyperparameters():
    defaults = {"num_layers": 1, "units_0": 1000}
    values = {"num_layers": 10, "units_0": 1000, "units_1": 2000, "units_2": 1000}
    assert report_view.varied("num_layers=10-units_1=2000", values, defaults) == ("num_layers", "units_1")
    assert report_view.varied("learning_rate=1e-05", {"learning_rate": 1e-05}, {"learning_rate": 0.01}) == (
        "learning_rate",
    )
    assert report_view.varied("custom", {"a": 2, "b": 1}, {"a": 1, "b": 1}) == ("a",)
    assert report_view.varied("defaults", values, defaults) == ()
