"""Discovery plans the space a tuner's trials start from: its own hyperparameters over the build's declarations.

The real searches of the same tuners, beside their preflights: tests/proofs/test_tailored_searches.py.
"""

from __future__ import annotations

import pytest

from pytest_hypermodel.probe.discovery import discover
from tests.hypermodels.tailored import blocks_fixed, blocks_widened, filters_only

pytestmark = pytest.mark.usefixtures("frozen_heap")


def _planned(space) -> dict:
    return {p.name: (p.kind, p.levels) for p in space.params}


def test_the_tuner_s_definitions_win_and_with_tune_new_entries_off_the_rest_keep_their_defaults(tmp_path):
    fixed, only, widened = (make(str(tmp_path)) for make in (blocks_fixed, filters_only, blocks_widened))
    assert _planned(discover(fixed.hypermodel, oracle=fixed.oracle))["conv_blocks"] == ("fixed", (2,))
    assert _planned(discover(only.hypermodel, oracle=only.oracle)) == {
        "filters": ("int", (4, 16)),
        "conv_blocks": ("fixed", (2,)),
        "learning_rate": ("fixed", (1e-4,)),
    }
    assert _planned(discover(widened.hypermodel, oracle=widened.oracle))["conv_blocks"] == ("int", (1, 6))
    # without a tuner: the build's own declarations
    assert _planned(discover(fixed.hypermodel))["conv_blocks"] == ("int", (1, 6))
