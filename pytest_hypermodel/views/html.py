"""A preflight report as one self-contained HTML page: verdicts, heatmaps, cases, repairs.

One file with inline CSS and no script, font or image from the network: it is
opened from a CI artifact, often offline, and must look the same there. Every
text from the report goes through ``html.escape`` (exception messages quote
user code). Pure: payload in, text out; the plugin writes it
(``--hypermodel-html``).

In a notebook the same report is a fragment (``fragment``): one ``div`` whose
styles reach nothing outside it, and whose colours that carry a verdict are
inline too, since an untrusted notebook drops ``<style>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from itertools import combinations
from typing import Any

from pytest_hypermodel.rules import health
from pytest_hypermodel.space.words import plural
from pytest_hypermodel.views import readback
from pytest_hypermodel.views.readback import DECLARED, CaseView, Hypermodel

#: Heatmaps shown per hypermodel; the rest are counted.
MAX_HEATMAPS = 6

PASS = "pass"
FAIL = "fail"
DECLARED_CELL = "declared"
UNTESTED = "untested"

#: The colours, by the name of their CSS variable.
PALETTE = {
    "fail": "#d1242f",
    "fail-bg": "#ffebe9",
    "pass": "#1a7f37",
    "pass-bg": "#dafbe1",
    "warn": "#bf8700",
    "warn-bg": "#fff8c5",
    "grey": "#eaeef2",
    "line": "#d0d7de",
    "text": "#1f2328",
    "muted": "#59636e",
}

CSS = (
    (":root { " + " ".join(f"--{name}:{colour};" for name, colour in PALETTE.items()) + " }")
    + """
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--text); margin: 0 auto; padding: 16px 24px 48px; max-width: 1180px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
                   font-size: 12.5px; }
h1 { font-size: 22px; margin: 0; } h2 code { font-size: inherit; } h2 { font-size: 18px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 14px 0 6px; }
.verdict { border-radius: 8px; padding: 12px 16px; margin-bottom: 14px; border: 1px solid; }
.verdict.red { background: var(--fail-bg); border-color: var(--fail); }
.verdict.green { background: var(--pass-bg); border-color: var(--pass); }
.verdict p { margin: 4px 0 0; color: var(--muted); }
table { border-collapse: collapse; }
.overview, .cases, .boundaries { width: 100%; margin: 4px 0 8px; }
.overview th, .overview td, .cases th, .cases td, .boundaries th, .boundaries td {
  border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; font-weight: 600;
         color: #fff; vertical-align: middle; }
.badge.red { background: var(--fail); } .badge.green { background: var(--pass); }
.badge.amber { background: var(--warn); }
section.hypermodel { border: 1px solid var(--line); border-left: 6px solid var(--pass); border-radius: 8px;
                     padding: 12px 16px; margin: 14px 0; }
section.hypermodel.red { border-left-color: var(--fail); }
.forecast { border-radius: 6px; padding: 6px 10px; margin: 6px 0; }
.forecast.red { background: var(--fail-bg); } .forecast.green { background: var(--pass-bg); }
.forecast.amber { background: var(--warn-bg); }
.culprits { margin: 4px 0; padding-left: 20px; }
.heatmaps { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
figure.heatmap { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }
figure.heatmap figcaption { font-weight: 600; font-size: 12.5px; margin-bottom: 4px; }
.heatmap th { background: none; font-weight: normal; color: var(--muted); font-size: 11.5px; padding: 1px 4px;
              text-align: right; white-space: nowrap; }
.heatmap thead th { text-align: center; }
.heatmap th.axis { color: var(--text); font-weight: 600; }
.heatmap td.cell { min-width: 40px; height: 26px; border: 2px solid #fff; text-align: center; font-size: 11px;
                   color: #fff; font-weight: 600; }
td.cell.fail { background: var(--fail); } td.cell.pass { background: var(--pass); }
td.cell.declared { background: var(--warn); } td.cell.untested { background: var(--grey); color: var(--muted); }
.legend { color: var(--muted); font-size: 12px; }
.legend span.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin: 0 3px 0 10px;
                      vertical-align: -1px; }
.cases tr.fail td:first-child { border-left: 4px solid var(--fail); }
.cases tr.declared td:first-child { border-left: 4px solid var(--warn); }
.cases tr.pass td:first-child { border-left: 4px solid var(--pass); }
.cases td.id { word-break: break-all; width: 27%; }
.cases td.values { width: 31%; }
.cases td.outcome { width: 20%; }
.muted { color: var(--muted); }
.message { white-space: pre-wrap; font-size: .85em; margin-top: .2em; }
table.run th { text-align: left; padding-right: 1em; }
pre.diff { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px;
           overflow-x: auto; }
pre.diff .add { color: var(--pass); } pre.diff .del { color: var(--fail); } pre.diff .hunk { color: #8250df; }
details > summary { cursor: pointer; font-weight: 600; margin: 10px 0 4px; }
a { color: #0969da; text-decoration: none; }
"""
)


def status(cases: list[CaseView]) -> str:
    """A cell's colour: any failure is red, only declared failures amber, all clean green, none grey."""
    if not cases:
        return UNTESTED
    severities = {c.severity for c in cases}
    if severities - {None, DECLARED}:
        return FAIL
    if DECLARED in severities:
        return DECLARED_CELL
    return PASS


@dataclass(frozen=True)
class Heatmap:
    """Outcomes over the levels of two hyperparameters (``b`` None: one hyperparameter alone)."""

    a: str
    b: str | None
    a_levels: tuple[Any, ...]
    b_levels: tuple[Any, ...]
    cells: dict[tuple[Any, Any], list[CaseView]]  # (a_value, b_value) -> [CaseView]

    def cell(self, va: Any, vb: Any) -> list[CaseView]:
        return self.cells.get((_key(va), _key(vb)), [])


def _key(value: Any) -> Any:
    return repr(value) if isinstance(value, (list, dict)) else (type(value).__name__, value)


def _levels(cases: list[CaseView], name: str) -> tuple[Any, ...]:
    seen: dict[Any, Any] = {}
    for c in cases:
        if name in c.values:
            seen.setdefault(_key(c.values[name]), c.values[name])
    return tuple(sorted(seen.values(), key=readback.level_key))


def heatmap(model: Hypermodel, a: str, b: str | None) -> Heatmap:
    cells: dict[tuple[Any, Any], list[CaseView]] = {}
    for c in model.cases:
        if a in c.values and (b is None or b in c.values):
            cells.setdefault((_key(c.values[a]), _key(c.values[b]) if b else _key(None)), []).append(c)
    return Heatmap(a, b, _levels(model.cases, a), _levels(model.cases, b) if b else (None,), cells)


def heatmaps(model: Hypermodel, limit: int = MAX_HEATMAPS) -> tuple[list[Heatmap], int]:
    """The most involved pairs of moved hyperparameters, and how many pairs were left out.

    Involvement: failing cases that moved both, then cases that moved both, then cases that moved either.
    """
    names = model.varied_names
    if len(names) == 1:
        return [heatmap(model, names[0], None)], 0
    pairs = list(combinations(names, 2))

    def involvement(pair: tuple[str, str]) -> tuple[int, int, int]:
        both = [c for c in model.cases if set(pair) <= set(c.varied)]
        either = [c for c in model.cases if set(pair) & set(c.varied)]
        return (sum(c.severity is not None for c in both), len(both), len(either))

    ranked = sorted(pairs, key=lambda p: tuple(-x for x in involvement(p)))  # stable: declaration order on ties
    shown = ranked[:limit]
    order = {p: i for i, p in enumerate(pairs)}
    return [heatmap(model, a, b) for a, b in sorted(shown, key=order.__getitem__)], len(pairs) - len(shown)


def _tooltip(h: Heatmap, va: Any, vb: Any, cases: list[CaseView]) -> str:
    where = f"{h.a}={readback.fmt(va)}" + (f", {h.b}={readback.fmt(vb)}" if h.b else "")
    if not cases:
        return f"{where}: untested"
    bad = [c for c in cases if c.severity is not None]
    text = f"{where}: {len(cases)} case{'s' if len(cases) != 1 else ''}, {len(bad)} failed"
    if bad:
        text += " (" + ", ".join(dict.fromkeys(c.what for c in bad)) + ")"
    return text


def _heatmap_html(h: Heatmap) -> str:
    fmt = readback.fmt
    caption = f"{escape(h.a)} × {escape(h.b)}" if h.b else escape(h.a)
    rows = []
    if h.b:
        head = "".join(f"<th>{escape(fmt(vb))}</th>" for vb in h.b_levels)
        rows.append(f'<thead><tr><th class="axis">{escape(h.a)} ↓ {escape(h.b)} →</th>{head}</tr></thead>')
    for va in h.a_levels:
        cells = []
        for vb in h.b_levels:
            cases = h.cell(va, vb)
            state = status(cases)
            bad = sum(c.severity is not None for c in cases)
            label = f"{bad}/{len(cases)}" if cases else "·"
            cells.append(f'<td class="cell {state}" title="{escape(_tooltip(h, va, vb, cases))}">{label}</td>')
        rows.append(f"<tr><th>{escape(fmt(va))}</th>{''.join(cells)}</tr>")
    return f'<figure class="heatmap"><figcaption>{caption}</figcaption><table>{"".join(rows)}</table></figure>'


LEGEND = (
    '<p class="legend">Each cell: failed/probed cases with those two values.'
    f'<span class="swatch" style="background:{PALETTE["fail"]}"></span>a case failed'
    f'<span class="swatch" style="background:{PALETTE["warn"]}"></span>declared failure only'
    f'<span class="swatch" style="background:{PALETTE["pass"]}"></span>all passed'
    f'<span class="swatch" style="background:{PALETTE["grey"]}"></span>untested</p>'
)


def _tone(forecast: dict[str, Any] | None) -> str:
    if not forecast:
        return "green"
    if forecast.get("fails_run"):
        return "red"
    return "amber" if (forecast.get("abort_probability") or 0) > 0 else "green"


def _values_html(case: CaseView) -> str:
    names = list(case.varied) or list(case.values)
    shown = ", ".join(
        f"<b>{escape(n)}={escape(readback.fmt(case.values.get(n)))}</b>"
        if case.varied
        else f"{escape(n)}={escape(readback.fmt(case.values.get(n)))}"
        for n in names
    )
    rest = len(case.values) - len(names)
    return shown + (f' <span class="muted">(+{rest} at defaults)</span>' if rest > 0 else "")


def _case_row(case: CaseView) -> str:
    state = status([case])
    detail = case.outcome + (f": {case.exception}" if case.exception else "")
    params = f"{case.params:,}" if isinstance(case.params, int) else ""
    message = f'<div class="message">{escape(case.message)}</div>' if case.message else ""
    return (
        f'<tr class="{state}" id="{escape(case.spec)}::{escape(case.id)}"><td class="id mono">{escape(case.id)}</td>'
        f'<td class="values">{_values_html(case)}</td>'
        f'<td class="outcome">{escape(case.test_outcome)} <span class="muted">({escape(detail)})</span>'
        f"{message}</td>"
        f'<td>{escape(readback.disposition_text(case))}</td><td class="mono">{params}</td></tr>'
    )


def _diff_html(diff: str) -> str:
    lines = []
    for line in diff.rstrip("\n").splitlines():
        kind = (
            "hunk"
            if line.startswith("@@")
            else "add"
            if line.startswith("+") and not line.startswith("+++")
            else "del"
            if line.startswith("-") and not line.startswith("---")
            else ""
        )
        lines.append(f'<span class="{kind}">{escape(line)}</span>' if kind else escape(line))
    return '<pre class="diff">' + "\n".join(lines) + "</pre>"


def _health_html(model: Hypermodel) -> str:
    """The health checks' findings: each check's name, what it found, where, and the fix."""
    items = []
    for f in model.health:
        where = f' <span class="muted">({escape(health.site(*f.location, short=True))})</span>' if f.location else ""
        items.append(
            f"<li><code>{escape(f.check)}</code>: {escape(f.message)}{where}<br><b>Fix:</b> {escape(f.fix)}</li>"
        )
    return f'<div class="health forecast red"><b>Health checks:</b><ul>{"".join(items)}</ul></div>'


def _warnings_html(warnings: list[dict[str, Any]]) -> str:
    """The warnings raised during the hypermodel's cases, each once, with the first case that raised it."""
    if not warnings:
        return ""
    items = "".join(
        f"<li><b>{escape(str(w.get('category', '')))}</b>: {escape(str(w.get('message', '')))} "
        f'<span class="muted">(first in case {escape(str(w.get("case", "")))}, {plural(w.get("cases", 1), "case")}'
        f"{'; ' + escape(str(w['location'])) if w.get('location') else ''})</span></li>"
        for w in warnings
    )
    raised = plural(len(warnings), "warning")
    return f"<details><summary>{raised} raised during the cases</summary><ul>{items}</ul></details>"


def _section(model: Hypermodel, index: int, warnings: list[dict[str, Any]] | None = None) -> str:
    tone = "green" if model.green else "red"
    word = "green" if model.green else ("incomplete" if not model.entry.get("complete", True) else "red")
    parts = [
        f'<section class="hypermodel {tone}" id="hm-{index}">',
        f'<h2><code>{escape(model.spec)}</code> <span class="badge {tone}">{word}</span></h2>',
    ]
    forecast = model.forecast
    if forecast:
        parts.append(
            f'<div class="forecast {_tone(forecast)}"><b>Forecast:</b> {escape(str(forecast.get("message", "")))}</div>'
        )
        timing = forecast.get("timing")
        if isinstance(timing, dict) and timing.get("line"):
            parts.append(f'<div class="timing"><b>Time:</b> {escape(str(timing["line"]))}</div>')
    if model.health:
        parts.append(_health_html(model))
    culprits = model.culprits()
    if culprits:
        items = []
        for c in culprits:
            file, line, _ = model.location(c.names)
            spot = health.site(file, line, short=True) if file and line else ""
            where = f' <span class="muted">({escape(spot)})</span>' if spot else ""
            label = c.label if c.names else "the defaults"
            items.append(
                f"<li><b>{escape(label)}</b> → {escape(c.what)}, "
                f"{escape(readback.SEVERITY_WORDS[c.severity])}{where}</li>"
            )
        parts.append(f'<h3>To constrain</h3><ul class="culprits">{"".join(items)}</ul>')
    maps, left_out = heatmaps(model)
    if maps:
        title = "Outcomes over pairs of hyperparameters" if maps[0].b else "Outcomes over the hyperparameter"
        parts.append(f"<h3>{title}</h3>")
        parts.append('<div class="heatmaps">' + "".join(_heatmap_html(h) for h in maps) + "</div>")
        legend = LEGEND if maps[0].b else LEGEND.replace("with those two values", "with that value")
        if left_out:
            legend = legend.replace(
                "</p>",
                f" <b>{left_out} more pairs left out</b> (the {len(maps)} shown involve the most failing cases).</p>",
            )
        parts.append(legend)
    if model.boundaries:
        rows = "".join(
            f"<tr><td><b>{escape(str(b.get('hyperparameter')))}</b></td><td>{escape(readback.fmt(b.get('last_ok')))}</td>"
            f"<td>{escape(readback.fmt(b.get('first_failing')))}</td>"
            f"<td>{escape(', '.join(f'{k}={readback.fmt(v)}' for k, v in (b.get('given') or {}).items()))}</td></tr>"
            for b in model.boundaries
            if isinstance(b, dict)
        )
        parts.append(
            '<h3>Boundaries</h3><table class="boundaries"><tr><th>Hyperparameter</th><th>Last ok</th>'
            f"<th>First failing</th><th>With</th></tr>{rows}</table>"
        )
    if model.repair:
        repair = model.repair
        how = (
            f"verified over {plural(repair.get('cases') or 0, 'case')}"
            if repair.get("verified") and repair.get("cases")
            else "verified"
            if repair.get("verified")
            else "not verified"
        )
        changes = "".join(
            f"<li>{escape(readback.change_text(c))}</li>" for c in repair.get("changes") or [] if isinstance(c, dict)
        )
        parts.append(f'<h3>Proposed repair <span class="muted">({escape(how)})</span></h3><ul>{changes}</ul>')
        if repair.get("diff"):
            parts.append(_diff_html(str(repair["diff"])))
        narrower = repair.get("alternative")
        if isinstance(narrower, dict):
            changes = "".join(
                f"<li>{escape(readback.change_text(c))}</li>"
                for c in narrower.get("changes") or []
                if isinstance(c, dict)
            )
            parts.append(
                f'<h3>Narrower, for the interaction <span class="muted">'
                f"({escape(readback.narrower_how(narrower))})</span></h3><ul>{changes}</ul>"
            )
            if narrower.get("diff"):
                parts.append(_diff_html(str(narrower["diff"])))
    if warnings:
        parts.append(_warnings_html(warnings))
    rows = "".join(_case_row(c) for c in model.cases)
    bad = sum(c.severity is not None for c in model.cases)
    parts.append(
        f"<details open><summary>{plural(len(model.cases), 'case')}, {bad} not clean</summary>"
        '<table class="cases"><tr><th>Case</th><th>Values (moved)</th><th>Outcome</th>'
        f"<th>KerasTuner would</th><th>Params</th></tr>{rows}</table></details>"
    )
    parts.append("</section>")
    return "\n".join(parts)


def _run_html(run: dict[str, Any]) -> str:
    """When, with what and how the preflight ran."""
    if not run:
        return ""
    versions = ", ".join(f"{name} {version}" for name, version in (run.get("versions") or {}).items())
    rows = [
        ("Date", run.get("date")),
        ("Command", run.get("command")),
        ("Backend", run.get("backend")),
        ("Versions", versions),
        ("Python", run.get("python")),
    ]
    cells = "".join(
        f'<tr><th>{escape(name)}</th><td class="mono">{escape(str(value))}</td></tr>' for name, value in rows if value
    )
    return f'<table class="run">{cells}</table>'


def _warnings_of(payload: dict[str, Any], spec: str) -> list[dict[str, Any]]:
    warnings = payload.get("warnings")
    return [w for w in warnings if isinstance(w, dict) and w.get("spec") == spec] if isinstance(warnings, list) else []


def _body(payload: dict[str, Any]) -> tuple[str, list[str]]:
    """The report's verdict word and its parts, for a page or a notebook's fragment."""
    models = readback.hypermodels(payload)
    ok = readback.green(payload)
    word = "green" if ok else "red"
    summary = payload.get("summary") or {}
    outcomes = ", ".join(f"{n} {escape(str(name))}" for name, n in (summary.get("outcomes") or {}).items())
    red = [m for m in models if not m.green]
    order = sorted(range(len(models)), key=lambda i: models[i].green)  # red first: what the reader came for
    overview = "".join(
        f'<tr><td><a href="#hm-{i}"><code>{escape(models[i].spec)}</code></a></td>'
        f'<td><span class="badge {"green" if models[i].green else "red"}">'
        f"{'green' if models[i].green else 'red'}</span></td>"
        f'<td><span class="badge {_tone(models[i].forecast)}">'
        f"{escape(readback.forecast_short(models[i].forecast))}</span></td>"
        f"<td>{len(models[i].cases)}</td><td>{sum(c.severity is not None for c in models[i].cases)}</td></tr>"
        for i in order
    )
    return word, [
        f'<header class="verdict {word}"><h1>Hypermodel preflight: {word}</h1>'
        f"<p>{plural(len(models), 'hypermodel')}, {len(red)} red; {plural(summary.get('cases', 0), 'case')} "
        f"({outcomes}); KerasTuner would spend {plural(summary.get('runs', 0), 'run')} on them.</p></header>",
        '<table class="overview"><tr><th>Hypermodel</th><th>Preflight</th><th>Forecast</th><th>Cases</th>'
        f"<th>Not clean</th></tr>{overview}</table>",
        _run_html(payload.get("run") or {}),
        *(_section(models[i], i, _warnings_of(payload, models[i].spec)) for i in order),
    ]


def render(payload: dict[str, Any]) -> str:
    """The whole report as one HTML document (no network: inline CSS, no script)."""
    word, body = _body(payload)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Hypermodel preflight: {word}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


#: The class of a notebook fragment's root: every rule of its stylesheet starts with it.
ROOT = "hypermodel-report"


def fragment(payload: dict[str, Any]) -> str:
    """The report as a notebook shows it (``Report._repr_html_``): one ``div.hypermodel-report``, its stylesheet
    scoped to it (no page, no title, nothing that restyles the notebook), and the colours that say a verdict
    inline as well, for an untrusted notebook, which drops the stylesheet."""
    _, body = _body(payload)
    return (
        f'<div class="{ROOT}" style="color:{PALETTE["text"]}"><style>{scoped(CSS, "." + ROOT)}</style>\n'
        + _inline_colours("\n".join(body))
        + "\n</div>"
    )


def scoped(css: str, root: str) -> str:
    """``css`` with every selector under ``root``: ``:root``, ``body`` and ``*`` become the root itself (and its
    descendants), ``th`` becomes ``ROOT th``."""
    rules = []
    for rule in css.split("}"):
        if "{" not in rule:
            continue
        selectors, declarations = rule.split("{", 1)
        under: list[str] = []
        for selector in (part.strip() for part in selectors.split(",")):
            if selector in (":root", "body"):
                under.append(root)
            elif selector == "*":
                under += [root, f"{root} *"]
            else:
                under.append(f"{root} {selector}")
        rules.append(f"{', '.join(under)} {{{declarations.strip()}}}")
    return "\n".join(rules)


#: The inline style of each element whose colour says something (a verdict, an outcome), by its class attribute.
INLINE = {
    "verdict red": f"background:{PALETTE['fail-bg']};border:1px solid {PALETTE['fail']};border-radius:8px;"
    "padding:12px 16px",
    "verdict green": f"background:{PALETTE['pass-bg']};border:1px solid {PALETTE['pass']};border-radius:8px;"
    "padding:12px 16px",
    **{
        f"badge {tone}": f"background:{PALETTE[colour]};color:#fff;border-radius:10px;padding:0 8px;font-weight:600"
        for tone, colour in (("red", "fail"), ("green", "pass"), ("amber", "warn"))
    },
    **{
        f"forecast {tone}": f"background:{PALETTE[colour]};border-radius:6px;padding:6px 10px"
        for tone, colour in (("red", "fail-bg"), ("green", "pass-bg"), ("amber", "warn-bg"))
    },
    "health forecast red": f"background:{PALETTE['fail-bg']};border-radius:6px;padding:6px 10px",
    "hypermodel red": f"border-left:6px solid {PALETTE['fail']};padding-left:12px",
    "hypermodel green": f"border-left:6px solid {PALETTE['pass']};padding-left:12px",
    **{
        f"cell {state}": f"background:{PALETTE[colour]};color:{'#fff' if state != UNTESTED else PALETTE['muted']}"
        for state, colour in ((FAIL, "fail"), (PASS, "pass"), (DECLARED_CELL, "warn"), (UNTESTED, "grey"))
    },
    "add": f"color:{PALETTE['pass']}",
    "del": f"color:{PALETTE['fail']}",
}

_CLASS = re.compile(r'class="([^"]*)"')


def _inline_colours(html: str) -> str:
    """Each element of ``INLINE``'s classes with its colours in a ``style`` attribute too (every text of the
    report is escaped, so a ``class="..."`` here is always the renderer's own)."""

    def inline(found: re.Match[str]) -> str:
        style = INLINE.get(found[1])
        return f'{found[0]} style="{style}"' if style else found[0]

    return _CLASS.sub(inline, html)
