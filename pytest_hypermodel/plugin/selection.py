"""What pytest's command line selects: the hypermodel files its paths name, and ``-k`` expressions that name a
case's values (``units=8``), which pytest's grammar cannot read as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

#: ``units=8`` in a -k expression: pytest's grammar has no ``=``, so it reads ``units:8``, a keyword of each case.
_VALUE = re.compile(r"(?<=[\w\]])=(?=[\w.+-])")


def keyword_values(expression: str) -> str:
    """``-k "cnn and conv_blocks=5"`` as pytest can parse it: each ``name=value`` as the keyword ``name:value``."""
    return _VALUE.sub(":", expression)


def named(spec: str, config: pytest.Config, base: Path | None) -> bool:
    """Whether the command line's paths name the file of ``spec`` (it, or a directory above it)."""
    from pytest_hypermodel.space import target as target_mod

    try:
        found = target_mod.locate(spec, config.rootpath, (config.rootpath / "conftest.py").is_file(), base)
    except target_mod.SpecError:
        return True  # told at start-up, as a SPEC on the command line is
    return found.path is not None and given(config, found.path)


def given(config: pytest.Config, path: Path) -> bool:
    """Whether a path on the command line (or a node id in it) is ``path`` or a directory above it."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False
    start = config.invocation_params.dir
    for arg in config.args:
        named_path = Path(arg.split("::")[0])
        named_path = (named_path if named_path.is_absolute() else start / named_path).resolve()
        if named_path == path or named_path in path.parents:
            return True
    return False
