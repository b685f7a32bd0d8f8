"""The notebooks guide, run as a real notebook: each ``python`` block of docs/how-to/notebooks.md is a cell, executed
in order by nbclient in an IPython kernel of this very Python, and its outputs are what the guide says they are:
the report an HTML fragment (no page, styles scoped to its root), its text a few lines, a location in a cell named
``Cell In[N], line M``, and a guarded search refused. A proof: the guide's preflights run whole (two minutes on a
busy 2-core machine); tests/unit/test_notebook_view.py checks the same views on report payloads."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from doc_blocks import DOCS, blocks  # tests/ is on sys.path

import pytest_hypermodel

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

GUIDE = DOCS / "how-to" / "notebooks.md"
PACKAGE_ROOT = str(Path(pytest_hypermodel.__file__).parents[1])
KERNEL = "pytest-hypermodel-guide"


def _kernel_of_this_python(jupyter_path: Path) -> None:
    """A kernelspec that runs ipykernel in ``sys.executable`` (a fresh venv has no kernel of its own installed),
    importing this checkout's package."""
    spec = jupyter_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "pytest-hypermodel's tests",
                "language": "python",
                "env": {"PYTHONPATH": PACKAGE_ROOT},
            }
        )
    )


def _outputs(cell: dict, kind: str) -> list[dict]:
    return [o for o in cell["outputs"] if o["output_type"] == kind]


def _shown(cell: dict) -> dict:
    """The data of the cell's result (its last expression)."""
    (result,) = _outputs(cell, "execute_result")
    return result["data"]


def test_the_notebooks_guide_runs_as_a_notebook_and_shows_what_it_says(tmp_path, monkeypatch):
    sources = [b.text for b in blocks(GUIDE) if b.language == "python"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    for cell in notebook.cells:
        if "raises PreflightFailed" in cell.source:
            cell.metadata["tags"] = ["raises-exception"]  # the guard's point: nbclient goes on past it
    _kernel_of_this_python(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    client = nbclient.NotebookClient(
        notebook, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    nbformat.write(notebook, tmp_path / "notebooks.ipynb")  # to look at, when this fails
    cells = notebook.cells
    shown = _shown(next(c for c in cells if c.source.startswith("report = ")))
    html, text = shown["text/html"], shown["text/plain"]
    assert html.startswith('<div class="hypermodel-report"') and html.rstrip().endswith("</div>")
    assert not re.search(r"<(!DOCTYPE|html|head|title|body)\b", html, re.I)
    assert text.startswith("<Report green: the search may start") and len(text.splitlines()) <= 6, text
    assert _shown(next(c for c in cells if c.source.startswith("report.green")))["text/plain"] == "True"

    red = _shown(next(c for c in cells if c.source.endswith("\ncnn_report")))
    cnn_cell = next(c for c in cells if "def build_cnn" in c.source)
    declared = 1 + next(i for i, line in enumerate(cnn_cell.source.splitlines()) if "kernel_size" in line)
    where = f"Cell In[{cnn_cell.execution_count}], line {declared}"
    assert red["text/plain"].startswith("<Report red: fix the space before the search")
    assert "repair: lower max_value of kernel_size" in red["text/plain"], red["text/plain"]
    assert where in red["text/html"], re.findall(r"\(([^()]*line[^()]*)\)", red["text/html"])
    assert "ipykernel_" not in red["text/html"]

    (error,) = _outputs(cells[-1], "error")
    assert error["ename"] == "PreflightFailed" and "kernel_size" in error["evalue"], error["evalue"]
