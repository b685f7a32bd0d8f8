"""The health checks' channel without Keras: the suppression setting, the objective's direction against its
metric, the findings a case carries, the views of a report with findings, and the reference page listing every
check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_payloads import many_culprits, parse  # tests/ is on sys.path

from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.settings import MappingSource, SettingError
from pytest_hypermodel.rules import health, waste_checks
from pytest_hypermodel.views import github, html, readback

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "health-checks.md"


def test_the_reference_lists_every_check_with_an_example_of_its_line() -> None:
    text = DOC.read_text()
    headed = re.findall(r"^### `([a-z_]+)`$", text, re.M)
    assert sorted(headed) == sorted(health.CHECKS), "docs/reference/health-checks.md and health.CHECKS differ"
    for name in health.CHECKS:
        section = text.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        example = re.search(r"```text\n(.+)\n```", section)
        assert example and f": [{name}] " in example.group(1), f"{name}: no example line in Finding.line's form"


def test_suppressed_checks_are_read_from_a_list_or_a_comma_list() -> None:
    def read(value: object) -> frozenset[str]:
        return settings.suppress_health_check(MappingSource({"hypermodel_suppress_health_check": value}))

    assert read(["hyperparameter_unused", "objective_direction"]) == {"hyperparameter_unused", "objective_direction"}
    assert read("hyperparameter_unused, log_key_missing") == {"hyperparameter_unused", "log_key_missing"}
    assert read(None) == frozenset() and settings.read(MappingSource()).suppress_health_check == frozenset()
    with pytest.raises(SettingError, match=r"^suppress_health_check: unknown health check 'unused': the checks are "):
        read(["unused"])


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("val_accuracy", "max"),
        ("accuracy", "max"),
        ("val_auc_1", "max"),
        ("val_precision", "max"),
        ("recall", "max"),
        ("val_f1_score", "max"),
        ("out_a_sparse_categorical_accuracy", "max"),
        ("val_loss", "min"),
        ("out_a_loss", "min"),
        ("val_mean_absolute_error", "min"),
        ("val_false_positives", "min"),
        ("val_true_positives", "max"),
        ("mse", "min"),
        ("custom_score", None),
    ],
)
def test_a_metric_s_direction_is_read_from_its_logged_name(name: str, direction: str | None) -> None:
    assert waste_checks.metric_direction(name) == direction


def test_only_a_direction_that_contradicts_its_metric_is_a_finding(tmp_path: Path) -> None:
    source = tmp_path / "train.py"
    source.write_text('import keras_tuner\n\nobjective = keras_tuner.Objective("val_auc", "min")\n')
    objectives = [("val_auc", "min"), ("val_loss", "min"), ("val_accuracy", None), ("custom", "max")]
    (found,) = waste_checks.objective_findings("train.py:make", objectives, "the tuner's objective", source)
    assert found.check == "objective_direction" and found.location == (str(source), 3)
    assert "minimizes val_auc ('min'), which is better higher" in found.message
    assert found.fix == 'set the direction to "max": keras_tuner.Objective("val_auc", "max")'


def test_the_findings_a_case_carries_come_back_from_its_entry() -> None:
    found = health.Finding("warning_in_trial", "m.py:build", "it warned", "fix it", ("m.py", 3), "units=8")
    name, value = health.case_property([found])
    entries = [{name: value}, {}, {name: "not json"}]
    assert name == health.CASE_HEALTH and health.from_entries(entries) == [found]


def _payload_with_finding() -> dict:
    payload = many_culprits(1)
    spec = payload["hypermodels"][0]["spec"]
    finding = health.Finding(
        "hyperparameter_unused", spec, "'batch_size' changes nothing", "pass it to fit", ("/repo/m.py", 17)
    )
    return {**payload, "health": [finding.to_dict()]}


def test_a_finding_is_an_annotation_at_its_line_and_a_line_of_the_summaries() -> None:
    payload = _payload_with_finding()
    (model,) = readback.hypermodels(payload)
    assert [f.check for f in model.health] == ["hyperparameter_unused"] and not model.green
    assert not readback.green(payload)
    annotations = [parse(line) for line in github.annotations(payload, Path("/repo"))]
    ours = [a for a in annotations if "hyperparameter_unused" in a[1]["title"]]
    assert len(ours) == 1
    level, props, message = ours[0]
    assert (level, props["file"], props["line"]) == ("error", "m.py", "17")
    assert "pass it to fit" in message and "--hypermodel-suppress-health-check hyperparameter_unused" in message
    summary = github.step_summary(payload)
    assert "**Health checks:**" in summary and "`hyperparameter_unused`: 'batch_size' changes nothing" in summary
    page = html.render(payload)
    assert "<code>hyperparameter_unused</code>" in page and "pass it to fit" in page


def test_a_report_without_health_reads_as_before() -> None:
    payload = many_culprits(1)
    assert readback.findings(payload) == [] and readback.hypermodels(payload)[0].health == []
