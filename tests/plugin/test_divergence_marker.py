"""A test over the space (the marker) judges a divergence against where the default case started, as --hypermodel
does, with its default case deselected too."""

from __future__ import annotations

import textwrap

import pytest
from conftest import read_junit, run_here
from hypermodels.runtime_errors import SEED_VERDICTS

MARKED = textwrap.dedent(
    """
    import pytest

    from runtime_errors import learning_rate_instability

    @pytest.mark.search_space(build=learning_rate_instability)
    def test_space(hypermodel_case):
        pass
    """
)


@pytest.mark.parametrize("selected", [[], ["-k", "not defaults"]], ids=["all", "without-the-default"])
def test_the_marker_judges_a_divergence_against_the_default_too(hypermodel_dir, selected):
    """A test over the space gets the verdicts of --hypermodel; with its default case deselected, the default is
    probed for its reference all the same."""
    hypermodel_dir.makepyfile(test_marked_space=MARKED)
    xml = hypermodel_dir.path / "out.xml"
    run_here(hypermodel_dir, "-p", "no:cacheprovider", f"--junitxml={xml}", *selected)
    cases = {name.partition("[")[2].rstrip("]"): case for name, case in read_junit(xml).items()}
    expected = {name: outcome for name, outcome in SEED_VERDICTS.items() if not selected or name != "defaults"}
    assert {name: case.properties["outcome"] for name, case in cases.items()} == expected
    assert all("reference_loss" in case.properties for name, case in cases.items() if name != "defaults")
