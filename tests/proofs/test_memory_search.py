"""A real KerasTuner search's memory grows as the preflight measures (with the proofs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pytest_hypermodel.probe import fit as probe
from tests.conftest import HYPERMODELS
from tests.hypermodels.memory import KEPT_BYTES

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
    keeps at every trial (25.6 MiB on a 2-core CPU, TensorFlow), the clean one's under the limit: by what KerasTuner
    and TensorFlow keep of each trial, 0.6 MiB here and 2.4 MiB once on CI (stop 39), so the limit is the bar."""
    done = subprocess.run(
        [sys.executable, "-c", SEARCH, name, str(HYPERMODELS)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    samples = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(samples) == 6
    growth = probe.rss_growth(samples[1:])  # the first trial warms up, as in the preflight
    if name == "clean":
        assert growth < probe.MAX_GROWTH
    else:
        assert growth > 0.8 * KEPT_BYTES > probe.MAX_GROWTH
