"""Regenerate docs/html-report.png from a preflight's JSON report.

    python -m pytest -c example_project/pytest.ini --hypermodel-report /tmp/x.json
    python docs/make_screenshot.py /tmp/x.json

Needs a Chromium or Chrome on PATH (Debian: apt-get install chromium).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_hypermodel.views import html as html_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the preflight's JSON report (--hypermodel-report)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "html-report.png")
    parser.add_argument("--size", default="1200,1600", help="browser window WIDTH,HEIGHT (default: 1200,1600)")
    args = parser.parse_args()
    browser = next(filter(None, map(shutil.which, BROWSERS)), None)
    if browser is None:
        parser.error("no chromium or chrome on PATH: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html_report.render(json.loads(args.report.read_text())), encoding="utf-8")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={args.out.resolve()}", f"--window-size={args.size}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
