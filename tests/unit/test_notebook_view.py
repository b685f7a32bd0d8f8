"""The report as a notebook shows it: an HTML fragment under one root class, a text repr of a few lines, and
locations in a cell named as IPython names them. (tests/plugin/test_notebook_guide.py runs it in a real kernel.)"""

from __future__ import annotations

import copy
import re

from report_payloads import many_culprits  # tests/ is on sys.path

from pytest_hypermodel.api import Report, _name_cells
from pytest_hypermodel.rules.health import Finding, site
from pytest_hypermodel.views import html as html_report


def _styles(html: str) -> str:
    return "".join(re.findall(r"<style>(.*?)</style>", html, re.S))


def test_the_notebook_fragment_is_one_root_whose_styles_reach_nothing_outside_it():
    payload = many_culprits(3)
    fragment = Report(payload)._repr_html_()
    assert fragment.startswith('<div class="hypermodel-report"') and fragment.endswith("</div>")
    assert not re.search(r"<(!DOCTYPE|html|head|title|body)\b", fragment, re.I)
    selectors = [s.strip() for rule in re.findall(r"([^{}]+)\{", _styles(fragment)) for s in rule.split(",")]
    assert selectors and all(s.startswith(".hypermodel-report") for s in selectors), selectors
    assert "var(--" not in fragment.replace(_styles(fragment), "")  # nothing outside the stylesheet needs it
    # The page written by --hypermodel-html stays a whole document, with its page-wide stylesheet.
    page = html_report.render(payload)
    assert page.startswith("<!DOCTYPE html>") and "<title>Hypermodel preflight: red</title>" in page
    assert "\nbody {" in _styles(page)


def test_the_colours_that_carry_the_verdict_are_inline_for_an_untrusted_notebook():
    """An untrusted notebook drops <style>: the verdict, the badges and the heatmap cells keep their colours."""
    fragment = Report(many_culprits(3))._repr_html_()
    fail, warn = html_report.PALETTE["fail"], html_report.PALETTE["warn"]
    assert re.search(rf'<header class="verdict red" style="[^"]*background:{html_report.PALETTE["fail-bg"]}', fragment)
    assert re.search(rf'<span class="badge red" style="background:{fail};', fragment)
    assert re.search(rf'<td class="cell fail" style="background:{fail};', fragment)
    assert re.search(rf'<td class="cell declared" style="background:{warn};', fragment)
    assert re.search(r'<td class="cell untested" style="background:#', fragment)


def test_the_text_repr_is_a_few_lines_not_the_data():
    payload = many_culprits(15)
    payload["summary"]["outcomes"] = {"ok": 1, "diverged": 1, "failed_trial": 1, "error": 12, "fatal": 1}
    payload["forecasts"] = [{"spec": "m.py:wide", "tuner": "RandomSearch", "fails_run": True, "abort_id": "3"}]
    payload["hypermodels"][0]["repair"] = {
        "verified": True,
        "changes": [{"hyperparameter": "hp_0", "kind": "max_value", "old": 9, "new": 1}],
    }
    text = repr(Report(payload))
    assert text.splitlines() == [
        "<Report red: fix the space before the search",
        "  16 cases (1 ok, 1 diverged, 1 failed_trial, 12 error, 1 fatal), 14 failing",
        "  forecast: RandomSearch: aborts at trial 3",
        "  repair: lower max_value of hp_0 to 1 (was 9) (verified green)>",
    ]
    assert len(text) < 400


def test_a_location_in_a_notebook_cell_is_named_as_ipython_names_it():
    cell = "/tmp/ipykernel_812/771966963.py"
    payload = copy.deepcopy(many_culprits(2))
    payload["hypermodels"][0]["declarations"]["hp_0"] = {"file": cell, "line": 3}
    payload["warnings"] = [{"message": "w", "location": f"{cell}:7"}, {"message": "w", "location": "771966963.py:8"}]
    payload["health"] = [Finding("hyperparameter_unused", "wide", "unused", "use it", (cell, 4)).to_dict()]
    named = _name_cells(payload, {cell: "Cell In[3]"})
    assert named["hypermodels"][0]["declarations"]["hp_0"] == {"file": "Cell In[3]", "line": 3}
    assert [w["location"] for w in named["warnings"]] == ["Cell In[3], line 7", "Cell In[3], line 8"]
    assert "(Cell In[3], line 4)" in Report(named).findings[0].line()
    assert "(Cell In[3], line 3)" in Report(named)._repr_html_()
    assert "771966963" not in Report(named)._repr_html_()
    assert _name_cells(payload, {}) is payload  # outside IPython: as it was
    assert site("/repo/models.py", 12) == "/repo/models.py:12"
    assert site("/repo/models.py", 12, short=True) == "models.py:12"
