"""Print covering-array sizes reached against best-known sizes and the lower bound.

Usage: python benchmarks/covering_sizes.py [time_budget_seconds]

Best-known sizes for uniform shapes come from Colbourn's tables
(shared/reference/covering-arrays-best-known.csv, a row (t, v, k, N) means N rows
suffice for up to k factors); mixed shapes use the numbers quoted in the plan.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_hypermodel.space.covering import covering_array, lower_bound, uncovered

CSV = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "covering-arrays-best-known.csv"

SHAPES: list[tuple[dict[int, int], int, str]] = [
    ({2: 10}, 2, ""),
    ({2: 100}, 2, ""),
    ({2: 200}, 2, ""),
    ({3: 13}, 2, ""),
    ({4: 8}, 2, ""),
    ({2: 6, 3: 3, 5: 2}, 2, "25 (optimum; PICT 26)"),
    ({2: 6, 3: 3, 5: 2}, 3, "? (PICT 89-95)"),
    ({2: 5}, 3, ""),
    ({2: 10}, 3, ""),
    ({2: 12}, 3, ""),
    ({2: 20}, 3, ""),
    ({2: 30}, 3, ""),
    ({3: 6}, 3, ""),
    ({3: 10}, 3, ""),
    ({2: 10, 3: 6, 4: 4}, 3, "?"),
]


def load_best_known() -> dict[tuple[int, int], list[tuple[int, int]]]:
    """(t, v) -> sorted [(k, N)]; empty with a message when the CSV is missing."""
    table: dict[tuple[int, int], list[tuple[int, int]]] = {}
    if not CSV.exists():
        print(f"(best-known table not found at {CSV}; that column stays empty)")
        return table
    with CSV.open() as fh:
        for row in csv.DictReader(fh):
            table.setdefault((int(row["t"]), int(row["v"])), []).append((int(row["k"]), int(float(row["N"]))))
    for rows in table.values():
        rows.sort()
    return table


def best_known(table, t: int, v: int, k: int) -> str:
    """Smallest N listed for at least k factors (N rows for k' factors also serve k <= k')."""
    sizes = [n for kk, n in table.get((t, v), []) if kk >= k]
    return str(min(sizes)) if sizes else "?"


def main() -> None:
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    table = load_best_known()
    print(f"time_budget={budget}s\n")
    print(f"{'shape':<16}{'t':>3}{'rows':>7}  {'best known':<24}{'lower':>7}{'seconds':>9}  valid")
    for shape, t, known in SHAPES:
        levels = [v for v, n in shape.items() for _ in range(n)]
        name = " ".join(f"{v}^{n}" for v, n in shape.items())
        if not known:
            (v,) = shape
            known = best_known(table, t, v, len(levels))
        start = time.perf_counter()
        rows = covering_array(levels, t, time_budget=budget)
        secs = time.perf_counter() - start
        ok = "yes" if not uncovered(rows, levels, t) else "NO"
        print(f"{name:<16}{t:>3}{len(rows):>7}  {known:<24}{lower_bound(levels, t):>7}{secs:>9.2f}  {ok}", flush=True)


if __name__ == "__main__":
    main()
