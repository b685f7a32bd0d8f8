"""The objective named on the command line reaches the cases, and the gated search refuses another (the cases of
an objective the fit does not log fail with the fix: tests/engine/test_case_verdicts.py)."""

from __future__ import annotations

import pytest
from conftest import run_preflight  # tests/ is on sys.path


def test_the_gated_search_refuses_an_objective_other_than_the_one_preflighted(hypermodel_dir, monkeypatch, capsys):
    """The preflight proved the cases log val_loss: a search for another objective is another question."""
    from pytest_hypermodel.__main__ import main

    result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "outcomes.py:healthy",
        "--hypermodel-objective",
        "val_loss",
        "--hypermodel-report",
        "r.json",
        "--hypermodel-boundaries",
        "off",
        here=True,
    )
    assert result.ret == pytest.ExitCode.OK
    assert {c.properties["case.objective"] for c in cases.values()} == {"val_loss"}
    monkeypatch.chdir(hypermodel_dir.path)
    capsys.readouterr()
    assert main(["search", "outcomes.py:healthy", "--report", "r.json", "--objective", "loss", "--verbose", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "pytest_hypermodel search: the preflight of outcomes.py:healthy in r.json checked the objective val_loss, "
        "and this search's is loss: pass --objective val_loss, or rerun the preflight with --hypermodel-objective loss"
    ]
    assert (
        main(
            [
                "search",
                "outcomes.py:healthy",
                "--report",
                "r.json",
                "--objective",
                "val_loss",
                "--verbose",
                "0",
                "--samples",
                "8",
                "--synthesize",
            ]
        )
        == 0
    )
