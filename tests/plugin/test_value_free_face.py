"""A failure whatever the values is no value's in the pytest face too: once every case is known, the JSON report's
cases and the terminal's forecast blame no hyperparameter (``engine/test_search_data.py`` checks the engine)."""

from __future__ import annotations

import json

from conftest import run_preflight

from pytest_hypermodel.plugin import HYPERMODEL_OPTION, REPORT_OPTION

READS_A_MISSING_FILE = """
import keras


def build(hp):
    units = hp.Int("units", 2, 8, step=2)
    with open("vocabulary.txt") as words:  # the code's failure, whatever units is
        size = len(words.read().split())
    return keras.Sequential([keras.Input(shape=(size,)), keras.layers.Dense(units)])
"""


def test_every_case_failing_alike_blames_no_value_in_the_report(pytester):
    pytester.makepyfile(missing=READS_A_MISSING_FILE)
    result, cases = run_preflight(
        pytester, HYPERMODEL_OPTION, "missing.py:build", REPORT_OPTION, "report.json", "--hypermodel-boundaries=off",
        here=True,
    )  # fmt: skip
    assert result.ret == 1 and len(cases) >= 3, result.stdout.str()
    messages = [c["message"] for c in json.loads((pytester.path / "report.json").read_text())["cases"]]
    assert all("whatever the values: no hyperparameter is to blame" in m for m in messages), messages
    assert not any("units can be" in m or "the default values already fail" in m for m in messages), messages
