"""The README's picture is the HTML report of a real preflight of the current code, made and checked by
docs/make_picture.py, which the release checks run; here, cheaply, what that script does with a report."""

from __future__ import annotations

import importlib.util
import json
import xml.dom.minidom
from pathlib import Path

from report_payloads import many_culprits  # tests/ is on sys.path

from pytest_hypermodel.views import html as html_report

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("make_picture", ROOT / "docs" / "make_picture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_and_the_docs_show_the_picture_the_release_checks_check():
    assert "![The HTML report of a preflight](docs/html-report.svg)" in (ROOT / "README.md").read_text()
    assert "](html-report.svg)" in (ROOT / "docs" / "index.md").read_text()
    assert "python3 docs/make_picture.py --check" in (ROOT / ".ci" / "release-check").read_text()
    committed = (ROOT / "docs" / "html-report.svg").read_text()
    xml.dom.minidom.parseString(committed)  # well-formed: a browser draws it as an image
    assert "Hypermodel preflight: red" in committed and "example_project/models.py:guide_value_error" in committed


def test_a_report_becomes_a_well_formed_picture_and_timings_do_not_count_as_drift():
    make_picture = _script()
    payload = many_culprits(3)
    payload["run"] = {"date": "2026-12-05T19:13:15+00:00", "command": "pytest", "versions": {"keras": "3.15.1"}}
    svg = make_picture.picture(html_report.render(payload))
    xml.dom.minidom.parseString(svg)
    assert svg.startswith("<svg ") and "<foreignObject" in svg and "<br />" not in svg.replace("<br/>", "")
    later = json.loads(json.dumps(payload))
    later["run"].update(date="2031-01-01T00:00:00+00:00", versions={"keras": "3.16.0"})
    payload["forecasts"] = [{"spec": "m.py:wide", "tuner": "RandomSearch", "message": "builds (8/s): about 3 s"}]
    later["forecasts"] = [{"spec": "m.py:wide", "tuner": "RandomSearch", "message": "builds (31/s): about 12.5 s"}]
    before, after = (make_picture.picture(html_report.render(p)) for p in (payload, later))
    assert make_picture.normalized(before) == make_picture.normalized(after)
    changed = json.loads(json.dumps(later))
    changed["summary"]["cases"] = 99  # what the report says, not when or how fast: drift
    assert make_picture.normalized(make_picture.picture(html_report.render(changed))) != make_picture.normalized(after)
