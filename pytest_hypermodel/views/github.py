"""GitHub Actions output of a preflight report: annotations and the job's step summary.

Annotations follow pytest-github-actions-annotate-failures: ``::error
file=...,line=...,title=...::message``, placed on the ``hp.Int(...)`` line of
the hyperparameter to constrain, so the pull request shows the problem where
the fix goes. GitHub keeps 10 errors and 10 warnings per step: the most
important come first. Pure functions over the report's payload: the plugin
decides when to print them (``GITHUB_ACTIONS``) and where the summary goes
(``GITHUB_STEP_SUMMARY``).
"""

# No ``from __future__ import annotations`` here: the function ``annotations`` below would take its name, and mypy
# reads the name as the import. Every annotation here is a name Python 3.10 evaluates.
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_hypermodel.rules import outcomes
from pytest_hypermodel.space.words import plural
from pytest_hypermodel.views import readback
from pytest_hypermodel.views.readback import DECLARED, FAILS, STOPS, USELESS, CaseView, Culprit, Hypermodel

#: GitHub shows at most this many annotations of one kind per step.
LIMIT = 10
#: Longer case tables fold into <details>.
FOLD_ROWS = 10


@dataclass(frozen=True)
class Annotation:
    """One workflow command; ``rank`` orders them (lower first), ``order`` keeps the report's order within a rank."""

    level: str  # "error" | "warning" | "notice"
    title: str
    message: str
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    rank: int = 0
    order: int = 0

    def command(self) -> str:
        props = []
        if self.file:
            props.append(f"file={escape_property(self.file)}")
            if self.line:
                props.append(f"line={self.line}")
                if self.end_line:
                    props.append(f"endLine={self.end_line}")
        props.append(f"title={escape_property(self.title)}")
        return f"::{self.level} {','.join(props)}::{escape_data(self.message)}"


def escape_data(text: str) -> str:
    """GitHub's escaping of a command's message (toolkit's escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """GitHub's escaping of a command's property value (toolkit's escapeProperty)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def relative(file: str | None, root: Path) -> str | None:
    """``file`` relative to the repository root when under it (GitHub wants that), else as given."""
    if not file:
        return None
    path = Path(file)
    if not path.is_absolute():
        return path.as_posix()
    for base in (root, root.resolve()):
        try:
            return path.relative_to(base.absolute()).as_posix()
        except ValueError:
            pass
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


def _effect(culprit: Culprit, model: Hypermodel) -> str:
    limit = f"; {model.limit} FAILED in a row abort the search" if model.limit else ""
    return {
        STOPS: "KerasTuner would stop the whole search at such a trial",
        FAILS: f"KerasTuner would mark such trials FAILED{limit}",
        USELESS: "KerasTuner would complete such trials with a useless score",
        DECLARED: "declared failures: KerasTuner marks such trials FAILED without retrying" + limit,
    }[culprit.severity]


def _fix(culprit: Culprit, model: Hypermodel) -> str:
    parts = [readback.boundary_text(b) for n in culprit.names for b in model.boundaries_of(n)]
    changes = model.changes_of(culprit.names)
    if changes:
        verified = " (verified)" if (model.repair or {}).get("verified") else ""
        parts.append("proposed: " + "; ".join(readback.change_text(c) for c in changes) + verified)
    return " ".join(p.rstrip(".") + "." for p in parts)


def _culprit_annotation(culprit: Culprit, model: Hypermodel, root: Path, order: int) -> Annotation:
    file, line, end = model.location(culprit.names)
    ids = [c.id for c in culprit.cases]
    shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    what = culprit.what
    if not culprit.names:
        head = f"the defaults already fail ({what}): fix the build function or its defaults first"
    else:
        head = f"{culprit.label} -> {what}"
    message = f"{model.spec}: {head}. {_effect(culprit, model)}. Cases: {shown}."
    fix = _fix(culprit, model)
    if fix:
        message += " " + fix
    if culprit.names:
        title = f"{model.spec}: {culprit.label} {readback.SEVERITY_WORDS[culprit.severity]}"
    else:
        title = f"{model.spec}: the defaults fail"
    level = "warning" if culprit.severity == DECLARED else "error"
    return Annotation(level, title, message, relative(file, root), line, end, culprit.severity, order)


def _forecast_annotation(model: Hypermodel, root: Path, order: int) -> Annotation | None:
    forecast = model.forecast or {}
    message = str(forecast.get("message") or "")
    if not message:
        return None
    file, line, _ = model.location()
    tuner = forecast.get("tuner", "the tuner")
    if forecast.get("fails_run"):
        return Annotation(
            "error",
            f"{model.spec}: {tuner} would abort",
            f"{model.spec}: {message}",
            relative(file, root),
            line,
            None,
            STOPS,
            order,
        )
    if (forecast.get("abort_probability") or 0) > 0:
        return Annotation(
            "warning",
            f"{model.spec}: {tuner} may abort",
            f"{model.spec}: {message}",
            relative(file, root),
            line,
            None,
            DECLARED,
            order,
        )
    return None


def _growth_annotation(model: Hypermodel, root: Path, order: int) -> Annotation | None:
    """Memory that grows from trial to trial (the default case's ``memory_growth``): at the build's ``def`` line,
    as nothing in the space is to blame."""
    grown = [c for c in model.cases if c.outcome in outcomes.HYPERMODEL_WIDE]
    if not grown:
        return None
    file, line, _ = model.location()
    return Annotation(
        "error",
        f"{model.spec}: memory grows from trial to trial",
        f"{model.spec}: {grown[0].message}",
        relative(file, root),
        line,
        None,
        FAILS,
        order,
    )


def _health_annotations(model: Hypermodel, root: Path, order: int) -> list[Annotation]:
    """Each health finding, at its line in the user's code (else the build's ``def``), named by its check."""
    out = []
    for i, finding in enumerate(model.health):
        file, line = finding.location if finding.location else model.location()[:2]
        out.append(
            Annotation(
                "error",
                f"{model.spec}: health check {finding.check}",
                f"{finding.message}: {finding.fix} (suppress: --hypermodel-suppress-health-check {finding.check})",
                relative(file, root),
                line,
                None,
                FAILS,
                order + i,
            )
        )
    return out


def collect(payload: dict[str, Any], root: Path) -> list[Annotation]:
    """Every annotation the report calls for, most important first (unlimited)."""
    out: list[Annotation] = []
    for model in readback.hypermodels(payload):
        forecast = _forecast_annotation(model, root, len(out))
        if forecast:
            out.append(forecast)
        growth = _growth_annotation(model, root, len(out))
        if growth:
            out.append(growth)
        out += [_culprit_annotation(c, model, root, len(out) + i) for i, c in enumerate(model.culprits())]
        out += _health_annotations(model, root, len(out))
    return sorted(out, key=lambda a: (a.rank, a.order))


def repository_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where GitHub's file paths start: the checkout (``GITHUB_WORKSPACE``), whatever directory the run is in."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("GITHUB_WORKSPACE") or Path.cwd())


def annotations(payload: dict[str, Any], root: Path) -> list[str]:
    """Workflow commands for the report: at most 10 errors and 10 warnings, the worst first.

    What GitHub would drop is counted in a closing ``::notice``, so a reader
    knows to open the step summary.
    """
    errors = [a for a in collect(payload, root) if a.level == "error"]
    warnings = [a for a in collect(payload, root) if a.level == "warning"]
    lines = [a.command() for a in errors[:LIMIT] + warnings[:LIMIT]]
    left = len(errors[LIMIT:]) + len(warnings[LIMIT:])
    if left:
        lines.append(
            Annotation(
                "notice",
                "hypermodel preflight",
                f"{plural(left, 'more finding')} left out (GitHub shows {LIMIT} per kind): "
                "see the job summary or the JSON report",
            ).command()
        )
    return lines


# --- step summary -------------------------------------------------------------------------------------------


def _text(text: str) -> str:
    """Free text in Markdown: no raw HTML (a message may quote ``<tf.Tensor ...>``)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    """A Markdown table cell: no pipes, newlines or raw HTML to break the row."""
    return _text(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _code(text: str) -> str:
    """A code span (its content is literal: no entity escaping), safe in a table."""
    return "`" + str(text).replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


_MARK = {"passed": "✅", "failed": "❌", "xfailed": "⚠️"}


def _outcome(case: CaseView) -> str:
    detail = case.outcome + (f": {case.exception}" if case.exception else "")
    return f"{_MARK.get(case.test_outcome, '❔')} {case.test_outcome} ({detail})"


def _case_table(model: Hypermodel) -> list[str]:
    rows = ["| Case | Values | Outcome | KerasTuner would |", "| --- | --- | --- | --- |"]
    for c in model.cases:
        rows.append(
            f"| {_code(c.id)} | {_cell(c.values_text(limit=6))} | {_cell(_outcome(c))} "
            f"| {_cell(readback.disposition_text(c))} |"
        )
    if len(model.cases) > FOLD_ROWS:
        failed = sum(c.severity is not None for c in model.cases)
        return [
            "<details><summary>" + f"{plural(len(model.cases), 'case')}, {failed} not clean" + "</summary>",
            "",
            *rows,
            "",
            "</details>",
        ]
    return rows


def _status(model: Hypermodel) -> str:
    entry = model.entry
    if not entry.get("complete", True):
        return f"🟠 incomplete ({entry.get('cases')} of {plural(entry.get('planned') or 0, 'case')})"
    if model.green:
        return "🟢 green"
    return "🔴 red"


def _forecast(model: Hypermodel) -> str:
    forecast = model.forecast
    if not forecast:
        return "–"
    mark = "🔴" if forecast.get("fails_run") else ("🟠" if (forecast.get("abort_probability") or 0) > 0 else "🟢")
    return f"{mark} {forecast.get('message', '')}"


def _forecast_cell(model: Hypermodel) -> str:
    forecast = model.forecast or {}
    mark = "🔴" if forecast.get("fails_run") else ("🟠" if (forecast.get("abort_probability") or 0) > 0 else "🟢")
    return f"{mark} {readback.forecast_short(model.forecast)}" if forecast else "–"


def _section(model: Hypermodel) -> list[str]:
    lines = [f"### {_code(model.spec)}: {_status(model)}", ""]
    if model.forecast:
        lines += [f"> {_text(_forecast(model))}", ""]
        timing = model.forecast.get("timing")
        if isinstance(timing, dict) and timing.get("line"):
            lines += [f"⏱ {_text(str(timing['line']))}", ""]
    if model.health:
        lines.append("**Health checks:**")
        for finding in model.health:
            where = f" ({Path(finding.location[0]).name}:{finding.location[1]})" if finding.location else ""
            lines.append(_text(f"- `{finding.check}`: {finding.message}{where}; fix: {finding.fix}"))
        lines.append("")
    culprits = model.culprits()
    if culprits:
        lines.append("**To constrain:**")
        for c in culprits:
            file, line, _ = model.location(c.names)
            where = f" ({Path(file).name}:{line})" if file and line else ""
            label = c.label if c.names else "the defaults"
            lines.append(_text(f"- {label} → {c.what}, {readback.SEVERITY_WORDS[c.severity]}{where}"))
        lines.append("")
    if model.boundaries:
        lines += (
            ["**Boundaries:**", ""]
            + [_text(f"- {readback.boundary_text(b)}") for b in model.boundaries if isinstance(b, dict)]
            + [""]
        )
    if model.repair:
        lines += _repair(model.repair)
    lines += [*_case_table(model), ""]
    return lines


def _repair(repair: dict[str, Any]) -> list[str]:
    changes = [c for c in repair.get("changes") or [] if isinstance(c, dict)]
    verified = repair.get("verified")
    how = (
        f"verified over {plural(repair.get('cases') or 0, 'case')}"
        if verified and repair.get("cases")
        else "verified"
        if verified
        else "not verified"
    )
    lines = [f"**Proposed repair** ({how}):", ""] + [_text(f"- {readback.change_text(c)}") for c in changes] + [""]
    lines += _diff_details("The repair as a diff", repair.get("diff"))
    narrower = repair.get("alternative")
    if isinstance(narrower, dict):
        changes = [c for c in narrower.get("changes") or [] if isinstance(c, dict)]
        lines += [f"**Narrower, for the interaction** ({readback.narrower_how(narrower)}):", ""]
        lines += [_text(f"- {readback.change_text(c)}") for c in changes] + [""]
        lines += _diff_details("The narrower repair as a diff", narrower.get("diff"))
    return lines


def _diff_details(title: str, diff: str | None) -> list[str]:
    if not diff:
        return []
    fence = "````" if "```" in diff else "```"
    return [f"<details><summary>{title}</summary>", "", f"{fence}diff", diff.rstrip("\n"), fence, "", "</details>", ""]


def step_summary(payload: dict[str, Any]) -> str:
    """The job summary in GitHub-flavoured Markdown: the verdict first, then each hypermodel."""
    models = readback.hypermodels(payload)
    ok = readback.green(payload)
    summary = payload.get("summary") or {}
    outcomes = ", ".join(f"{n} {name}" for name, n in (summary.get("outcomes") or {}).items())
    lines = [f"## {'🟢' if ok else '🔴'} Hypermodel preflight: {'green' if ok else 'red'}", ""]
    red = [m for m in models if not m.green]
    lines.append(
        f"{plural(len(models), 'hypermodel')}, {len(red)} red; {plural(summary.get('cases', 0), 'case')} ({outcomes}); "
        f"KerasTuner would spend {plural(summary.get('runs', 0), 'run')} on them."
    )
    lines += ["", "| Hypermodel | Preflight | Forecast |", "| --- | --- | --- |"]
    lines += [f"| {_code(m.spec)} | {_status(m)} | {_cell(_forecast_cell(m))} |" for m in models]
    lines.append("")
    for m in sorted(models, key=lambda m: m.green):  # red ones first: that is what the reader came for
        lines += _section(m)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_step_summary(payload: dict[str, Any], environ: Mapping[str, str] | None = None) -> Path | None:
    """Append the summary to ``$GITHUB_STEP_SUMMARY`` when GitHub set it; the plugin calls this."""
    target = (environ if environ is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(step_summary(payload))
    return path
