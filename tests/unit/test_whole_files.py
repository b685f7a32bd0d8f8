"""Report files are written whole: writers racing on one path leave one writer's complete text, never a mix; and
placed together under one lock (the cheap half of tests/plugin/test_whole_reports.py, whose two real runs at once go
with the proofs)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from pytest_hypermodel.views import outputs


def test_writers_racing_on_one_path_leave_one_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "report.json"
    texts = [str(n) * 200_000 for n in range(8)]  # each large enough that a write in place takes several calls
    seen: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            if path.exists():
                seen.append(path.read_text())

    reader = threading.Thread(target=read)
    reader.start()
    failed: list[BaseException] = []

    def write(text: str) -> None:
        try:
            for _ in range(5):
                outputs.write_text(path, text)
        except OSError as exc:  # a temporary name shared by two writers: one renames the other's file away
            failed.append(exc)

    writers = [threading.Thread(target=write, args=(t,)) for t in texts]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert failed == []
    assert path.read_text() in texts
    assert seen and all(text in texts for text in seen)
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]  # no temporary file left behind


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
