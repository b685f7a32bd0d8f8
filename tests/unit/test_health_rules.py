"""The health checks' names and records: plain rules, no Keras."""

from __future__ import annotations

import pytest

from pytest_hypermodel.rules import health


def test_a_misspelt_suppressed_name_is_one_line_naming_the_checks() -> None:
    with pytest.raises(health.UnknownHealthCheck, match=r"unknown health check 'hyperparameter_unusd': the checks are"):
        health.check_names(["hyperparameter_unused", "hyperparameter_unusd"])
    assert health.check_names([" log_key_missing ", ""]) == {"log_key_missing"}


def test_a_finding_crosses_the_wire_and_back_unchanged() -> None:
    found = health.Finding(
        "hyperparameter_unused",
        "m.py:build",
        "batch_size changes nothing",
        "pass it to fit",
        ("m.py", 7),
        "batch_size=64",
    )
    assert health.Finding.from_dict(found.to_dict()) == found
    assert found.to_dict()["family"] == health.WASTE
    assert found.line() == "m.py:build: [hyperparameter_unused] batch_size changes nothing (m.py:7): pass it to fit"
    with pytest.raises(ValueError, match="no health check is named"):
        health.Finding("no_such_check", "s", "m", "f")


def test_suppressed_checks_and_repeats_do_not_fail_the_run() -> None:
    a = health.Finding("log_key_missing", "s", "monitor val_acc", "name val_accuracy")
    b = health.Finding("objective_direction", "s", "accuracy minimized", "direction max")
    assert health.active([a, b, a], suppressed={"objective_direction"}) == [a]
