"""Memory a trial leaves behind (issue 22, item 6): the default case's further trials measure it, and a build
that keeps every model it makes fails the preflight, as it would kill a real search hours in."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap

import pytest

from pytest_hypermodel.rules import outcomes
from pytest_hypermodel.probe import fit as probe
from pytest_hypermodel.rules import verdict as report
from tests.conftest import HYPERMODELS, failed_line, run_preflight
from tests.hypermodels.memory import KEPT_BYTES, keeps_every_model

MIB = 2**20


def test_the_growth_is_the_median_slope_so_an_allocator_giving_memory_back_once_does_not_move_it():
    assert probe.rss_growth([100 * MIB, 125 * MIB, 150 * MIB]) == 25 * MIB
    # A clean model: malloc trims 1.8 MiB once, then the arena grows back.
    assert abs(probe.rss_growth([700 * MIB, 698.2 * MIB, 699.9 * MIB])) < 0.1 * MIB
    assert probe.rss_growth([10, 12]) == 2


def test_a_build_that_keeps_every_model_fails_its_default_case_and_a_clean_one_passes(hypermodel_dir, monkeypatch):
    """A real pytest run of the plugin, both hypermodels in one probe process; the boundaries are on, and find
    nothing to bisect in a growth that no value of the space causes. Under GitHub Actions it is an error at the
    build's ``def`` line, and no value is named to constrain."""
    summary = hypermodel_dir.path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    path = hypermodel_dir.path / "preflight.json"
    result, cases = run_preflight(hypermodel_dir, "--hypermodel", "memory.py:clean", "--hypermodel",
                                  "memory.py:keeps_every_model", "--hypermodel-report", str(path),
                                  "--hypermodel-boundaries=on", "--hypermodel-memory-growth=4MiB")
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
    result.stdout.fnmatch_lines([failed_line("memory.py::keeps_every_model[[]defaults[]]",
                                             "defaults: size=1 -> memory*")])
    assert "searching the boundaries" not in result.stdout.str()
    line = inspect.getsourcelines(keeps_every_model)[1]
    result.stdout.fnmatch_lines([f"::error file=memory.py,line={line},title=memory.py%3Akeeps_every_model%3A memory "
                                 "grows from trial to trial::memory.py:keeps_every_model: defaults: size=1 -> memory "
                                 "grows*"])
    assert "To constrain" not in summary.read_text()
    assert "complete it (1 run), memory grows each trial" in summary.read_text()
    data = json.loads(path.read_text())
    growth = {h["spec"]: h["rss_growth_bytes"] for h in data["hypermodels"]}
    assert growth["memory.py:keeps_every_model"] > 0.8 * KEPT_BYTES
    assert abs(growth["memory.py:clean"]) < probe.MAX_GROWTH / 4
    assert not any(h.get("boundaries") or h.get("defaults_moved") for h in data["hypermodels"])
    assert not any(f["fails_run"] for f in data["forecasts"])


def test_the_message_names_the_causes_and_what_kerastuner_does():
    from pytest_hypermodel.space.plan import Case
    from pytest_hypermodel.rules.policy import Policy
    from pytest_hypermodel.space.hyperparameters import SearchSpace

    result = probe.Result("defaults", "default", {}, outcome=outcomes.MEMORY_GROWTH, rss_growth_bytes=25 * MIB,
                          message="the process kept 25.0 MiB more after each trial of the defaults")
    policy = Policy()
    text = report.failure_message(Case("defaults", "default", {}), result, policy.disposition(result), policy,
                                  SearchSpace((), {"space": []}))
    assert "memory grows from trial to trial" in text and "hours in" in text
    assert "keras.backend.clear_session()" in text and "callback" in text


#: A real KerasTuner search over a hypermodel of tests/hypermodels/memory.py (given room for many trials): the
#: resident memory after each trial, once the session is cleared as the next trial's build clears it.
SEARCH = textwrap.dedent("""
    import gc, json, os, sys, tempfile
    sys.path.insert(0, sys.argv[2])
    import keras, keras_tuner as kt, numpy as np
    import memory
    from pytest_hypermodel.probe.fit import rss_bytes

    samples, build = [], getattr(memory, sys.argv[1])

    def roomy(hp):
        hp.Int("room", 0, 1000)
        return build(hp)

    class Recorded(kt.RandomSearch):
        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            keras.backend.clear_session()
            gc.collect()
            samples.append(rss_bytes())

    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    tuner = Recorded(roomy, objective="loss", max_trials=6, directory=tempfile.mkdtemp(), seed=0)
    tuner.search(x, x[:, :1], epochs=3, verbose=0)
    print(json.dumps(samples))
""")


@pytest.mark.proof
@pytest.mark.parametrize("name", ["clean", "keeps_every_model"])
def test_kerastuner_search_grows_as_the_preflight_measures(name):
    """What the preflight flags is what a real RandomSearch does: the leaking build's process grows by about what it
    keeps at every trial (25.6 MiB on a 2-core CPU, TensorFlow), the clean one's by far less than the limit."""
    done = subprocess.run([sys.executable, "-c", SEARCH, name, str(HYPERMODELS)], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    samples = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(samples) == 6
    growth = probe.rss_growth(samples[1:])  # the first trial warms up, as in the preflight
    if name == "clean":
        assert growth < probe.MAX_GROWTH / 2
    else:
        assert growth > 0.8 * KEPT_BYTES > probe.MAX_GROWTH
