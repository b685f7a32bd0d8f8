"""Report files written whole and placed together (``views.outputs``): the cheap half of
tests/plugin/test_whole_reports.py, whose two real runs at once go with the proofs."""

from __future__ import annotations

import threading
import time

from pytest_hypermodel.views import outputs


def test_a_second_run_waits_for_the_first_to_place_its_files(tmp_path):
    report, junit = tmp_path / "out" / "r.json", tmp_path / "out" / "r.xml"
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with outputs.folders_locked([report, junit]):
            holding.set()
            time.sleep(0.3)
            order.append("first placed")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait()
    with outputs.folders_locked([junit]):  # the same folder: it waits for the first run's renames
        order.append("second placed")
    thread.join()
    assert order == ["first placed", "second placed"]


def test_a_file_is_written_beside_its_path_under_a_name_of_its_own(tmp_path):
    path = tmp_path / "r.xml"
    names = {outputs.beside(path) for _ in range(3)}
    assert len(names) == 3 and all(n.parent == path.parent and n != path for n in names)
