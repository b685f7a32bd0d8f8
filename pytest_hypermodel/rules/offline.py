"""No network in the probe process: a build that downloads (ImageNet weights, a dataset) is told, not blamed on a value.

A preflight must not download anything (it would be slow, flaky, and not what the search will see on
an offline GPU node), and a download failure is not a property of the hyperparameter value that
happened to trigger it. The probe process refuses every name lookup and connection; the refusal's
text travels inside whatever error the caller wraps it in (Keras's ``get_file`` raises
``Exception("URL fetch failure on <url>: None -- <our text>")``), so :func:`attempted_download`
finds it.
"""

from __future__ import annotations

import re
import socket
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


def attempted_download(text: str | None) -> str | None:
    """The URL (or the address) a blocked download tried, when ``text`` is the error of one; else None."""
    if not text or MARKER not in text:
        return None
    url = _URL.search(text)
    if url:
        return url.group(1)
    address = re.search(r"a connection to (.+?)\)", text)
    return address.group(1) if address else "the network"
