"""The HTML report: self-contained, escaped, with coloured heatmaps; rendered by a real headless browser."""

from __future__ import annotations

import copy
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import once_per_run
from report_payloads import cells, run_preflight, with_locations  # tests/ is on sys.path

from pytest_hypermodel.views import html as html_report

#: One xdist worker runs this module (with ``--dist loadgroup``, pyproject.toml): its tests share one real run
#: (``once_per_run``), which another worker would otherwise sit waiting for.
pytestmark = pytest.mark.xdist_group("renderers")


@pytest.fixture(scope="module")
def payload(tmp_path_factory) -> dict:
    return once_per_run(tmp_path_factory, "renderers", run_preflight)


def test_every_case_and_verdict_is_there(payload):
    html = html_report.render(payload)
    assert html.startswith("<!DOCTYPE html>")
    assert "<h1>Hypermodel preflight: red</h1>" in html
    for case in payload["cases"]:
        assert f'<td class="id mono">{case["case.id"]}</td>' in html
    assert '<span class="badge red">RandomSearch: aborts (100% within 10 trials)</span>' in html
    assert '<span class="badge green">RandomSearch: no abort</span>' in html
    assert html.index("guide_fatal</code> <span") < html.index("build_model</code> <span")  # red first


def test_heatmap_cells_are_coloured_by_outcome(payload):
    html = html_report.render(payload)
    got = cells(html)
    # guide_fatal: units_1=40 is fatal whatever units_2 is.
    assert got["units_1=40, units_2=10: 1 case, 1 failed (FatalError)"] == "fail"
    assert got["units_1=40, units_2=30: 1 case, 1 failed (FatalError)"] == "fail"
    assert got["units_1=10, units_2=30: 1 case, 0 failed"] == "pass"
    assert got["units_1=10, units_2=10: 1 case, 0 failed"] == "pass"
    # build_model: 4 moved hyperparameters, 6 pairs, all shown; its covering array leaves no cell untested.
    section = html[html.index("build_model</code> <span") :]
    assert section.count('<figure class="heatmap">') == 6
    assert "more pairs left out" not in section
    assert set(cells(section).values()) == {"pass"} and len(cells(section)) == 6 * 4
    assert got["units=8, activation=tanh: 2 cases, 0 failed"] == "pass"
    assert got["dropout=False, learning_rate=0.01: 2 cases, 0 failed"] == "pass"


def test_boundaries_and_repair(payload):
    fixed = with_locations(payload)
    entry = next(e for e in fixed["hypermodels"] if e["spec"].endswith("guide_fatal"))
    entry["boundaries"] = [{"hyperparameter": "units_1", "last_ok": 30, "first_failing": 40, "given": {"units_2": 10}}]
    entry["repair"] = {
        "changes": [{"hyperparameter": "units_1", "kind": "max_value", "old": 40, "new": 30}],
        "diff": '--- a/models.py\n+++ b/models.py\n@@ -14 +14 @@\n-    hp.Int("units_1", 10, 40)\n'
        '+    hp.Int("units_1", 10, 30)\n',
        "verified": True,
        "cases": 4,
        "alternative": {
            "changes": [
                {
                    "hyperparameter": "units_1",
                    "kind": "guard",
                    "partner": "units_2",
                    "condition": "hp.get('units_1') > {10: 30}[hp.get('units_2')]",
                }
            ],
            "diff": "",
            "verified": True,
            "cases": 4,
            "guarded": 1,
        },
    }
    html = html_report.render(fixed)
    assert (
        '<h3>Narrower, for the interaction <span class="muted">(verified: 3 cases pass, 1 ends in its '
        "FailedTrialError (FAILED trials to KerasTuner))</span></h3>"
    ) in html
    assert "<li>raise FailedTrialError in the build when hp.get(&#x27;units_1&#x27;) &gt; {10: 30}" in html
    assert "<tr><td><b>units_1</b></td><td>30</td><td>40</td><td>units_2=10</td></tr>" in html
    assert "<li>lower max_value of units_1 to 30 (was 40)</li>" in html
    assert '<span class="del">-    hp.Int(&quot;units_1&quot;, 10, 40)</span>' in html
    assert '<span class="add">+    hp.Int(&quot;units_1&quot;, 10, 30)</span>' in html
    assert "(verified over 4 cases)" in html
    assert "(models.py:" in html  # the culprit's declaration line


def test_everything_is_escaped(payload):
    hostile = copy.deepcopy(payload)
    hostile["cases"][0]["case.id"] = "<img src=x onerror=alert(1)>"
    hostile["cases"][0]["exception"] = "Bad<Error>"
    hostile["forecasts"][0]["message"] = "<script>alert('x')</script> & more"
    html = html_report.render(hostile)
    assert "<img" not in html and "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html


def test_self_contained(payload):
    html = html_report.render(payload)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert "<script" not in html
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', html))


def _png(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed (still filtered) scanlines of a PNG: enough to tell blank from not."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    return size[0], size[1], zlib.decompress(idat)


def browser() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


def test_a_headless_browser_renders_it(payload, tmp_path):
    binary = browser()
    if binary is None:
        pytest.skip("no chromium or chrome on PATH: apt-get install chromium")
    page = tmp_path / "report.html"
    page.write_text(html_report.render(payload), encoding="utf-8")
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.is_file(), done.stderr[-2000:]
    width, height, raw = _png(shot)
    assert (width, height) == (1200, 1600)
    assert shot.stat().st_size > 20_000  # a blank page compresses to a few KB
    rows = {raw[i : i + 1 + width * 3] for i in range(0, len(raw), len(raw) // height)}
    assert len(rows) > 50  # text, tables and heatmaps: many distinct scanlines
    assert len(set(raw)) > 100
