"""Full garbage collections kept to what a preflight allocates.

Keras's ``clear_session()`` and KerasTuner's ``_try_build`` each run ``gc.collect()``: two or three full
collections a build, each of which walks every object the collector tracks. TensorFlow alone leaves about 400,000
at import; a process that lives long (a pytest worker running preflights with isolation off, a notebook) holds far
more, and more each hour. What exists before a preflight's first build is frozen (``gc.freeze``) out of their
reach, as the ``search`` command freezes before its trials; the engine unfreezes it when it closes, so what the
caller lets go of afterwards is collected as before. The freeze itself collects the young generations only (a full
collection is the cost it saves): garbage already old is held until the thaw, and the next full collection after it
frees it (24 preflights in one process: the same resident memory either way).
"""

from __future__ import annotations

import gc

#: Who froze what is frozen now: ``"ours"`` (:func:`settle`, and :func:`thaw`'s to unfreeze), ``"theirs"`` (the
#: caller, or the warm process a probe process was forked from), None before :func:`settle` looked. Kept here, as
#: ``gc.get_freeze_count()`` walks every frozen object (a few milliseconds a case).
_frozen_by: str | None = None


def settle(recheck: bool = False) -> None:
    """Freeze what exists now, before a preflight step's builds (discovery, a case, the rehearsal): once, until
    :func:`thaw`. A freeze the caller made is kept as it is. ``recheck``: look at the freeze again (at the start of
    discovery and of the rehearsal), in case someone unfroze it since; each case only reads what was seen."""
    global _frozen_by
    if _frozen_by is not None and not recheck:
        return
    if gc.get_freeze_count():
        _frozen_by = _frozen_by or "theirs"
        return
    import keras  # noqa: F401  (its backend's objects are most of what is frozen)

    gc.collect(1)  # the young: what a full collection would find in the old is frozen until :func:`thaw`
    gc.freeze()
    _frozen_by = "ours"


def thaw() -> None:
    """Unfreeze what :func:`settle` froze (when the engine closes): the caller's own freeze stays."""
    global _frozen_by
    if _frozen_by == "ours":
        gc.unfreeze()
    _frozen_by = None
