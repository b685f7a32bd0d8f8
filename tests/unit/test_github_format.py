"""GitHub Actions annotations and step summary, from report payloads made here: escaping, the order and cap of the
errors, table cells."""

from __future__ import annotations

from pathlib import Path

from report_payloads import many_culprits, parse  # tests/ is on sys.path

from pytest_hypermodel.views import github


def test_escaping():
    assert github.escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert github.escape_property("a.py:f, g") == "a.py%3Af%2C g"
    annotation = github.Annotation("error", "t: x, y", "line one\nline two 5%", "dir/a,b.py", 3)
    assert annotation.command() == "::error file=dir/a%2Cb.py,line=3,title=t%3A x%2C y::line one%0Aline two 5%25"


def test_at_most_ten_errors_fatal_first_then_failed_then_divergence():
    lines = github.annotations(many_culprits(15), Path("/repo"))
    errors = [parse(line) for line in lines if line.startswith("::error")]
    warnings = [parse(line) for line in lines if line.startswith("::warning")]
    notices = [line for line in lines if line.startswith("::notice")]
    assert len(errors) == 10
    assert [props["line"] for _, props, _ in errors[:2]] == ["24", "12"]  # fatal hp_14, then hp_2 (failed)
    assert "FatalError" in errors[0][2]
    assert all("ValueError" in message for _, _, message in errors[1:])
    # 12 failed hyperparameters + 1 diverging: the divergence and 3 failed ones are left out, and said so.
    assert not any("diverged" in message for _, _, message in errors)
    assert len(notices) == 1 and "4 more findings" in notices[0]
    # The declared failure is a warning on its own line.
    assert len(warnings) == 1 and warnings[0][1]["line"] == "11" and "FailedTrialError" in warnings[0][2]
    assert all(props["file"] == "m.py" for _, props, _ in errors)


def test_markdown_cells_cannot_break_the_table():
    odd = many_culprits(3)
    odd["cases"][1]["values"]["hp_0"] = "a|b<script>"
    odd["cases"][1]["case.id"] = "hp_0=a|b<script>"
    summary = github.step_summary(odd)
    assert "<script>" not in summary.replace("`hp_0=a\\|b<script>`", "")
    assert "a\\|b&lt;script&gt;" in summary
