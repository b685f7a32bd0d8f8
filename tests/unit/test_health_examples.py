"""Each health check's example in docs/reference/health-checks.md is the line of a real preflight, written and
checked by docs/make_health_examples.py, which the release checks run; here, cheaply, that every check has an
example (a new check without one fails) and what the script does with a page."""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from pytest_hypermodel.rules import health

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reference" / "health-checks.md"


@functools.cache
def _script():
    spec = importlib.util.spec_from_file_location("make_health_examples", ROOT / "docs" / "make_health_examples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_every_check_has_an_example_block_of_its_finding_lines_and_a_hypermodel_that_makes_it():
    script = _script()
    text = PAGE.read_text()
    assert re.findall(r"^<!-- example: ([a-z_]+) -->$", text, re.M) == list(script.blocks(text))  # all well-formed
    examples = script.blocks(text)
    assert sorted(examples) == sorted(health.CHECKS), "give each check in rules/health.py an example block"
    for name, block in examples.items():
        section = text.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        assert f"<!-- example: {name} -->" in section, f"{name}: its example is not under its heading"
        lines = block.strip().removeprefix("```text").removesuffix("```").strip().splitlines()
        assert lines and all(f": [{name}] " in line for line in lines), name
        assert all(line.startswith("tests/hypermodels/") for line in lines), f"{name}: not a run's line"
        assert "/tmp" not in block and str(ROOT) not in block, f"{name}: a path that differs from run to run"
    assert [e.check for e in script.EXAMPLES] == list(examples)  # one hypermodel for each, in the page's order
    for example in script.EXAMPLES:
        path, _, name = example.spec.partition(":")
        source = (ROOT / path).read_text()
        assert re.search(rf"^(def|class) {name}\b", source, re.M), example.spec
        if example.data:
            module, _, function = example.data.partition(":")
            data_source = (ROOT / "tests" / "hypermodels" / f"{module}.py").read_text()
            assert re.search(rf"^def {function}\(", data_source, re.M), example.data


def test_the_release_checks_check_the_examples():
    assert "python3 docs/make_health_examples.py --check" in (ROOT / ".ci" / "release-check").read_text()


PAGE_TEXT = """# Checks

### `a_check`

<!-- example: a_check -->

```text
old line
```

<!-- /example -->

### `b_check`

<!-- example: b_check -->

```text
m.py:b: [b_check] recorded 1.82652 as val_mae
```

<!-- /example -->
"""


def test_writing_replaces_each_block_between_its_markers_and_nothing_else():
    script = _script()
    made = script.written(PAGE_TEXT, {"a_check": ["m.py:a: [a_check] one", "m.py:a: [a_check] two"]})
    assert script.blocks(made)["a_check"] == "\n```text\nm.py:a: [a_check] one\nm.py:a: [a_check] two\n```\n\n"
    assert script.blocks(made)["b_check"] == script.blocks(PAGE_TEXT)["b_check"]
    assert made.replace("m.py:a: [a_check] one\nm.py:a: [a_check] two", "old line") == PAGE_TEXT
    assert script.written(made, {"a_check": ["m.py:a: [a_check] one", "m.py:a: [a_check] two"]}) == made
    with pytest.raises(SystemExit, match="no '<!-- example: NAME -->' block for c_check"):
        script.written(PAGE_TEXT, {"c_check": ["x"]})


def test_the_check_names_the_examples_that_differ_and_decimals_do_not_count():
    script = _script()
    same = script.written(PAGE_TEXT, {"b_check": ["m.py:b: [b_check] recorded 1.82649 as val_mae"]})
    assert script.differing(PAGE_TEXT, same) == {}  # a loss's last digits, another machine's
    changed = script.written(PAGE_TEXT, {"b_check": ["m.py:b: [b_check] recorded 1.8 as val_loss"]})
    assert list(script.differing(PAGE_TEXT, changed)) == ["b_check"]
    assert script.stable(f"m.py:b: [b_check] found ({ROOT}/tests/hypermodels/waste.py:22): fix") == (
        "m.py:b: [b_check] found (tests/hypermodels/waste.py:22): fix"
    )
