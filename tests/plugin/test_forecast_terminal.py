"""The terminal says each forecast's verdict in a short line, as pytest's own summary lines are; how it was
computed (the oracle's seeds, the cases and builds that judged its trials; the cases' seconds behind the time) is
behind ``-v``, and in the JSON."""

from __future__ import annotations

import json
import re

from conftest import run_here  # tests/ is on sys.path


def _forecast_lines(result, spec: str) -> list[str]:
    return [line for line in result.outlines if line.startswith(f"{spec}: RandomSearch")]


def test_the_forecast_is_a_short_verdict_and_v_shows_how_it_was_computed(hypermodel_dir):
    spec = "guide.py:failed_trial"
    quiet = run_here(hypermodel_dir, "-p", "no:cacheprovider", "--hypermodel", spec, "--hypermodel-report=r.json")
    [line] = _forecast_lines(quiet, spec)
    # What KerasTuner would do, the chance, what to change: no parentheses of how it was computed.
    assert line.startswith(f"{spec}: RandomSearch would abort within 10 trials: "), line
    assert "oracle over" not in line and "(" not in line and len(line) < 160, line
    [forecast] = json.loads((hypermodel_dir.path / "r.json").read_text())["forecasts"]
    assert line == f"{spec}: {forecast['headline']}"
    assert "KerasTuner's oracle over 200 seeds" in forecast["message"]
    # The time too: the estimate in a short line; how it was computed, behind -v and in the JSON.
    timing = forecast["timing"]
    assert timing["headline"] in quiet.outlines and timing["line"] not in quiet.outlines
    assert timing["headline"].startswith(f"{spec}: 10 trials as small as the cases: about ")
    assert len(timing["headline"]) < 100, timing["headline"]
    verbose = run_here(hypermodel_dir, "-p", "no:cacheprovider", "-v", "--hypermodel", spec)
    [line] = _forecast_lines(verbose, spec)
    per_second = re.compile(r"\d+/s")  # the builds' rate, from run to run
    assert per_second.sub("N/s", line) == per_second.sub("N/s", f"{spec}: {forecast['message']}")
    assert any(line.startswith(f"{spec}: the default case took ") for line in verbose.outlines)
