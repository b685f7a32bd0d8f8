"""Progress lines of the long steps that run outside any test: discovery, the boundaries, the repair's verification.

Each event is one whole line, written through whatever the face gives it (pytest's terminal writer, stderr): no
carriage return and no partial line, so that a CI log reads as a terminal does. Every step says when it starts and
ends, the end with its counts and seconds; ``brief`` (pytest's ``-q``) keeps only the ends, and of discovery only
its total. No pytest here: the engine and ``refine`` call it, whichever face drives them.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_hypermodel.space.words import plural

__all__ = ["PREFIX", "Progress", "plural", "seconds", "silent"]

PREFIX = "hypermodel: "


class Progress:
    """Writes progress lines through ``write`` (one whole line a call); ``brief``: only the ends of the steps."""

    def __init__(self, write: Callable[[str], None], brief: bool = False) -> None:
        self.write = write
        self.brief = brief

    def start(self, text: str) -> None:
        """A step begins (not under ``brief``)."""
        if not self.brief:
            self.write(PREFIX + text)

    def step(self, text: str) -> None:
        """One part of a step ended, e.g. one hypermodel discovered (not under ``brief``, which gets the total)."""
        if not self.brief:
            self.write(PREFIX + text)

    def total(self, text: str) -> None:
        """The total of a step whose parts were told one by one: only under ``brief``."""
        if self.brief:
            self.write(PREFIX + text)

    def done(self, text: str) -> None:
        """A step ended: its counts and seconds, in every form."""
        self.write(PREFIX + text)


def silent() -> Progress:
    """Progress that goes nowhere: an engine with no face to write to."""
    return Progress(lambda line: None)


def seconds(value: float) -> str:
    return f"{value:.1f} s"
