"""No network in the probe process: a build that downloads (ImageNet weights, a dataset) is told, not blamed on a value.

A preflight must not download anything (it would be slow, flaky, and not what the search will see on
an offline GPU node), and a download failure is not a property of the hyperparameter value that
happened to trigger it. The probe process refuses every name lookup and connection for its life; a
preflight that runs the user's code in the caller's process (isolation off: a notebook, a script) refuses them
only while that code runs (:func:`blocked`), so the caller's network comes back. The refusal's text travels
inside whatever error the caller wraps it in (Keras's ``get_file`` raises
``Exception("URL fetch failure on <url>: None -- <our text>")``), so :func:`attempted_download`
finds it.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator
from typing import Any, NoReturn

#: In the text of the error a refused download raises, wherever the caller wraps it.
MARKER = "network access is blocked during a preflight"
_URL = re.compile(r"(https?://[^\s:'\"]+[^\s:'\".,)])")


class NetworkBlocked(OSError):
    """Raised by every name lookup or connection in the probe process."""


def block() -> None:
    """Refuse name lookups and connections in this process (the probe process, which runs only the user's code)."""

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        target = next((str(a) for a in args if isinstance(a, (str, tuple))), "")
        raise NetworkBlocked(f"{MARKER} (pytest-hypermodel refused a connection to {target})")

    socket.getaddrinfo = refuse
    socket.create_connection = refuse
    # setattr: mypy refuses an assignment to a method
    setattr(socket.socket, "connect", lambda self, address: refuse(address))  # noqa: B010
    setattr(socket.socket, "connect_ex", lambda self, address: refuse(address))  # noqa: B010


#: What :func:`block` replaces.
_BLOCKED = (
    (socket, "getaddrinfo"),
    (socket, "create_connection"),
    (socket.socket, "connect"),
    (socket.socket, "connect_ex"),
)
#: Those as the socket module had them before the outermost :func:`blocked` (``_INHERITED``: not its own).
_ORIGINALS: list[tuple[Any, str, Any]] = []
_INHERITED = object()
#: How many :func:`blocked` are open: the block is lifted when the outermost one ends.
_depth = 0


@contextlib.contextmanager
def blocked() -> Iterator[None]:
    """Refuse name lookups and connections in this process while the block lasts, then put them back (re-entrant):
    the user's code running in the caller's process downloads nothing, and the caller's network comes back."""
    global _depth
    if _depth == 0:
        _ORIGINALS[:] = [(owner, name, vars(owner).get(name, _INHERITED)) for owner, name in _BLOCKED]
        block()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            for owner, name, original in _ORIGINALS:
                if original is _INHERITED:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
            _ORIGINALS.clear()


def attempted_download(text: str | None) -> str | None:
    """The URL (or the address) a blocked download tried, when ``text`` is the error of one; else None."""
    if not text or MARKER not in text:
        return None
    url = _URL.search(text)
    if url:
        return url.group(1)
    address = re.search(r"a connection to (.+?)\)", text)
    return address.group(1) if address else "the network"
