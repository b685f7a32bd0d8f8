"""Memory a trial leaves behind (memory per trial): the default case's further trials measure it, and a build
that keeps every model it makes fails the preflight, as it would kill a real search hours in."""

from __future__ import annotations

import inspect
import json

from pytest_hypermodel.probe import fit as probe
from pytest_hypermodel.rules import outcomes
from tests.conftest import failed_line, run_preflight
from tests.hypermodels.memory import KEPT_BYTES, keeps_every_model


def test_a_build_that_keeps_every_model_fails_its_default_case_and_a_clean_one_passes(hypermodel_dir, monkeypatch):
    """A real pytest run of the plugin, both hypermodels in one probe process; the boundaries are on, and find
    nothing to bisect in a growth that no value of the space causes. Under GitHub Actions it is an error at the
    build's ``def`` line, and no value is named to constrain."""
    summary = hypermodel_dir.path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    path = hypermodel_dir.path / "preflight.json"
    result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "memory.py:clean",
        "--hypermodel",
        "memory.py:keeps_every_model",
        "--hypermodel-report",
        str(path),
        "--hypermodel-boundaries=on",
        "--hypermodel-memory-growth=4MiB",
    )
    leaky, clean = cases["keeps_every_model[defaults]"], cases["clean[defaults]"]
    assert leaky.result == "failed" and leaky.properties["outcome"] == outcomes.MEMORY_GROWTH
    assert leaky.properties["disposition"] == "completed"  # KerasTuner completes it: the forecast is untouched
    assert int(leaky.properties["rss_growth_bytes"]) > 0.8 * KEPT_BYTES
    message = leaky.properties["message"]  # the whole paragraph (JUnit truncates the message= attribute)
    assert "keras.backend.clear_session()" in message and "module-level list" in message
    assert clean.result == "passed" and clean.properties["outcome"] == "ok"
    assert abs(int(clean.properties["rss_growth_bytes"])) < probe.MAX_GROWTH / 4
    # Measured once per hypermodel, on its defaults: the other cases carry no figure.
    assert "rss_growth_bytes" not in cases["keeps_every_model[size=2]"].properties
    assert cases["keeps_every_model[size=2]"].result == "passed"
    result.stdout.fnmatch_lines(
        [failed_line("memory.py::keeps_every_model[[]defaults[]]", "defaults: size=1 -> memory*")]
    )
    assert "searching the boundaries" not in result.stdout.str()
    line = inspect.getsourcelines(keeps_every_model)[1]
    result.stdout.fnmatch_lines(
        [
            f"::error file=memory.py,line={line},title=memory.py%3Akeeps_every_model%3A memory "
            "grows from trial to trial::memory.py:keeps_every_model: defaults: size=1 -> memory "
            "grows*"
        ]
    )
    assert "To constrain" not in summary.read_text()
    assert "complete it (1 run), memory grows each trial" in summary.read_text()
    data = json.loads(path.read_text())
    growth = {h["spec"]: h["rss_growth_bytes"] for h in data["hypermodels"]}
    assert growth["memory.py:keeps_every_model"] > 0.8 * KEPT_BYTES
    assert abs(growth["memory.py:clean"]) < probe.MAX_GROWTH / 4
    assert not any(h.get("boundaries") or h.get("defaults_moved") for h in data["hypermodels"])
    assert not any(f["fails_run"] for f in data["forecasts"])
