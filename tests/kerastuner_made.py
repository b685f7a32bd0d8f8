"""What a real KerasTuner search or project leaves, made by KerasTuner itself: shared by the engine tests, the
plugin tests and the proofs that compare the preflight with it."""

from __future__ import annotations

import json
from pathlib import Path

import keras_tuner as kt


def real_aborts(build, x, y, seeds, directory) -> list[int]:
    """The seeds at which a real RandomSearch (max_trials=10, the default policy) aborts."""
    aborted = []
    for seed in seeds:
        tuner = kt.RandomSearch(
            build, objective="loss", max_trials=10, seed=seed, directory=directory, project_name=f"seed{seed}"
        )
        try:
            tuner.search(x, y, epochs=1, verbose=0)
        except RuntimeError as exc:
            assert "consecutive failures" in str(exc)
            aborted.append(seed)
    return aborted


def saved_oracle(project_dir: Path, hp: kt.HyperParameters) -> Path:
    """An ``oracle.json`` as KerasTuner saves it, its space from KerasTuner's own config, beside the tuner file that
    makes a tuner reload the project."""
    project_dir.mkdir(parents=True)
    (project_dir / "tuner0.json").write_text("{}")
    path = project_dir / "oracle.json"
    path.write_text(
        json.dumps(
            {
                "ongoing_trials": {},
                "hyperparameters": hp.get_config(),
                "start_order": ["0"],
                "end_order": ["0"],
                "run_times": {"0": 1},
                "retry_queue": [],
                "seed": 1,
            }
        )
    )
    return path
