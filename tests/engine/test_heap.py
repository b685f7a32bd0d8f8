"""A preflight in the caller's process (isolation off) keeps KerasTuner's full garbage collections to what it
allocates, and leaves the caller's collector as it found it (``probe.heap``)."""

from __future__ import annotations

import gc

import keras
import pytest

from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.probe import heap
from pytest_hypermodel.space.target import Target

pytestmark = pytest.mark.usefixtures("no_memory_growth")

#: ``gc.get_freeze_count()`` at each build: the objects its full collections do not walk.
SEEN: list[int] = []


def build(hp):
    SEEN.append(gc.get_freeze_count())
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 1, 2)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def preflight(tmp_path) -> dict:
    chosen = settings.read(
        settings.MappingSource(
            {"hypermodel_isolation": "off", "hypermodel_rehearsal": "off", "hypermodel_strategy": "extremes"}
        )
    )
    with Engine(chosen, tmp_path) as engine:
        return engine.run([Target("heap", tmp_path / "heap.py", "build", build)])


@pytest.fixture
def unfrozen():
    """The worker's collector as a user's process starts: nothing frozen (a probe earlier in this worker may
    have frozen it outside an engine, which closes nothing)."""
    heap.thaw()
    assert gc.get_freeze_count() == 0
    SEEN.clear()
    yield
    gc.unfreeze()


def test_what_exists_before_the_builds_is_frozen_while_they_run_and_thawed_when_the_engine_closes(tmp_path, unfrozen):
    alive_before = len(gc.get_objects())
    payload = preflight(tmp_path)
    assert {case["outcome"] for case in payload["cases"]} == {"ok"}
    # Every build, discovery's and the cases', ran with the start-up heap (Keras, TensorFlow, this worker) frozen:
    # the two or three full collections of each build walk the preflight's own objects only.
    assert SEEN and min(SEEN) >= alive_before * 0.9
    assert gc.get_freeze_count() == 0  # what the caller lets go of later is collected as before


def test_a_freeze_the_caller_made_is_kept(tmp_path, unfrozen):
    gc.freeze()
    theirs = gc.get_freeze_count()
    preflight(tmp_path)
    # Nothing more was frozen (what was frozen can only die), and nothing thawed: the count is the caller's less
    # what of theirs was freed since.
    assert SEEN and max(SEEN) <= theirs
    assert theirs * 0.9 <= gc.get_freeze_count() <= theirs


def test_a_freeze_undone_behind_its_back_is_made_again_when_a_discovery_starts(tmp_path, unfrozen):
    """The cases only read what settle saw (``gc.get_freeze_count()`` walks every frozen object); a discovery
    looks again, so a freeze someone undid since (the search command does, as does a test's fixture) is made anew."""
    heap.settle()
    gc.unfreeze()
    preflight(tmp_path)
    assert SEEN and min(SEEN) > 0
