"""``@pytest.mark.search_space`` tests with the ``hypermodel_case`` fixture, run for real."""

from __future__ import annotations

import textwrap

import pytest
from conftest import read_junit, run_here

TESTS = textwrap.dedent(
    """
    import keras_tuner
    import pytest

    from guide import failed_trial
    from outcomes import negative_units
    from realistic import downloads_for_one_value
    from pytest_hypermodel import Policy, expect

    too_large = expect(when=lambda v: v["units_1"] * v["units_2"] > 800, raises=keras_tuner.errors.FailedTrialError)

    @pytest.mark.search_space(failed_trial, strategy="corners", expect=[too_large])
    def test_small_enough(hypermodel_case):
        assert hypermodel_case.model.count_params() <= 1200
        assert hypermodel_case.hp.get("units_1") == hypermodel_case.values["units_1"]
        assert hypermodel_case.result.outcome == "ok"

    @pytest.mark.search_space(failed_trial, strategy="extremes", expect=[expect(lambda v: v["units_2"] == 30, ValueError)])
    def test_wrong_expectation(hypermodel_case):
        pass

    @pytest.mark.search_space(negative_units, strategy="extremes", policy=Policy(on={"ValueError": "fail_trial"}))
    def test_policy_declares_value_errors(hypermodel_case):
        pass

    @pytest.mark.search_space(negative_units, strategy="extremes")
    def test_undeclared_error_fails(hypermodel_case):
        pass

    @pytest.mark.search_space(downloads_for_one_value, strategy="extremes")
    def test_downloads(hypermodel_case):
        pass
    """
)


def test_marker_cases(hypermodel_dir):
    hypermodel_dir.makepyfile(test_marked_space=TESTS)
    xml = hypermodel_dir.path / "out.xml"
    result = run_here(hypermodel_dir, "-p", "no:cacheprovider", f"--junitxml={xml}", "-rxXf")
    cases = read_junit(xml)
    assert {name: c.result for name, c in cases.items()} == {
        # corners of the guide's grid: the two large ones are expected FailedTrialErrors
        "test_small_enough[defaults]": "passed",
        "test_small_enough[units_1=40-units_2=30]": "skipped",
        "test_small_enough[units_2=30]": "passed",
        "test_small_enough[units_1=40]": "skipped",
        # units_2=30 was expected to raise ValueError and did not
        "test_wrong_expectation[defaults]": "passed",
        "test_wrong_expectation[units_1=40]": "skipped",
        "test_wrong_expectation[units_2=30]": "failed",
        "test_policy_declares_value_errors[defaults]": "passed",
        "test_policy_declares_value_errors[size=-1]": "skipped",
        "test_undeclared_error_fails[defaults]": "passed",
        "test_undeclared_error_fails[size=-1]": "failed",
        # a build that downloads fails as such (nothing is downloaded from the pytest process either)
        "test_downloads[defaults]": "passed",
        "test_downloads[units=4]": "passed",
        "test_downloads[weights=imagenet]": "failed",
    }
    assert cases["test_downloads[weights=imagenet]"].properties["download"] == (
        "https://storage.googleapis.com/tensorflow/keras-applications/w.h5"
    )
    assert cases["test_small_enough[units_2=30]"].properties["outcome"] == "ok"
    result.stdout.fnmatch_lines(
        [
            "units_2=30: expected ValueError, but the case ended ok",
            "size=-1 -> ValueError: *Likely fix: size can be -1: raise min_value.",
        ]
    )
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("@pytest.mark.search_space(healthy, stratgy='corners')", "unknown argument stratgy"),
        ("@pytest.mark.search_space(healthy, policy='strict')", "policy= takes a pytest_hypermodel.Policy, not str"),
        ("@pytest.mark.search_space(healthy, strategy='all')", "unknown strategy all: use one of*"),
        ("@pytest.mark.search_space(healthy, expect=[ValueError])", "expect= takes pytest_hypermodel.expect(*"),
        ("", "the hypermodel_case fixture needs this marker on the test"),
    ],
)
def test_broken_marker_is_a_collection_error(hypermodel_dir, marker, message):
    hypermodel_dir.makepyfile(
        test_broken=f"import pytest\nfrom outcomes import healthy\n\n{marker}\ndef test_it(hypermodel_case):\n    pass\n"
    )
    result = hypermodel_dir.runpytest_inprocess("-p", "no:cacheprovider")  # a collection error: no case runs
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([f"*test_broken.py::test_it: @pytest.mark.search_space: {message}*"])
    assert "Traceback" not in result.stdout.str()


def test_marker_is_documented(pytester):
    result = run_here(pytester, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.search_space(build, [*], strategy='extremes,corners,interior'*"])
