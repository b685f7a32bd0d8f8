"""A model that keeps nothing does not grow a real KerasTuner search past the limit under JAX or PyTorch, so the
preflight's green on it is the truth there (with the proofs). Not TensorFlow: its own gradient registry keeps each
traced train step (``fit._released_gradient_entries``, which the preflight's trials release), and a real search
of the getting-started model grew 5.4 MiB a trial there, steadily (784 -> 813 MiB over trials 2 to 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pytest_hypermodel.probe import fit as probe
from tests.conftest import HYPERMODELS

#: A real RandomSearch of the getting-started guide's build_model (which keeps nothing) on MNIST-shaped data, its
#: own hyperparameters at their defaults (the case whose growth the preflight measures; ``room`` makes each trial
#: a new one): the resident memory after each trial, once the session is cleared as the next trial's build clears
#: it (and no heap trimmed: the search's own process, as it runs).
SEARCH = textwrap.dedent("""
    import gc, json, sys, tempfile
    sys.path.insert(0, sys.argv[1])
    import keras, keras_tuner as kt, numpy as np
    import guides
    from pytest_hypermodel.probe.fit import rss_bytes

    samples = []

    class Recorded(kt.RandomSearch):
        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            keras.backend.clear_session()
            gc.collect()
            samples.append(rss_bytes())

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 28, 28)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 10, 32), 10)
    hp = kt.HyperParameters()
    hp.Int("room", 0, 1000)
    tuner = Recorded(
        guides.build_model, objective="loss", max_trials=12, directory=tempfile.mkdtemp(), seed=0,
        hyperparameters=hp, tune_new_entries=False,
    )
    tuner.search(x, y, epochs=3, verbose=0)
    print(json.dumps(samples))
""")


@pytest.mark.proof
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_a_search_of_a_model_that_keeps_nothing_grows_under_the_limit(backend):
    """Twelve trials of the guide's model, each a new model and so a new compiled train step: what the backend
    keeps of them (JAX's caches, the allocator's arenas) stays well under what the preflight calls growth, from
    the second trial on, as the preflight's further trials read it. JAX keeps one step more after the first trial
    (8.9 MiB on a 2-core CPU), then 0.8 MiB a trial: the step that three readings took for a leak."""
    done = subprocess.run(
        [sys.executable, "-c", SEARCH, str(HYPERMODELS)],
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    samples = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(samples) == 12
    assert probe.rss_growth(samples[1:]) < probe.MAX_GROWTH / 2
