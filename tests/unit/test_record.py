"""A case's entry read back as a typed record: what the properties say, and nothing raised by an entry a hand or
an older run wrote."""

from __future__ import annotations

from types import SimpleNamespace

from pytest_hypermodel.rules import record, verdict
from pytest_hypermodel.rules.policy import Disposition
from pytest_hypermodel.rules.record import CaseRecord
from pytest_hypermodel.space.plan import Case


def test_a_record_reads_what_the_properties_wrote():
    result = SimpleNamespace(
        outcome="diverged",
        exception=None,
        params=120,
        memory_bytes=None,
        memory_budget=None,
        seconds=1.25,
        backend="tensorflow",
        device="cpu",
        predicted=False,
        losses=[1.0, float("inf")],
        start_loss=0.5,
        reference_loss=None,
        rss_growth_bytes=None,
        step_seconds=0.01,
        epoch_seconds=0.2,
        search_epochs=20,
        search_batches=100,
        steps=6,
        message="loss went up",
        traceback=None,
    )
    case = Case("units=64", "extreme", {"units": 64, "\x07bell": 1}, ("units",))
    props = verdict.properties(case, result, Disposition("completed", 1), "m.py:build", "f00d")
    entry = verdict.entry("m.py::build[units=64]", props, "passed")
    r = CaseRecord.from_entry(entry)
    assert (r.nodeid, r.test_outcome, r.spec, r.fingerprint, r.kind, r.id) == (
        "m.py::build[units=64]",
        "passed",
        "m.py:build",
        "f00d",
        "extreme",
        "units=64",
    )
    assert dict(r.values) == {"units": 64, "\x07bell": 1}
    assert (r.outcome, r.disposition, r.runs, r.exception) == ("diverged", "completed", 1, "")
    assert (r.params, r.memory_bytes, r.seconds, r.losses, r.start_loss) == (120, None, 1.25, (1.0, "inf"), 0.5)
    assert (r.step_seconds, r.search_epochs, r.search_batches, r.steps, r.epochs) == (0.01, 20, 100, 6, 2)
    assert entry[record.CASE_SPEC] == "m.py:build" and record.HP_PREFIX + "units" not in entry


def test_an_entry_with_missing_or_unreadable_properties_reads_as_empty():
    r = CaseRecord.from_entry({"nodeid": "x", "seconds": "soon", "runs": "", "values": None, "losses": "no"})
    assert (r.outcome, r.disposition, r.spec, r.runs, r.seconds, dict(r.values), r.losses) == (
        None,
        None,
        "",
        0,
        0.0,
        {},
        (),
    )
    assert CaseRecord.from_entry({"seconds": "2", "step_seconds": "0.5"}).seconds == 2.0
    assert isinstance(record.number("3"), int) and isinstance(record.number("3.0"), float)
    assert record.number("") is None and record.number(None) is None
