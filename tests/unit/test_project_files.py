"""The project's files, watched over a preflight: what the user's code created is removed, what it changed or
deleted is put back, what the run itself writes (its reports) and what the user asked for (the repair) are left."""

from __future__ import annotations

from pytest_hypermodel.engine import project_files
from pytest_hypermodel.engine.project_files import CHANGED, CREATED, DELETED, FileChange, ProjectFiles


def _tree(root):
    (root / "models.py").write_text("def build(hp): ...\n")
    (root / "best_model.keras").write_bytes(b"last night's search" * 4)
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("a,b\n1,2\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")


def test_what_the_user_s_code_wrote_or_deleted_is_put_back_and_told(tmp_path):
    _tree(tmp_path)
    watch = ProjectFiles.snapshot(tmp_path)
    (tmp_path / "best_model.keras").write_bytes(b"a preflight's checkpoint, larger than before")
    (tmp_path / "data" / "train.csv").unlink()
    (tmp_path / "logs" / "trial_0").mkdir(parents=True)
    (tmp_path / "logs" / "trial_0" / "events").write_text("x")
    (tmp_path / ".git" / "index").write_text("not the user's code's: a hidden directory is not watched")
    changes = watch.restore()
    assert changes == [
        FileChange("best_model.keras", CHANGED, True),
        FileChange("data/train.csv", DELETED, True),
        FileChange("logs/trial_0/events", CREATED, True),
    ]
    assert (tmp_path / "best_model.keras").read_bytes() == b"last night's search" * 4
    assert (tmp_path / "data" / "train.csv").read_text() == "a,b\n1,2\n"
    assert not (tmp_path / "logs").exists()  # the directories it made for what it wrote, emptied, go too
    assert (tmp_path / ".git" / "index").exists()
    line = project_files.told(changes)
    assert "best_model.keras (changed), data/train.csv (deleted), logs/trial_0/events (created)" in line
    assert "put them back as they were" in line and "give what it writes a path of its own" in line


def test_the_run_s_own_reports_and_the_repair_asked_for_are_left(tmp_path):
    _tree(tmp_path)
    watch = ProjectFiles.snapshot(tmp_path, excluded=[tmp_path / "report.json"])
    (tmp_path / "report.json").write_text("{}")
    (tmp_path / "models.py").write_text("def build(hp): ...  # repaired\n")
    assert watch.restore(keep=[tmp_path / "models.py"]) == []
    assert (tmp_path / "report.json").exists() and "repaired" in (tmp_path / "models.py").read_text()


def test_a_file_too_large_to_copy_is_told_as_not_put_back(tmp_path, monkeypatch):
    _tree(tmp_path)
    monkeypatch.setattr(project_files, "MOST_BYTES", 30)  # the small files fit, the checkpoint does not
    watch = ProjectFiles.snapshot(tmp_path)
    (tmp_path / "best_model.keras").write_bytes(b"overwritten")
    (tmp_path / "models.py").write_text("changed too")
    changes = watch.restore()
    assert changes == [FileChange("best_model.keras", CHANGED, False), FileChange("models.py", CHANGED, True)]
    assert "best_model.keras could not be (too large to keep a copy)" in project_files.told(changes)


def test_a_tree_too_large_to_watch_is_left_alone(tmp_path, monkeypatch):
    _tree(tmp_path)
    monkeypatch.setattr(project_files, "MOST_FILES", 2)
    watch = ProjectFiles.snapshot(tmp_path)
    (tmp_path / "new.txt").write_text("x")
    assert watch.restore() == [] and (tmp_path / "new.txt").exists()


def test_only_what_the_run_s_processes_wrote_is_put_back_not_an_edit_made_meanwhile(tmp_path):
    _tree(tmp_path)
    watch = ProjectFiles.snapshot(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "best.keras").write_text("the user's code wrote it")
    (tmp_path / "models.py").write_text("def build(hp): ...  # edited in an editor while the preflight ran\n")
    (tmp_path / "data" / "train.csv").unlink()  # removed by a directory's removal the run noted
    noted = {str(tmp_path / "checkpoints" / "best.keras"), str(tmp_path / "data")}
    assert watch.restore(attributed=noted) == [
        FileChange("checkpoints/best.keras", CREATED, True),
        FileChange("data/train.csv", DELETED, True),
    ]
    assert "edited in an editor" in (tmp_path / "models.py").read_text()
