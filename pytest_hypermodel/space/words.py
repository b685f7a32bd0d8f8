"""Counted nouns, said right for one: ``1 case``, ``2 cases``; every layer's text counts with :func:`plural`.

In the lowest layer so that the space and the plan, the rules, the views and the faces all word a count alike.
"""

from __future__ import annotations


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 case``, ``2 cases``; ``many`` where adding an s is wrong (boundary, boundaries)."""
    return f"{count} {noun(count, one, many)}"


def noun(count: int, one: str, many: str | None = None) -> str:
    """The noun alone, for a count said elsewhere (``of its 12 configurations``): ``one`` for 1, else ``many``."""
    return one if count == 1 else (many or one + "s")
