"""The SPEC forms of --hypermodel, and the one-line usage errors for bad ones."""

from __future__ import annotations

import textwrap

import pytest
from conftest import run_here, run_preflight

CONFTEST_MODEL = textwrap.dedent(
    """
    import keras

    def conftest_model(hp):
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(hp.Int("width", 1, 2))])
        model.compile(loss="mse")
        return model
    """
)


def test_every_spec_form(hypermodel_dir):
    package = hypermodel_dir.mkpydir("zoo")
    (package / "tabular.py").write_text((hypermodel_dir.path / "outcomes.py").read_text())
    hypermodel_dir.makeconftest(CONFTEST_MODEL)
    result, cases = run_preflight(
        hypermodel_dir,
        "--hypermodel",
        "zoo.tabular:healthy",  # package.module:name
        "--hypermodel",
        "conftest_model",  # a bare name from the rootdir's conftest.py
        "--hypermodel",
        "specs.py:tuned_fit",  # a HyperModel instance
        "--hypermodel",
        "specs.py:TunedFit",  # a HyperModel subclass
        "--hypermodel-max-abort-risk",
        "1",  # half of tuned_fit's cases are declared failures
    )
    assert set(cases) == {
        "healthy[defaults]",
        "healthy[size=2]",
        "conftest_model[defaults]",
        "conftest_model[width=2]",
        "tuned_fit[defaults]",
        "tuned_fit[units=4]",
        "tuned_fit[batch_size=0]",
        "tuned_fit[units=4-batch_size=0]",
        "TunedFit[defaults]",
        "TunedFit[units=4]",
        "TunedFit[batch_size=0]",
        "TunedFit[units=4-batch_size=0]",
    }
    # batch_size only exists inside the HyperModel's own fit(): it was used, and its failure declared.
    assert cases["tuned_fit[batch_size=0]"].properties["outcome"] == "failed_trial"
    assert cases["tuned_fit[batch_size=0]"].result == "skipped"
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*8 passed, 4 xfailed*"])


#: The bad specs whose usage error comes back from a real probe process (as a user's run has it), not this one's.
THROUGH_THE_PROBE_PROCESS = {"specs.py:nothing"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("missing.py:build", "--hypermodel missing.py:build: no file *missing.py; give a path relative to*"),
        (
            "specs.py:nothing",
            "--hypermodel specs.py:nothing: specs.py defines no 'nothing' (hypermodels there: *tuned_fit*)",
        ),
        ("specs.py:not_callable", "--hypermodel specs.py:not_callable: int object is not callable; point the SPEC at*"),
        (
            "specs.py:two_arguments",
            "*the build function must take exactly one argument, hp; it is two_arguments(hp, width)*",
        ),
        (
            "specs.py:NeedsArguments",
            "*NeedsArguments() raised TypeError (*); it needs constructor arguments: create an instance*",
        ),
        (
            "keras_tuner.applications:HyperResNet",
            "*HyperResNet() raised ValueError (*classes*); it needs constructor arguments*",
        ),
        ("os:system", "--hypermodel os:system: system is a built-in function, not a build function*"),
        ("specs.py:zero_step", "*hp.Int('units', step=0): the step must be more than 0; give a positive step*"),
        (
            "specs.py:min_above_max",
            "*hp.Int('units', min_value=50, max_value=10): min_value is greater than max_value; swap them*",
        ),
        ("specs.py", "--hypermodel specs.py: add ':name' naming the build function (hypermodels there: *)"),
        ("nosuchpackage.mod:build", "--hypermodel nosuchpackage.mod:build: no module named 'nosuchpackage'*"),
        (
            "not_in_conftest",
            "--hypermodel not_in_conftest: a bare name must be defined in *conftest.py, which does not exist*",
        ),
    ],
)
def test_bad_spec_is_a_usage_error(hypermodel_dir, spec, message):
    # Stops at start-up, in this process: most of these import the module or discover its space, which runs here
    # too (isolation off: no probe process to start, no backend to import); one comes back from the probe process.
    args = ("-p", "no:cacheprovider", "--hypermodel", spec)
    if spec in THROUGH_THE_PROBE_PROCESS:
        result = hypermodel_dir.runpytest_inprocess(*args)
    else:
        result = run_here(hypermodel_dir, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1


def test_a_mistyped_spec_is_told_before_any_worker_or_backend_starts(hypermodel_dir):
    """Its form and its file need no import: under -n 2 no worker is started for it."""
    for spec, message in [
        ("missing.py:build", "no file *missing.py"),
        ("specs.py:2build", "'2build' is not a Python name"),
        ("bare", "a bare name must be defined in *conftest.py"),
    ]:
        result = run_here(hypermodel_dir, "-p", "no:cacheprovider", "-n", "2", "--hypermodel", spec)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"ERROR: --hypermodel {spec}: {message}*"])
        assert "bringing up nodes" not in result.stdout.str() and "created:" not in result.stdout.str()
