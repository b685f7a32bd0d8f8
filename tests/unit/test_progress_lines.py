"""Progress lines: brief progress keeps only the ends of each step."""

from __future__ import annotations

from pytest_hypermodel.engine.progress import Progress


def test_brief_progress_keeps_only_the_ends():
    lines: list[str] = []
    for brief in (False, True):
        say = Progress(lines.append, brief)
        say.start("a")
        say.step("b")
        say.total("c")
        say.done("d")
    assert lines == ["hypermodel: a", "hypermodel: b", "hypermodel: d", "hypermodel: c", "hypermodel: d"]
