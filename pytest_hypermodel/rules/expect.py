"""Expectations a test author declares on a ``search_space`` marker.

Kept free of Keras: ``from pytest_hypermodel import expect`` in a test module
must not import a backend before the plugin decides it needs one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_hypermodel.rules import outcomes


@dataclass(frozen=True)
class Expectation:
    """Cases whose values satisfy ``when`` must fail with ``raises`` (an exception class or an outcome name)."""

    when: Callable[[Mapping[str, Any]], bool]
    raises: type[BaseException] | str
    reason: str = ""

    def applies(self, values: Mapping[str, Any]) -> bool:
        return bool(self.when(values))

    def describe(self) -> str:
        what = self.raises if isinstance(self.raises, str) else self.raises.__name__
        return f"{what}" + (f" ({self.reason})" if self.reason else "")

    def met_by(self, result: outcomes.Probed) -> bool:
        if isinstance(self.raises, str):
            return result.outcome == self.raises
        return self.raises.__name__ in (result.exception_bases or [])


def expect(
    when: Callable[[Mapping[str, Any]], bool],
    raises: type[BaseException] | str,
    reason: str = "",
) -> Expectation:
    """Declare that cases matching ``when(values)`` fail with ``raises``.

    ``raises`` is an exception class (matched along the raised exception's
    bases) or an outcome name: ``nan``, ``diverged``, ``oom``, ``timeout``...
    """
    if not callable(when):
        raise TypeError(f"expect(when=...) takes a callable of the case's values, not {type(when).__name__}")
    if isinstance(raises, str):
        if raises not in outcomes.ALL or raises == outcomes.OK:
            raise ValueError(
                f"expect(raises={raises!r}): use an exception class or one of {', '.join(outcomes.ALL[1:])}"
            )
    elif not (isinstance(raises, type) and issubclass(raises, BaseException)):
        raise TypeError(f"expect(raises=...) takes an exception class or an outcome name, not {raises!r}")
    return Expectation(when, raises, reason)
