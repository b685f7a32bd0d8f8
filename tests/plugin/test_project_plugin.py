"""An existing KerasTuner project with another space: the plugin stops with one line, and the gated search
refuses it."""

from __future__ import annotations

import keras_tuner as kt
import pytest
from conftest import run_preflight

from tests.kerastuner_made import saved_oracle


def _size_space(*sizes: int) -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Choice("size", list(sizes))
    return hp


def test_the_plugin_stops_with_one_line(hypermodel_dir):
    oracle = saved_oracle(hypermodel_dir.path / "hypermodel_search" / "healthy", _size_space(1, 2, 3))
    saved = oracle.read_text()
    result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "outcomes.py:healthy",
        "--hypermodel-isolation=off",
        "--hypermodel-project",
        "hypermodel_search/healthy",
        here=True,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR and not cases
    errors = [line for line in result.stderr.lines if line.strip()]
    assert errors == [
        "ERROR: --hypermodel-project hypermodel_search/healthy: KerasTuner will reload the old space from "
        "hypermodel_search/healthy/oracle.json (size: values [1, 2, 3] there, [1, 2] now): pass overwrite=True to "
        "the tuner, or a new project_name"
    ]
    assert "Traceback" not in result.stdout.str() and oracle.read_text() == saved


def test_the_search_refuses_a_project_with_another_space(hypermodel_dir, monkeypatch, capsys):
    """In-process, as tests/test_search.py reaches main; the project is checked before the report."""
    from pytest_hypermodel.__main__ import main

    monkeypatch.chdir(hypermodel_dir.path)
    oracle = saved_oracle(hypermodel_dir.path / "hypermodel_search" / "healthy", _size_space(1, 3))
    saved = oracle.read_text()
    capsys.readouterr()
    assert main(["search", "outcomes.py:healthy", "--report", "none.json", "--verbose", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "pytest_hypermodel search: hypermodel_search/healthy: KerasTuner will reload the old space from "
        "hypermodel_search/healthy/oracle.json (size: values [1, 3] there, [1, 2] now): pass --overwrite, or a new "
        "--project-name"
    ]
    # --overwrite starts afresh: the project passes, and the gate then asks for the report.
    assert main(["search", "outcomes.py:healthy", "--report", "none.json", "--verbose", "0", "--overwrite"]) == 2
    assert "no preflight report at none.json" in capsys.readouterr().err
    # Another --project-name: nothing there to reload.
    assert main(["search", "outcomes.py:healthy", "--report", "none.json", "--project-name", "fresh"]) == 2
    assert "no preflight report at none.json" in capsys.readouterr().err
    assert oracle.read_text() == saved and not (hypermodel_dir.path / "hypermodel_search" / "fresh").exists()
