"""Fixtures the engine tests share."""

from __future__ import annotations

import pytest

from pytest_hypermodel.engine import defaults


@pytest.fixture
def no_memory_growth(monkeypatch: pytest.MonkeyPatch) -> None:
    """The measure of what a trial leaves behind (three more trials of the defaults case) off, for a module whose
    subject it is not (``pytestmark = pytest.mark.usefixtures("no_memory_growth")``): its own tests are
    ``plugin/test_memory.py``."""
    monkeypatch.setitem(defaults.DEFAULTS, "hypermodel_memory_growth", "0")
