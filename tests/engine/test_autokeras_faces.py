"""AutoKeras at the faces: a SPEC that names its tuner or its AutoModel is refused with one line naming
``preflight(clf, x, y)``, and ``report.guard(clf)`` gates ``clf.fit``. The verdicts are proved against ``clf.fit``
in ``tests/proofs/test_autokeras_searches.py``."""

from __future__ import annotations

import textwrap

import pytest

import pytest_hypermodel as ph
from pytest_hypermodel.space import target

ak = pytest.importorskip("autokeras")


@pytest.mark.parametrize(
    ("returned", "said"),
    [
        ("clf.tuner", "StructuredDataClassifierTuner is AutoKeras's tuner"),
        ("clf", "returned an AutoKeras StructuredDataClassifier"),
    ],
)
def test_a_spec_returning_autokeras_is_refused_with_one_line(tmp_path, returned, said):
    (tmp_path / "train.py").write_text(
        textwrap.dedent(
            f"""
            import autokeras as ak

            def make_tuner():
                clf = ak.StructuredDataClassifier(max_trials=2, directory="ak_project")
                return {returned}
            """
        )
    )
    with pytest.raises(target.SpecError) as refused:
        target.resolve("train.py:make_tuner", tmp_path, base=tmp_path)
    line = str(refused.value)
    assert line.startswith("--hypermodel train.py:make_tuner: ") and said in line
    assert "preflight(clf, x, y)" in line and "\n" not in line
    assert not (tmp_path / "ak_project").exists()  # made in a throwaway project, as any tuner a SPEC returns


def test_guard_gates_the_auto_models_fit(tmp_path):
    clf = ak.StructuredDataClassifier(max_trials=1, directory=str(tmp_path), project_name="guarded")
    red = ph.Report({"hypermodels": [{"green": False}]})
    assert red.guard(clf) is clf
    with pytest.raises(ph.PreflightFailed, match="the preflight is red"):
        clf.fit(None, None)
