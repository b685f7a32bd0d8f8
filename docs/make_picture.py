"""Make docs/html-report.svg, the README's picture, from a real preflight of the current code; or, with --check,
fail when the committed picture is not what the current code writes (the release checks run it so).

    python docs/make_picture.py            # run the preflight, write docs/html-report.svg
    python docs/make_picture.py --check    # run it, compare with docs/html-report.svg (timings, the date and
                                           # the versions aside); exit status 1 and the differing lines if not

The preflight is example_project's ``guide_value_error`` (the failed-trials guide's grid: failing cases, the
forecast, a heatmap, the boundaries and the two verified repairs), run by pytest in a scratch copy of
example_project/, so that nothing in the checkout changes. The picture is the HTML report that run wrote,
rendered by the plugin's own renderer and held as XHTML inside an SVG ``foreignObject`` (an image a browser draws
as the page: no screenshot tool, and its text stays text, so a check can read it). About half a minute.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html import escape
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_hypermodel.views import html as html_report  # noqa: E402

PICTURE = ROOT / "docs" / "html-report.svg"
SPEC = "example_project/models.py:guide_value_error"
#: The picture's size: the top of the page, as a browser window this size shows it.
WIDTH, HEIGHT = 1200, 1500
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _XHTML(HTMLParser):
    """HTML in, well-formed XHTML out (an SVG is XML): void elements closed, text and attributes escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0  # inside <head>'s title or meta: not part of the picture

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("html", "head", "body", "title", "meta", "link"):
            self.skip += tag == "title"
            return
        shown = "".join(f' {name}="{escape(value or "", quote=True)}"' for name, value in attrs)
        self.out.append(f"<{tag}{shown}{' /' if tag in VOID else ''}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and tag not in ("html", "head", "body", "title", "meta", "link"):
            self.out.append(f"</{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("html", "head", "body", "title", "meta", "link") or tag in VOID:
            self.skip -= tag == "title"
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(escape(data, quote=False))


def picture(page: str) -> str:
    """The SVG of an HTML report: its page as XHTML in a ``foreignObject``, cut at HEIGHT."""
    parser = _XHTML()
    parser.feed(page)
    parser.close()
    # The page's variables and body style, on the picture's root element (an SVG has no <body>).
    body = "".join(parser.out).replace(":root {", ".page {", 1).replace("\nbody {", "\n.page {", 1)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">\n'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>\n'
        f'<foreignObject x="0" y="0" width="{WIDTH}" height="{HEIGHT}">\n'
        f'<div xmlns="http://www.w3.org/1999/xhtml" class="page">'
        f"{body}</div>\n</foreignObject>\n</svg>\n"
    )


def run_preflight() -> str:
    """Run the preflight of SPEC with pytest in a scratch copy of example_project/; the HTML report it wrote."""
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copytree(ROOT / "example_project", Path(scratch) / "example_project")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        env.pop("PYTEST_ADDOPTS", None)
        command = [sys.executable, "-m", "pytest", "--hypermodel", SPEC,
                   "--hypermodel-report", "preflight.json", "--hypermodel-html", "preflight.html"]
        done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True, timeout=600)
        page = Path(scratch) / "preflight.html"
        if not page.exists():
            sys.exit(f"make_picture: the preflight wrote no HTML report (exit {done.returncode}):\n"
                     f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
        # The renderer of this checkout, on the run's payload: what the picture shows is what the code writes.
        return html_report.render(json.loads((Path(scratch) / "preflight.json").read_text()))


#: What changes from run to run or machine to machine, masked before a check compares: the date, timings and
#: rates, the versions and the machine's devices.
_VARIES = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"), "DATE"),
    (re.compile(r"(<th>(?:Versions|Python|Devices)</th><td[^>]*>)[^<]*"), r"\1..."),
    (re.compile(r"(?<![\w/.#-])\d+(?:\.\d+)?(?: ?(?:ms|s)|/s)\b"), "N s"),
]


def normalized(svg: str) -> list[str]:
    for pattern, replacement in _VARIES:
        svg = pattern.sub(replacement, svg)
    return svg.replace("><", ">\n<").splitlines()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed picture; write nothing")
    parser.add_argument("--out", type=Path, default=PICTURE)
    args = parser.parse_args()
    made = picture(run_preflight())
    if not args.check:
        args.out.write_text(made, encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    committed = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    diff = list(difflib.unified_diff(normalized(committed), normalized(made), str(args.out), "the current code",
                                     lineterm="", n=1))
    if diff:
        print("\n".join(diff[:80]))
        print(f"make_picture: {args.out} is not what the current code writes: run python docs/make_picture.py")
        return 1
    print(f"{args.out} is what the current code writes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
