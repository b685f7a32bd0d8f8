"""The pytest face of the warnings a trial raises: collected in the probe process, carried on the cases' reports,
and shown once per hypermodel in the terminal's summary and the JSON report."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.conftest import run_preflight


def test_a_warning_raised_in_the_probe_process_is_summarized_once_per_hypermodel(hypermodel_dir):
    hypermodel_dir.makepyfile(
        unused=textwrap.dedent(
            """
            import keras


            class Unused(keras.layers.Layer):
                def build(self, input_shape):
                    self.unused = self.add_weight(shape=(1,), name="unused")

                def call(self, x):
                    return x


            def build(hp):
                model = keras.Sequential([keras.Input(shape=(4,)), Unused(), keras.layers.Dense(hp.Int("units", 1, 2))])
                model.compile(loss="mse", optimizer="sgd")
                return model
            """
        )
    )
    report = hypermodel_dir.path / "preflight.json"
    result, cases = run_preflight(hypermodel_dir, "--hypermodel", "unused.py:build", "--hypermodel-report", str(report))
    # every case passes: the health channel, not the cases, reports what the warning means (variables not trained)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert {name: c.result for name, c in cases.items()} == {
        "build[defaults]": "passed",
        "build[units=2]": "passed",
        "build[health]": "failed",
    }
    result.stdout.fnmatch_lines(["*FAILED unused.py::build[[]health[]]*"])
    data = json.loads(report.read_text())
    [warning] = [w for w in data["warnings"] if "Gradients do not exist" in w["message"]]
    assert (warning["spec"], warning["case"], warning["cases"]) == ("unused.py:build", "defaults", 2)
    result.stdout.fnmatch_lines(
        [
            "*warnings raised during the cases (each once per hypermodel):*",
            "*unused.py:build: UserWarning: Gradients do not exist for variables*(first in case defaults, 2 cases)*",
        ]
    )
