"""``python -m pytest_hypermodel search SPEC --report preflight.json``: the search, gated on a green preflight.

The command line is ``search.cli``'s; nothing heavy is imported before the arguments are parsed.
"""

from __future__ import annotations

import sys

from pytest_hypermodel.search.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
