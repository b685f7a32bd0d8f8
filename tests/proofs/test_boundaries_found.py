"""The boundaries and repairs a real preflight finds on six spaces whose true boundary is known by construction, and
KerasTuner searching the repaired spaces (minutes: with the proofs)."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HYPERMODELS, once_per_run, read_junit

from pytest_hypermodel.rules import repair

sys.path.insert(0, str(HYPERMODELS))
import guide
import realistic
import thresholds

#: One xdist worker runs this module (with ``--dist loadgroup``, pyproject.toml): its tests share one real run
#: (``once_per_run``), which another worker would otherwise sit waiting for.
pytestmark = pytest.mark.xdist_group("boundaries")

SPECS = [
    "thresholds.py:layer_size",
    "thresholds.py:nan_above_lr",
    "realistic.py:conv_stack",
    "guide.py:failed_trial",
    "thresholds.py:zero_units_default",
    "thresholds.py:failing_default_choice",
]


# ----------------------------------------------------------------------------------- the real plugin, end to end


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    """One real preflight of the four spaces, boundaries on: the JSON report, the JUnit file, the output."""
    done = once_per_run(tmp_path_factory, "boundaries", _preflight)
    return {**done, "where": Path(done["where"]), "models": {h["spec"]: h for h in done["report"]["hypermodels"]}}


def _preflight(where: Path) -> dict:
    for source in HYPERMODELS.glob("*.py"):
        shutil.copy(source, where / source.name)
    # One process (xdist's controller runs the boundaries too: the data-fixture test below is its run).
    # Time enough on a loaded machine: the probes (64 at most) decide, not the clock.
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--hypermodel-boundaries=on",
        "--hypermodel-boundaries-seconds=600",
        "--hypermodel-epochs=1",
        "--hypermodel-report=r.json",
        "--junitxml=r.xml",
        "--hypermodel-memory-growth=0",
        "--hypermodel-rehearsal=off",
    ]  # the memory per trial is test_memory's; the rehearsal of the search, test_rehearsal_searches's
    for spec in SPECS:
        args += ["--hypermodel", spec]
    done = subprocess.run(args, cwd=where, capture_output=True, text=True, timeout=540)
    return {
        "where": str(where),
        "out": done.stdout,
        "ret": done.returncode,
        "report": json.loads((where / "r.json").read_text()),
    }


def _bounds(model: dict) -> dict:
    return {
        tuple(sorted(b["given"].items())): (b["hyperparameter"], b["last_ok"], b["first_failing"])
        for b in model["boundaries"]
    }


@pytest.mark.proof  # the module's real run of six spaces: minutes, after the default suite
def test_a_layer_size_threshold_is_found_exactly_and_its_repair_is_green(run):
    model = run["models"]["thresholds.py:layer_size"]
    assert _bounds(model) == {(): ("units", thresholds.UNITS_LIMIT, thresholds.UNITS_LIMIT + 8)}
    fixed = model["repair"]
    assert fixed["changes"] == [{"hyperparameter": "units", "kind": "max_value", "old": 64, "new": 40}]
    assert fixed["verified"] is True and fixed["cases"] >= 3 and fixed["still_failing"] == []
    line = model["declarations"]["units"]["line"]
    assert 'hp.Int("units", 8, 64, step=8)' in (run["where"] / "thresholds.py").read_text().splitlines()[line - 1]
    assert fixed["diff"].startswith("--- a/thresholds.py\n+++ b/thresholds.py\n")
    assert '-    units = hp.Int("units", 8, 64, step=8)\n+    units = hp.Int("units", 8, 40, step=8)\n' in fixed["diff"]


@pytest.mark.proof  # the module's real run of six spaces: minutes, after the default suite
def test_a_learning_rate_above_which_the_loss_is_nan(run):
    model = run["models"]["thresholds.py:nan_above_lr"]
    ((name, ok, bad),) = _bounds(model).values()
    assert name == "lr" and ok <= thresholds.LR_LIMIT < bad and math.log(bad / ok) <= math.log(1e4) / 128 + 1e-9
    assert model["repair"]["verified"] is True
    (change,) = model["repair"]["changes"]
    assert change["kind"] == "max_value" and change["new"] <= ok


@pytest.mark.proof  # the module's real run of six spaces: minutes, after the default suite
def test_the_conv_stack_boundaries_match_its_arithmetic_and_the_repair_is_green(run):
    model = run["models"]["realistic.py:conv_stack"]
    expected = {}
    for kernel in (3, 5, 7):
        last = max(b for b in range(1, 5) if not realistic.conv_stack_fails({"conv_blocks": b, "kernel_size": kernel}))
        expected[() if kernel == 3 else (("kernel_size", kernel),)] = ("conv_blocks", last, last + 1)
    assert _bounds(model) == expected
    assert model["repair"]["changes"] == [{"hyperparameter": "conv_blocks", "kind": "max_value", "old": 4, "new": 2}]
    assert model["repair"]["verified"] is True


@pytest.mark.proof  # the module's real run of six spaces: minutes, after the default suite
def test_the_guide_grid_reports_its_frontier_and_a_repair_kerastuner_completes(run, tmp_path):
    import keras_tuner as kt
    import numpy as np

    model = run["models"]["guide.py:failed_trial"]
    frontier = {b["given"]["units_2"]: b["last_ok"] for b in model["boundaries"] if "units_2" in b["given"]}
    assert frontier == {10: 30, 20: 20, 30: 20}
    assert model["repair"]["verified"] is True
    changes = tuple(
        repair.Change(c["hyperparameter"], c["kind"], c["old"], c["new"]) for c in model["repair"]["changes"]
    )
    x, y = np.zeros((8, 20), "float32"), np.zeros((8, 1), "float32")

    def search(hypermodel, name):
        tuner = kt.GridSearch(
            hypermodel,
            objective="loss",
            directory=tmp_path,
            project_name=name,
            overwrite=True,
            max_consecutive_failed_trials=100,
        )
        tuner.search(x, y, epochs=1, verbose=0)
        return {
            (t.hyperparameters.values["units_1"], t.hyperparameters.values["units_2"]): t.status
            for t in tuner.oracle.trials.values()
        }

    from keras_tuner.src.engine.hypermodel import DefaultHyperModel

    # KerasTuner itself, on the original grid: FAILED exactly beyond the frontier the preflight reported.
    original = search(DefaultHyperModel(guide.failed_trial), "original")
    assert {k for k, status in original.items() if status == "FAILED"} == {
        (u1, u2) for (u1, u2) in original if u1 > frontier[u2]
    }
    # And on the repaired grid: every trial completes.
    repaired = search(repair.repaired(DefaultHyperModel(guide.failed_trial), changes), "repaired")
    assert len(repaired) == 6 and set(repaired.values()) == {"COMPLETED"}
    # The narrower alternative keeps units_1=30 where it passes: KerasTuner fails exactly the guarded trials.
    narrower = model["repair"]["alternative"]
    assert narrower["verified"] is True and narrower["still_failing"] == []
    guard = next(c for c in narrower["changes"] if c["kind"] == "guard")
    assert (guard["partner"], guard["fails"], guard["limits"]) == ("units_2", "above", [[10, 30], [20, 20], [30, 20]])
    alternative = (
        repair.Change("units_1", "max_value", 40, 30),
        repair.Change("units_1", "guard", "units_2", (True, tuple(map(tuple, guard["limits"])))),
    )
    guarded = search(repair.repaired(DefaultHyperModel(guide.failed_trial), alternative), "narrower")
    assert len(guarded) == 9
    assert {k for k, status in guarded.items() if status == "FAILED"} == {(30, 20), (30, 30)}
    assert {k for k, status in guarded.items() if status == "COMPLETED"} == {
        (u1, u2) for (u1, u2) in guarded if u1 <= frontier[u2]
    }
    # Its diff: the cut, and the guard after the later declaration, at its indentation.
    assert '+        units_1 = hp.Int("units_1", 10, 30, step=10)' in narrower["diff"]
    assert (
        '         units_2 = hp.Int("units_2", 10, 30, step=10)\n'
        '+        if hp.get("units_1") > {10: 30, 20: 20, 30: 20}[hp.get("units_2")]:'
    ) in narrower["diff"]


@pytest.mark.proof  # the module's real run of six spaces: minutes, after the default suite
def test_failing_defaults_get_a_repair_kerastuner_searches(run, tmp_path):
    """Defaults that fail (units=0; a Choice's first value), and the repair moves the bound and the
    declared default to the first working value, or removes the value. KerasTuner's constructor raises on the
    original (it builds the defaults) and searches the repaired file to the end."""
    import importlib.util

    import keras_tuner as kt
    import numpy as np

    units = run["models"]["thresholds.py:zero_units_default"]
    assert _bounds(units) == {(): ("units", 16, 0)}
    assert units["repair"]["changes"] == [{"hyperparameter": "units", "kind": "min_value", "old": 0, "new": 16}]
    assert units["repair"]["verified"] is True and units["repair"]["unplaced"] == []
    assert '+        layers.Dense(hp.Int("units", 16, 64, step=16, default=16), activation=' in units["repair"]["diff"]
    choice = run["models"]["thresholds.py:failing_default_choice"]
    assert choice["repair"]["changes"][0]["new"] == ["relu", "tanh"] and choice["repair"]["verified"] is True
    assert "  the defaults fail; units=64 passes with the rest at defaults, so the search started there" in run["out"]
    assert units["defaults_moved"] == {"hyperparameter": "units", "failing": 0, "passing": 64}
    import xml.etree.ElementTree as ET

    suite = ET.parse(run["where"] / "r.xml").getroot().find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert (
        props["defaults[thresholds.py:zero_units_default]"]
        == "units=0 fails; units=64 passes with the rest at defaults"
    )

    source = (HYPERMODELS / "thresholds.py").read_text()
    fixed = _apply(_apply(source, units["repair"]["diff"]), choice["repair"]["diff"])
    (tmp_path / "fixed_thresholds.py").write_text(fixed)
    spec = importlib.util.spec_from_file_location("fixed_thresholds", tmp_path / "fixed_thresholds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x, y = np.zeros((8, 4), "float32"), np.zeros((8, 1), "float32")
    for name in ("zero_units_default", "failing_default_choice"):
        with pytest.raises(ValueError):
            kt.RandomSearch(
                getattr(thresholds, name),
                objective="loss",
                max_trials=4,
                directory=tmp_path,
                project_name=f"original_{name}",
            )
        tuner = kt.RandomSearch(
            getattr(module, name),
            objective="loss",
            max_trials=4,
            directory=tmp_path,
            project_name=f"fixed_{name}",
            seed=1,
        )
        tuner.search(x, y, epochs=1, verbose=0)
        assert [t.status for t in tuner.oracle.trials.values()] == ["COMPLETED"] * 4


def _apply(source: str, diff: str) -> str:
    """A unified diff of one file, applied to its text (each hunk's context checked)."""
    old, lines = source.splitlines(keepends=True), diff.splitlines(keepends=True)
    out, at, i = [], 0, 0
    while i < len(lines):
        hunk = re.match(r"@@ -(\d+)", lines[i])
        i += 1
        if not hunk:
            continue
        start = int(hunk.group(1)) - 1
        out, at = out + old[at:start], start
        while i < len(lines) and not lines[i].startswith("@@"):
            tag, text = lines[i][0], lines[i][1:]
            if tag in " -":
                assert old[at] == text, (old[at], text)
                at += 1
            if tag in " +":
                out.append(text)
            i += 1
    return "".join(out + old[at:])


@pytest.mark.proof  # the module's real run of six spaces: minutes, after the default suite
def test_the_narrower_repairs_diff_applied_is_green_with_the_guarded_trials_failed(run, tmp_path):
    """What is verified is the guard where the diff puts it: applied by hand, the preflight agrees."""
    for source in HYPERMODELS.glob("*.py"):
        shutil.copy(source, tmp_path / source.name)
    expected = {}
    for spec in ("realistic.py:conv_stack", "guide.py:failed_trial"):
        narrower = run["models"][spec]["repair"]["alternative"]
        path = tmp_path / spec.partition(":")[0]
        path.write_text(_apply(path.read_text(), narrower["diff"]))
        expected[spec] = narrower["guarded"]
    assert expected == {"realistic.py:conv_stack": 5, "guide.py:failed_trial": 2}  # the guarded cases of each plan
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--hypermodel-boundaries=off",
        "--hypermodel-rehearsal=off",  # the cases' outcomes are the subject, not the search's rehearsal
        "--hypermodel-epochs=1",
        "--hypermodel-report=r.json",
        "--hypermodel",
        "realistic.py:conv_stack",
        "--hypermodel",
        "guide.py:failed_trial",
    ]
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stdout[-3000:]
    cases = json.loads((tmp_path / "r.json").read_text())["cases"]
    for spec, guarded in expected.items():
        outcomes = [(c["outcome"], c["test_outcome"]) for c in cases if c["case.spec"] == spec]
        assert outcomes.count(("failed_trial", "xfailed")) == guarded
        assert {o for o in outcomes if o != ("failed_trial", "xfailed")} == {("ok", "passed")}


@pytest.mark.proof  # the module's real run of six spaces: minutes, after the default suite
def test_the_terminal_and_junit_show_the_boundaries_and_the_repair(run):
    out = run["out"]
    assert "realistic.py:conv_stack: boundaries (" in out
    assert "  conv_blocks: passes at 2, fails from 3 (with kernel_size=5)" in out
    assert "  guide.py:failed_trial" not in out
    assert "  units_1 x units_2 frontier, the last passing units_1 at each units_2: 10: 30, 20: 20, 30: 20" in out
    assert "  repair: conv_blocks: max_value 4 -> 2" in out and "verified green:" in out
    # The narrower alternative keeps 3 blocks for 3x3 kernels: a guard first in the loop that declares conv_blocks.
    assert (
        "  narrower, for the interaction: conv_blocks: max_value 4 -> 3; raise FailedTrialError when "
        'hp.get("conv_blocks") > {3: 3, 5: 2, 7: 2}[hp.get("kernel_size")]'
    ) in out
    assert (
        '  +    for i in range(hp.Int("conv_blocks", 1, 3)):\n'
        '  +        if hp.get("conv_blocks") > {3: 3, 5: 2, 7: 2}[hp.get("kernel_size")]:'
    ) in out
    import xml.etree.ElementTree as ET

    suite = ET.parse(run["where"] / "r.xml").getroot().find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["boundary[realistic.py:conv_stack].conv_blocks[kernel_size=7]"] == "last_ok=2 first_failing=3"
    assert props["repair[realistic.py:conv_stack].narrower.verified"].startswith("True (")
    assert props["repair[thresholds.py:layer_size].verified"].startswith("True")
    assert len(read_junit(run["where"] / "r.xml")) == sum(h["cases"] for h in run["report"]["hypermodels"])


@pytest.mark.proof
def test_slow_probes_find_the_same_boundaries_under_the_default_settings(hypermodel_dir):
    """The probe budget stops the search, not the clock: a build that takes 11 s at the bisection's first value (as
    on a loaded machine) once ran past the 10 s the boundaries were given, and found none."""
    report = hypermodel_dir.path / "r.json"
    result = hypermodel_dir.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--hypermodel",
        "thresholds.py:slow_layer_size",
        "--hypermodel-boundaries=on",
        "--hypermodel-epochs=1",
        f"--hypermodel-report={report}",
    )
    assert result.ret == 1
    (slow,) = json.loads(report.read_text())["hypermodels"]
    # What the unslowed layer_size finds (test_a_layer_size_threshold_is_found_exactly_and_its_repair_is_green).
    assert _bounds(slow) == {(): ("units", thresholds.UNITS_LIMIT, thresholds.UNITS_LIMIT + 8)}
    assert slow["repair"]["verified"] is True
    assert "stopped at" not in result.stdout.str()
