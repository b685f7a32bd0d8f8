"""Failure boundaries and verified repairs through the plugin: --hypermodel-fix, --hypermodel-boundaries off, the
clock, and the user's data fixture on xdist's controller."""

from __future__ import annotations

import json
import shutil

from conftest import HYPERMODELS, beside, run_here


def test_fix_writes_the_verified_repair_and_the_file_is_then_green(pytester):
    shutil.copy(HYPERMODELS / "thresholds.py", pytester.path / "thresholds.py")
    # pytester clears PYTEST_ADDOPTS: the defaults, boundaries on; the extremes alone (the failing units=64 among
    # them) are what the boundaries start from, and each preflight of a repaired space plans them again
    args = [
        "-p",
        "no:cacheprovider",
        "--hypermodel",
        "thresholds.py:layer_size",
        "--hypermodel-epochs=1",
        "--hypermodel-boundaries-seconds=600",
        "--hypermodel-strategy=extremes",
    ]
    first = run_here(pytester, *args, "--hypermodel-fix")
    assert first.ret == 1 and "--hypermodel-fix: wrote the verified repair into" in first.stdout.str()
    assert 'hp.Int("units", 8, 40, step=8)' in (pytester.path / "thresholds.py").read_text()
    second = run_here(pytester, *args)  # imports the file again: the run restored sys.modules
    assert second.ret == 0, second.stdout.str()[-2000:]
    assert "boundaries (" not in second.stdout.str()  # nothing failed, nothing to bound


def test_boundaries_off_probes_nothing_more(hypermodel_dir):
    report = hypermodel_dir.path / "r.json"
    result = run_here(
        hypermodel_dir,
        "-p",
        "no:cacheprovider",
        "--hypermodel",
        "thresholds.py:layer_size",
        "--hypermodel-boundaries",
        "off",
        "--hypermodel-epochs=1",
        "--hypermodel-strategy=extremes",  # units=64 fails among them: the corners add nothing here
        f"--hypermodel-report={report}",
    )
    assert result.ret == 1 and "boundaries (" not in result.stdout.str()
    (model,) = json.loads(report.read_text())["hypermodels"]
    assert "boundaries" not in model and model["declarations"]["units"]["line"] > 0


def test_the_boundaries_keep_to_the_time_they_are_given(hypermodel_dir):
    report = hypermodel_dir.path / "r.json"
    result = run_here(
        hypermodel_dir,
        "-p",
        "no:cacheprovider",
        "--hypermodel",
        "thresholds.py:layer_size",
        "--hypermodel-boundaries=on",
        "--hypermodel-boundaries-seconds=0.001",
        "--hypermodel-epochs=1",
        "--hypermodel-strategy=extremes",  # units=64 fails among them: the corners add nothing here
        f"--hypermodel-report={report}",
    )
    assert result.ret == 1
    (model,) = json.loads(report.read_text())["hypermodels"]
    assert model["boundaries"] == [] and not model.get("repair")
    # The clock is read before each probe: one may start within the first millisecond.
    result.stdout.re_match_lines(
        [
            r"thresholds.py:layer_size: boundaries \((0 probes|1 probe), ",
            r".*stopped at the safety cap of 0.001 s on the wall clock \(--hypermodel-boundaries-"
            r"seconds\), before the probe budget of 64: some boundaries may be missing",
        ]
    )


def test_the_boundary_probes_use_the_users_data_fixture_on_the_xdist_controller(hypermodel_dir):
    """The probes after the cases run with the data the cases had: the user's fixture, set up on the controller."""
    data_log = beside(hypermodel_dir, "data.log")
    hypermodel_dir.makeconftest(
        "import numpy as np, pathlib, pytest\n\n@pytest.fixture\ndef hypermodel_data():\n"
        f"    pathlib.Path({str(data_log)!r}).open('a').write('set up\\n')\n"
        "    yield np.ones((16, 4), 'float32'), np.ones((16, 1), 'float32')\n"
        f"    pathlib.Path({str(data_log)!r}).open('a').write('torn down\\n')\n"
    )
    report = hypermodel_dir.path / "r.json"
    result = hypermodel_dir.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--hypermodel",
        "thresholds.py:layer_size",
        "--hypermodel-boundaries=on",
        "--hypermodel-boundaries-seconds=600",
        "--hypermodel-epochs=1",
        "--hypermodel-strategy=extremes",  # units=64 fails among them: the corners add nothing here
        f"--hypermodel-report={report}",
    )
    assert result.ret == 1
    (model,) = json.loads(report.read_text())["hypermodels"]
    assert [(b["last_ok"], b["first_failing"]) for b in model["boundaries"]] == [(40, 48)]
    assert model["repair"]["verified"] is True
    log = data_log.read_text().splitlines()
    # Each case's setup and teardown on the workers; once for discovery, on the planning worker; then once more
    # for the boundaries, on the controller.
    assert log.count("set up") == log.count("torn down") == len(json.loads(report.read_text())["cases"]) + 2
