"""The user's project tree, watched over a preflight: what the user's code wrote or deleted there is put back.

The preflight runs the user's builds, fits and callbacks for real. The search's callbacks are pointed into the
throwaway directory (``probe.redirect``), but a build, a ``HyperModel.fit`` or a tuner's ``run_trial`` may still
write (``model.save("best.keras")``, ``np.save``) or delete in the project. Before the first of the user's code
runs, each file's size and modification time is taken, and a copy of the small ones kept; after the last, what was
created is removed, what was changed or deleted is put back from its copy, and the user is told what and where
(a file too large to have been copied is told as changed and left).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: Directories never watched: version control, virtual environments, caches, build outputs.
SKIPPED_DIRECTORIES = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist"})
#: The most files watched (a data directory of a million images is not the user's code); past it, no watch.
MOST_FILES = 20_000
#: The most bytes copied to put files back; files past it (largest first) are watched but not copied.
MOST_BYTES = 64 * 2**20

CREATED, CHANGED, DELETED = "created", "changed", "deleted"


@dataclass(frozen=True)
class FileChange:
    """One file of the project that the preflight's run of the user's code touched, and what was done about it."""

    path: str
    change: str
    #: Whether the file is as it was before the preflight again.
    restored: bool

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "change": self.change, "restored": self.restored}


def _watched(root: Path, excluded: frozenset[Path]) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory)
        subdirectories[:] = [
            d
            for d in subdirectories
            if not d.startswith(".")
            and d not in SKIPPED_DIRECTORIES
            and not (here / d / "pyvenv.cfg").exists()
            and (here / d).resolve() not in excluded
        ]
        for name in files:
            path = here / name
            if path.resolve() not in excluded:
                yield path


@dataclass
class ProjectFiles:
    """A snapshot of ``root`` (see the module); :meth:`restore` puts it back and says what had changed."""

    root: Path
    excluded: frozenset[Path] = frozenset()
    #: ``path -> (size, mtime_ns)`` of each file watched; ``None`` when the tree was too large to watch.
    stats: dict[Path, tuple[int, int]] | None = None
    copies: dict[Path, Path] = field(default_factory=dict)
    _keep: str | None = None

    @classmethod
    def snapshot(cls, root: Path, excluded: Iterable[str | Path] = ()) -> ProjectFiles:
        watch = cls(Path(root).resolve(), frozenset(Path(p).resolve() for p in excluded))
        stats: dict[Path, tuple[int, int]] = {}
        for path in _watched(watch.root, watch.excluded):
            if len(stats) >= MOST_FILES:
                return watch
            try:
                info = path.stat()
            except OSError:
                continue
            stats[path] = (info.st_size, info.st_mtime_ns)
        watch.stats = stats
        budget = MOST_BYTES
        for path, (size, _) in sorted(stats.items(), key=lambda item: item[1][0]):
            if size > budget:
                break
            watch._copy(path)
            budget -= size
        return watch

    def _copy(self, path: Path) -> None:
        if self._keep is None:
            self._keep = tempfile.mkdtemp(prefix="pytest-hypermodel-project-")
        kept = Path(self._keep) / str(len(self.copies))
        try:
            shutil.copy2(path, kept)
        except OSError:
            return
        self.copies[path] = kept

    def changes(self) -> list[tuple[Path, str]]:
        """What differs from the snapshot now, by path."""
        if self.stats is None:
            return []
        now: dict[Path, tuple[int, int]] = {}
        for path in _watched(self.root, self.excluded):
            try:
                info = path.stat()
            except OSError:
                continue
            now[path] = (info.st_size, info.st_mtime_ns)
        found = [(p, CREATED) for p in now if p not in self.stats]
        found += [(p, DELETED) for p in self.stats if p not in now]
        found += [(p, CHANGED) for p, stat in now.items() if p in self.stats and self.stats[p] != stat]
        return sorted(found)

    def restore(self, keep: Iterable[str | Path] = (), attributed: set[str] | None = None) -> list[FileChange]:
        """Put the tree back as the snapshot found it, but for ``keep`` (what the user asked the run to write) and,
        when ``attributed`` is given, for what no path in it (or a directory above it) names: the run's own
        writing, not an edit made meanwhile. Each change, relative to the root, and whether it was put back."""
        kept = {Path(p).resolve() for p in keep}
        # inside the project only: a temporary directory made under /tmp names /tmp, above a project there
        inside = {a for a in attributed or () if self.root in Path(a).parents}

        def ours(path: Path) -> bool:
            return attributed is None or any(str(p) in inside for p in (path, *path.parents))

        told, found = [], [(p, c) for p, c in self.changes() if p.resolve() not in kept and ours(p)]
        for path, change in found:
            restored = False
            try:
                if change == CREATED:
                    path.unlink()
                    restored = True
                elif path in self.copies:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(self.copies[path], path)
                    restored = True
            except OSError:
                pass
            told.append(FileChange(str(path.relative_to(self.root)), change, restored))
        for directory in sorted({p.parent for p, c in found if c == CREATED}, reverse=True):
            _remove_if_empty_up_to(directory, self.root)
        self.discard()
        return told

    def discard(self) -> None:
        if self._keep is not None:
            shutil.rmtree(self._keep, ignore_errors=True)
            self._keep = None


def _remove_if_empty_up_to(directory: Path, root: Path) -> None:
    """Directories the user's code made for the files it wrote, emptied now, are removed too."""
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def told(changes: list[FileChange]) -> str:
    """One line for the user: which files the preflight's run of their code wrote or deleted, and what became of
    them."""
    shown = ", ".join(f"{c.path} ({c.change})" for c in changes[:5]) + (
        f" and {len(changes) - 5} more" if len(changes) > 5 else ""
    )
    left = [c.path for c in changes if not c.restored]
    after = (
        "the preflight put them back as they were"
        if not left
        else f"the preflight put back what it could; {', '.join(left[:3])} could not be (too large to keep a copy)"
    )
    return (
        f"your code wrote in the project during the preflight: {shown}; {after}. A real search writes there too: "
        "give what it writes a path of its own (a callback's filepath or log_dir, a save in fit())"
    )


__all__ = ["CHANGED", "CREATED", "DELETED", "FileChange", "ProjectFiles", "told"]
