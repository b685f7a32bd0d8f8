"""Report files are written whole: writers racing on one path leave one writer's complete text, never a mix."""

from __future__ import annotations

import threading
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
