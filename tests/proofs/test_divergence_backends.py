"""The seed article's Adam example gets the same verdict on every backend: a real plugin run per backend (minutes:
with the proofs)."""

from __future__ import annotations

import ast

import pytest
from conftest import run_preflight
from hypermodels.runtime_errors import SEED_VERDICTS


@pytest.mark.proof
@pytest.mark.parametrize(("backend", "workers"), [("tensorflow", []), ("jax", []), ("torch", ["-n", "2"])])
def test_the_seed_example_has_the_same_verdict_on_every_backend(hypermodel_dir, monkeypatch, backend, workers):
    """A real plugin run per backend (one under xdist: a worker without the default case probes it for its
    reference). Learning rate 1.0 diverges too: under JAX its loss is the very one of 10.0."""
    monkeypatch.setenv("KERAS_BACKEND", backend)
    result, cases = run_preflight(
        hypermodel_dir, "--hypermodel", "runtime_errors.py:learning_rate_instability", *workers, timeout=600
    )
    got = {name.partition("[")[2].rstrip("]"): case for name, case in cases.items()}
    assert {name: case.properties["outcome"] for name, case in got.items()} == SEED_VERDICTS, result.stdout.str()
    assert {case.properties["backend"] for case in got.values()} == {backend}
    default = got["defaults"].properties
    assert "reference_loss" not in default and len(ast.literal_eval(default["losses"])) == 3
    # A case that learned needs no reference (an xdist worker probes the default only for a case that grew).
    assert "reference_loss" not in got["learning_rate=0.1"].properties
    for name in ("learning_rate=1.0", "learning_rate=10.0"):
        props = got[name].properties
        assert float(props["reference_loss"]) == pytest.approx(float(default["start_loss"])), name
        assert float(props["start_loss"]) > 0, name
    assert "over 3 times where it started" in got["learning_rate=10.0"].message
    assert result.ret == 1
