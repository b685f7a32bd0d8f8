"""t-way covering arrays: few rows such that every t-way level combination shows up.

Used to plan "corner" test cases over hyperparameter extremes: each factor is a
hyperparameter, each level an extreme value, and every row is one test run.

Pipeline (why each step exists):

1. Direct constructions where they are optimal or near it: Kleitman-Spencer /
   Katona for two-level factors at t=2 (provably optimal), Bush orthogonal
   arrays for prime level counts (meet the lower bound), Plackett-Burman(12) and
   the Chateauneuf-Kreher "doubling" for two-level factors at t=3.
2. Otherwise a density greedy builds one row at a time until everything is
   covered, so construction alone is always a valid answer.
3. Improvement: drop the weakest row and repair the array with Nurmela's tabu
   search (pick an uncovered tuple, try every single-cell change that covers it,
   take the best non-tabu one; cover counts are kept incrementally in numpy).
   Repeat while it succeeds.  Conditional spaces use the same search, with
   moves checked on re-encoded rows because a change can (de)activate children.

Conditions: a factor with a :class:`Condition` is active only when its parent
is active and at one of the given levels.  For every set ``F`` of ``t`` factors
the array must show every *reachable pattern* on ``F``: the levels of the
active factors of ``F`` in some valid configuration (inactive ones are "*").
Only maximal patterns matter (covering a pattern covers its sub-patterns).
When all ``t`` factors can be co-active this is exactly "every consistent
t-tuple"; the smaller patterns only appear when fewer than ``t`` factors of
``F`` can be active together (e.g. two children of different parent levels),
which keeps such spaces from degenerating to a single row.

Determinism: the improvement phase stops on a *work budget* (counted in
deterministic units, roughly microseconds on the reference machine) derived
from ``time_budget``: about half of ``time_budget`` is spent there.  The wall
clock is only a safety cap at ``2 * time_budget``, so results are reproducible
for given inputs (seed included) unless a machine is more than ~4x slower than
the reference, in which case the cap cuts the search short (the result is
still a valid covering array, only possibly larger).  Construction time (greedy)
is not part of the budget.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Condition", "covering_array", "is_active", "lower_bound", "uncovered"]

_BIG = 1 << 24  # cover count given to cells that need no cover: never 0 or 1
_WORK_PER_SECOND = 500_000  # work units per second of time_budget (see module doc)
_CAP_FACTOR = 2.0  # wall-clock safety cap, in units of time_budget
_MAX_STATE = 5_000_000  # rows x combinations beyond which the search is skipped (memory)
_MAX_COMBOS = 200_000  # with a direct construction at hand, skip search above this


@dataclass(frozen=True)
class Condition:
    """Factor `factor` is active only when factor `parent` is active and takes a level in `levels`."""

    parent: int
    levels: frozenset[int]


# --------------------------------------------------------------------------- validation


def _validate(
    levels: Sequence[int], strength: int, conditions: Mapping[int, Condition] | None
) -> tuple[list[int], int, dict[int, Condition]]:
    """Check inputs; return level counts, clamped strength and a plain condition dict."""
    lv = [int(x) for x in levels]
    if any(x < 1 for x in lv):
        raise ValueError(f"every factor needs at least one level, got {lv}")
    if int(strength) != strength or strength < 1:
        raise ValueError(f"strength must be an integer >= 1, got {strength!r}")
    k = len(lv)
    conds = dict(conditions or {})
    for f, c in conds.items():
        if not (0 <= f < k and 0 <= c.parent < k):
            raise ValueError(f"condition {f} -> {c.parent} refers to a factor outside 0..{k - 1}")
    for f in conds:
        seen, p = {f}, conds[f].parent
        while True:
            if p in seen:
                raise ValueError(f"conditions form a cycle through factor {f}")
            seen.add(p)
            if p not in conds:
                break
            p = conds[p].parent
    return lv, min(int(strength), k), conds


def is_active(row: Sequence[int], factor: int, conditions: Mapping[int, Condition] | None) -> bool:
    """Whether `factor` is active in `row`: every condition up its parent chain holds."""
    conditions = conditions or {}
    for _ in range(len(conditions) + 1):
        c = conditions.get(factor)
        if c is None:
            return True
        if row[c.parent] not in c.levels:
            return False
        factor = c.parent
    raise ValueError("conditions form a cycle")


def lower_bound(levels: Sequence[int], strength: int) -> int:
    """Product of the t largest level counts: one t-combination alone needs that many rows."""
    lv, t, _ = _validate(levels, strength, None)
    return math.prod(sorted(lv, reverse=True)[:t])


# --------------------------------------------------------------------------- conditions


class _Forest:
    """Conditions as arrays: parent, depth and level-membership lookups."""

    def __init__(self, levels: list[int], conds: dict[int, Condition]):
        k = len(levels)
        self.L = np.array(levels, dtype=np.int64)
        self.parent = np.full(k, -1, dtype=np.int64)
        self.member: dict[int, np.ndarray] = {}
        for f, c in conds.items():
            self.parent[f] = c.parent
            self.member[f] = np.array([x in c.levels for x in range(levels[c.parent])], dtype=bool)
        depth = [0] * k
        for f in range(k):
            p = f
            while self.parent[p] >= 0:
                p = int(self.parent[p])
                depth[f] += 1
        self.depth = np.array(depth, dtype=np.int64)
        self.order = sorted(conds, key=lambda f: depth[f])  # parents before children

    def ancestors(self, f: int) -> list[int]:
        out, p = [], int(self.parent[f])
        while p >= 0:
            out.append(p)
            p = int(self.parent[p])
        return out

    def activity(self, X: np.ndarray, cols: Sequence[int] | None = None) -> np.ndarray:
        """Active mask of rows X (n, k); `cols` restricts to those factors (closed under parents)."""
        act = np.ones(X.shape, dtype=bool)
        pos = {f: i for i, f in enumerate(range(X.shape[1]) if cols is None else cols)}
        for f in self.order:
            if f in pos:
                p = pos[int(self.parent[f])]
                act[:, pos[f]] = act[:, p] & self.member[f][X[:, p]]
        return act

    def patterns(self, F: Sequence[int]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Maximal reachable patterns on factors F (star = L[f]) and one witness each.

        Enumerates the closure of F (F plus ancestors); ancestor levels that act
        alike on every relevant condition are merged, so the grid stays small.
        Returns (patterns (n, t), witnesses (n, len(closure)), closure).
        """
        closure = sorted(set(F).union(*(self.ancestors(f) for f in F)), key=lambda f: (self.depth[f], f))
        cand = []
        for a in closure:
            if a in F:
                cand.append(list(range(int(self.L[a]))))
                continue
            kids = [c for c in closure if self.parent[c] == a]
            reps: dict[tuple[bool, ...], int] = {}
            for x in range(int(self.L[a])):
                reps.setdefault(tuple(bool(self.member[c][x]) for c in kids), x)
            cand.append(list(reps.values()))
        grid = np.array(list(itertools.product(*cand)), dtype=np.int64).reshape(-1, len(closure))
        act = self.activity(grid, closure)
        fpos = [closure.index(f) for f in F]
        pats = np.where(act[:, fpos], grid[:, fpos], self.L[list(F)])
        pats, first = np.unique(pats, axis=0, return_index=True)
        star = pats == self.L[list(F)]
        # sup[q, p]: pattern q extends pattern p
        sup = (star[None, :, :] | (pats[None, :, :] == pats[:, None, :])).all(-1)
        np.fill_diagonal(sup, False)
        keep = ~sup.any(0)
        return pats[keep], grid[first[keep]], closure


# --------------------------------------------------------------------------- checker


def uncovered(
    rows: Sequence[Sequence[int]],
    levels: Sequence[int],
    strength: int,
    conditions: Mapping[int, Condition] | None = None,
) -> list[tuple[tuple[int, int], ...]]:
    """Required patterns no row covers, each as ((factor, level), ...) sorted by factor.

    Without conditions these are plain t-tuples; with conditions see the module
    doc (tuples of fewer than t pairs only arise when fewer than t factors of a
    t-set can be active together).
    """
    lv, t, conds = _validate(levels, strength, conditions)
    k = len(lv)
    if k == 0:
        return [] if len(rows) else [()]
    X = np.array(rows, dtype=np.int64).reshape(-1, k)
    if X.size and ((X < 0) | (np.array(lv) <= X)).any():
        raise ValueError("row value out of range")
    forest = _Forest(lv, conds)
    act = forest.activity(X)
    L = forest.L
    combos = np.array(list(itertools.combinations(range(k), t)), dtype=np.int64).reshape(-1, t)
    plain = (forest.parent[combos] < 0).all(1)
    missing: list[tuple[tuple[int, int], ...]] = []
    seen: set[tuple[tuple[int, int], ...]] = set()

    # Combinations of unconditioned factors: vectorised over many combinations at a time.
    P = combos[plain]
    chunk = max(1, 2_000_000 // max(1, len(X) * t))
    for s in range(0, len(P), chunk):
        C = P[s : s + chunk]
        R = L[C]
        stride = np.ones_like(R)
        if t > 1:
            stride[:, :-1] = np.cumprod(R[:, :0:-1], axis=1)[:, ::-1]
        size = R.prod(1)
        off = np.concatenate([[0], np.cumsum(size)[:-1]])
        hit = np.zeros(int(size.sum()), dtype=bool)
        if len(X):
            hit[((X[:, C] * stride).sum(-1) + off).ravel()] = True
        for u in np.flatnonzero(~hit):
            c = int(np.searchsorted(off, u, side="right") - 1)
            vals = (u - off[c]) // stride[c] % R[c]
            missing.append(tuple((int(f), int(v)) for f, v in zip(C[c], vals)))

    # Combinations touching conditioned factors: compare reachable patterns exactly.
    Y = np.where(act, X, L)
    for F in combos[~plain]:
        pats, _, _ = forest.patterns(list(F))
        have = {tuple(r) for r in Y[:, F].tolist()}
        for p in pats.tolist():
            if tuple(p) not in have:
                key = tuple((int(f), int(v)) for f, v in zip(F, p) if v < L[f])
                if key not in seen:
                    seen.add(key)
                    missing.append(key)
    return missing


# --------------------------------------------------------------------------- constructions


def _ks_size(k: int) -> int:
    """Optimal rows for k two-level factors at t=2: least N with C(N-1, ceil(N/2)) >= k."""
    n = 4
    while math.comb(n - 1, (n + 1) // 2) < k:
        n += 1
    return n


def _ks_array(k: int) -> np.ndarray:
    """Kleitman-Spencer/Katona: columns are N-vectors with 0 on top and ceil(N/2) ones below.

    Two such distinct columns give (0,0) in row 0, (1,0) and (0,1) because equal
    weight supports are incomparable, and (1,1) because 2*ceil(N/2) > N-1.
    """
    n = _ks_size(k)
    cols = itertools.islice(itertools.combinations(range(1, n), (n + 1) // 2), k)
    A = np.zeros((n, k), dtype=np.int64)
    for j, ones in enumerate(cols):
        A[list(ones), j] = 1
    return A


def _bush_oa(q: int, t: int, k: int) -> np.ndarray:
    """Bush orthogonal array OA(q^t; t, q+1, q) for prime q >= t (first k <= q+1 columns).

    Rows are polynomials of degree < t over GF(q); column x evaluates at x, the
    extra column gives the leading coefficient.
    """
    coef = np.array(list(itertools.product(range(q), repeat=t)), dtype=np.int64)  # (q^t, t)
    powers = np.array([[pow(x, i, q) for x in range(min(q, k))] for i in range(t)], dtype=np.int64)
    A = np.concatenate([coef @ powers % q, coef[:, -1:]], axis=1)  # only the k columns asked for: q^t rows each
    return A[:, :k]


def _pb12() -> np.ndarray:
    """Plackett-Burman 12-run design: any 3 of its 11 columns contain all 8 binary triples."""
    gen = [1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0]
    rows = [gen[-i:] + gen[:-i] for i in range(11)] + [[0] * 11]
    return np.array(rows, dtype=np.int64)


def _binary_t3(k: int) -> np.ndarray:
    """Two-level strength-3 array: 8 (k<=4), PB12 (k<=11), else doubling [A A; B ~B].

    Doubling (Chateauneuf-Kreher): A strength 3 on m columns, B strength 2 on m
    columns; triples over distinct originals are covered by A, triples with both
    copies of one column get equal values from A and unequal values from B.
    """
    if k <= 3:
        return np.array(list(itertools.product((0, 1), repeat=k)), dtype=np.int64).reshape(-1, k)
    if k == 4:
        A = np.array(list(itertools.product((0, 1), repeat=3)), dtype=np.int64)
        return np.concatenate([A, A.sum(1, keepdims=True) % 2], axis=1)
    if k <= 11:
        return _pb12()[:, :k]
    m = (k + 1) // 2
    A, B = _binary_t3(m), _ks_array(m)
    return np.block([[A, A], [B, 1 - B]])[:, :k]


def _is_prime(q: int) -> bool:
    return q >= 2 and all(q % d for d in range(2, math.isqrt(q) + 1))


def _constructions(L: np.ndarray, t: int) -> list[tuple[np.ndarray, bool]]:
    """Direct constructions (array, known optimal) for unconditional factors with levels >= 2."""
    k = len(L)
    out = []
    if t == 1:
        out.append((np.arange(int(L.max()))[:, None] % L[None, :], True))
    elif t == k:
        out.append((np.array(list(itertools.product(*(range(int(x)) for x in L))), dtype=np.int64), True))
    elif t == 2 and L.max() == 2:
        out.append((_ks_array(k), True))
    if t == 3 and L.max() == 2:  # 8 and 12 rows are optimal for k <= 4 and 6 <= k <= 11
        out.append((_binary_t3(k), k <= 4 or 6 <= k <= 11))
    q = int(L.max())
    while not _is_prime(q):
        q += 1
    if k <= q + 1 and t <= q and q**t * k <= _MAX_STATE:  # q^t rows: 10,007 levels at t=2 would be 10^8 of them
        A = np.unique(_bush_oa(q, t, k) % L, axis=0)  # folding keeps all level combinations below L
        out.append((A, len(A) == math.prod(sorted(L.tolist())[-t:])))
    return out


# --------------------------------------------------------------------------- search problem


class _Problem:
    """All t-combinations of factors flattened into one array of "cells".

    Cell (c, pattern) is at offset[c] + pattern . stride[c]; conditioned factors
    get an extra "inactive" level (= L[f]).  base[cell] is 0 when the cell must
    be covered and _BIG when not, so "uncovered" is simply count == 0.  A dummy
    combination (index M, cell S) pads per-factor tables.
    """

    def __init__(self, levels: list[int], t: int, conds: dict[int, Condition]):
        self.forest = fo = _Forest(levels, conds)
        self.k, self.t, self.conditional = len(levels), t, bool(conds)
        self.L = fo.L
        radix = self.L + (fo.parent >= 0)
        C = np.array(list(itertools.combinations(range(self.k), t)), dtype=np.int64).reshape(-1, t)
        R = radix[C]
        stride = np.ones_like(R)
        if t > 1:
            stride[:, :-1] = np.cumprod(R[:, :0:-1], axis=1)[:, ::-1]
        self.M = M = len(C)
        self.size = R.prod(1)
        self.offset = np.concatenate([[0], np.cumsum(self.size)[:-1]])
        self.S = S = int(self.size.sum())
        self.R, self.C, self.stride = R, C, stride
        self.Cx = np.vstack([C, np.zeros((1, t), dtype=np.int64)])
        self.stridex = np.vstack([stride, np.zeros((1, t), dtype=np.int64)])
        self.offsetx = np.append(self.offset, S)
        self.base = np.zeros(S + 1, dtype=np.int32)
        self.base[S] = _BIG
        self.witness: dict[int, tuple[list[int], dict[int, np.ndarray]]] = {}
        need = self.size.copy()
        for c in np.flatnonzero((fo.parent[C] >= 0).any(1)):
            pats, wit, closure = fo.patterns(list(C[c]))
            local = pats @ stride[c]
            o = self.offset[c]
            self.base[o : o + self.size[c]] = _BIG
            self.base[o + local] = 0
            self.witness[int(c)] = (closure, dict(zip(local.tolist(), wit)))
            need[c] = len(local)
        self.lb = int(need.max()) if M else 1
        self.cell_combo = np.repeat(np.arange(M), self.size) if S <= _MAX_STATE else None
        # per factor: the m combinations containing it and its stride in each
        m = math.comb(self.k - 1, t - 1)
        self.aff = np.zeros((self.k, m), dtype=np.int64)
        self.strin = np.zeros((self.k, m), dtype=np.int64)
        for f in range(self.k):
            cs, pos = np.nonzero(C == f)
            self.aff[f], self.strin[f] = cs, stride[cs, pos]
        # conditional spaces: combinations whose cells a change of f can move (f or a descendant)
        if self.conditional:
            sub = [{f} for f in range(self.k)]
            for f in sorted(range(self.k), key=lambda g: -fo.depth[g]):
                if fo.parent[f] >= 0:
                    sub[int(fo.parent[f])] |= sub[f]
            hit = [np.flatnonzero(np.isin(C, list(d)).any(1)) for d in sub]
            self.affd = np.full((self.k, max(map(len, hit))), M, dtype=np.int64)
            for f, cs in enumerate(hit):
                self.affd[f, : len(cs)] = cs

    def encode(self, X: np.ndarray) -> np.ndarray:
        """Row values with inactive factors replaced by their star level."""
        if not self.conditional:
            return X
        return np.where(self.forest.activity(X), X, self.L)

    def cells(self, Y: np.ndarray) -> np.ndarray:
        """Cell index of each row (n, k) in each combination, plus the dummy: (n, M+1)."""
        step = max(1, 1_000_000 // (self.Cx.size + 1))  # bound the (rows, M, t) temporary
        parts = [(Y[i : i + step, self.Cx] * self.stridex).sum(-1) for i in range(0, len(Y), step)]
        joined = np.concatenate(parts) if parts else np.zeros((0, self.M + 1), dtype=np.int64)
        cells: np.ndarray = joined + self.offsetx
        return cells

    def decode(self, u: int) -> tuple[int, np.ndarray]:
        """Combination index and pattern values of cell u."""
        if self.cell_combo is not None:
            c = int(self.cell_combo[u])
        else:
            c = int(np.searchsorted(self.offset, u, side="right") - 1)
        return c, (u - self.offset[c]) // self.stride[c] % self.R[c]

    def requirement(self, u: int) -> tuple[np.ndarray, np.ndarray]:
        """Factors and levels that make a row cover cell u (closure witness if conditional)."""
        c, vals = self.decode(u)
        if c in self.witness:
            closure, wit = self.witness[c]
            return np.array(closure), wit[int(u - self.offset[c])]
        return self.C[c], vals


class _State:
    """Rows with incremental cover counts per cell."""

    def __init__(self, prob: _Problem, X: np.ndarray):
        self.p = prob
        self.X = X.copy()
        self.Y = prob.encode(self.X)
        self.T = prob.cells(self.Y)
        self.cnt = prob.base + np.bincount(self.T.ravel(), minlength=prob.S + 1).astype(np.int32)
        # uncovered cells as an indexed set: O(1) add/remove and uniform random pick
        self.ul: list[int] = np.flatnonzero(self.cnt == 0).tolist()
        self.pos = np.full(prob.S + 1, -1, dtype=np.int64)
        self.pos[self.ul] = np.arange(len(self.ul))

    @property
    def unc(self) -> int:
        return len(self.ul)

    def _track(self, old: np.ndarray, new: np.ndarray) -> None:
        """Update the uncovered set after counts of `old` went down and of `new` went up."""
        ul, pos = self.ul, self.pos
        for u in old[self.cnt[old] == 0].tolist():
            pos[u] = len(ul)
            ul.append(u)
        for u in new[self.cnt[new] == 1].tolist():
            i, last = int(pos[u]), ul.pop()
            if last != u:
                ul[i], pos[last] = last, i
            pos[u] = -1

    def drop_weakest(self) -> None:
        """Remove the row that alone covers the fewest cells."""
        unique = (self.cnt[self.T] == 1).sum(1)
        r = int(np.argmin(unique))
        old = self.T[r]
        self.cnt[old] -= 1  # cells within a row are distinct except the dummy (count _BIG)
        self._track(old, old[:0])
        self.X, self.Y, self.T = (np.delete(a, r, axis=0) for a in (self.X, self.Y, self.T))

    def set_cell(self, r: int, f: int, b: int) -> None:
        """Unconditional fast path: change one cell, update only its m combinations."""
        cs = self.p.aff[f]
        old = self.T[r, cs]
        new = old + (b - self.X[r, f]) * self.p.strin[f]
        self.cnt[old] -= 1
        self.cnt[new] += 1
        self._track(old, new)
        self.T[r, cs] = new
        self.X[r, f] = self.Y[r, f] = b

    def set_row(self, r: int, x: np.ndarray) -> None:
        """General path: replace a whole row (conditions can flip descendants)."""
        y = self.p.encode(x[None])[0]
        tn = self.p.cells(y[None])[0]
        ch = tn != self.T[r]
        old, new = self.T[r, ch], tn[ch]
        self.cnt[old] -= 1
        self.cnt[new] += 1
        self._track(old, new)
        self.T[r], self.X[r], self.Y[r] = tn, x, y


# --------------------------------------------------------------------------- greedy


def _greedy(prob: _Problem, rng: np.random.Generator) -> np.ndarray:
    """Density greedy: seed each row with an uncovered cell, fill factors by most new covers."""
    p, fo = prob, prob.forest
    cnt = p.base.copy()
    rows: list[np.ndarray] = []
    while True:
        zero = cnt[: p.S] == 0
        if not zero.any():
            break
        per = np.add.reduceat(zero, p.offset)
        c = int(np.argmax(per))
        cand = np.flatnonzero(zero[p.offset[c] : p.offset[c] + p.size[c]])
        u = int(p.offset[c] + cand[rng.integers(len(cand))])
        cols, vals = p.requirement(u)
        x = np.zeros(p.k, dtype=np.int64)
        y = np.zeros(p.k, dtype=np.int64)
        fixed = np.zeros(p.k, dtype=bool)
        x[cols], fixed[cols] = vals, True
        y[cols] = p.encode(x[None])[0][cols]
        key = fo.depth * 2.0 + rng.random(p.k)  # ancestors first, otherwise random order
        for f in np.argsort(key):
            if fixed[f]:
                continue
            pa = fo.parent[f]
            if pa >= 0 and (y[pa] == p.L[pa] or not fo.member[f][x[pa]]):
                x[f], y[f], fixed[f] = 0, p.L[f], True  # inactive: value irrelevant
                continue
            cs, st = p.aff[f], p.strin[f]
            others = p.C[cs]
            ok = (fixed[others] | (others == f)).all(1)
            if ok.any():
                y[f] = 0
                base = (y[others[ok]] * p.stride[cs[ok]]).sum(1) + p.offset[cs[ok]]
                idx = base[:, None] + np.arange(p.L[f])[None, :] * st[ok][:, None]
                gain = (cnt[idx] == 0).sum(0)
                best = np.flatnonzero(gain == gain.max())
                b = int(best[rng.integers(len(best))])
            else:
                b = int(rng.integers(p.L[f]))
            x[f], y[f], fixed[f] = b, b, True
        t = p.cells(p.encode(x[None]))[0]
        cnt[t] += 1
        rows.append(x)
    return np.array(rows, dtype=np.int64).reshape(-1, p.k)


# --------------------------------------------------------------------------- tabu search


def _repair_fast(st: _State, rng: np.random.Generator, budget: float, deadline: float, tenure: int) -> float:
    """Nurmela's tabu search on single cells until nothing is uncovered; returns work used."""
    p, X, T, cnt = st.p, st.X, st.T, st.cnt
    tabu = np.zeros(X.shape, dtype=np.int64)
    m, used, it = p.aff.shape[1], 0.0, 0
    rows_idx = np.arange(len(X))
    while st.unc > 0 and used < budget:
        it += 1
        if it % 64 == 0 and time.perf_counter() > deadline:
            break
        if it % 1024 == 1:
            rand = rng.random(1024).tolist()
        u = st.ul[int(rand[it % 1024] * st.unc)]
        F, vals = p.requirement(u)
        diff = X[:, F] != vals
        nd = diff.sum(1)
        rows = rows_idx[nd == 1]
        used += 35
        if rows.size == 0:  # no row is one change away: force the closest row
            close = np.flatnonzero(nd == nd.min())
            r = int(close[rng.integers(close.size)])
            for col in np.flatnonzero(diff[r]):
                st.set_cell(r, int(F[col]), int(vals[col]))
                tabu[r, F[col]] = it + tenure
            continue
        j = diff[rows].argmax(1)
        f, b = F[j], vals[j]
        cs = p.aff[f]
        old = T[rows[:, None], cs]
        new = old + (b - X[rows, f])[:, None] * p.strin[f]
        delta = (cnt[old] == 1).sum(1) - (cnt[new] == 0).sum(1)
        used += 0.01 * rows.size * m
        ok = (tabu[rows, f] < it) | (st.unc + delta == 0)
        if ok.any():
            delta = np.where(ok, delta, np.iinfo(np.int64).max)
        best = np.flatnonzero(delta == delta.min())
        i = int(best[rng.integers(best.size)])
        st.set_cell(int(rows[i]), int(f[i]), int(b[i]))
        tabu[rows[i], f[i]] = it + tenure
    return used


def _repair_general(st: _State, rng: np.random.Generator, budget: float, deadline: float, tenure: int) -> float:
    """Tabu search for conditional spaces: single-cell moves that cover the picked pattern.

    A candidate sets one factor of the pattern's closure to its pattern/witness
    level and must then show the pattern (activity can cascade, so this is
    checked on the re-encoded rows).  Without any such candidate, whole rows are
    rewritten minimally (pattern levels, then the witness where still needed).
    """
    p = st.p
    tabu = np.zeros(st.X.shape, dtype=np.int64)
    used, it = 0.0, 0
    while st.unc > 0 and used < budget:
        it += 1
        if it % 64 == 0 and time.perf_counter() > deadline:
            break
        u = st.ul[int(rng.random() * st.unc)]
        c, vals = p.decode(u)
        F = p.C[c]
        cols, wit = p.requirement(u)
        target = dict(zip(cols.tolist(), wit.tolist()))
        target.update((int(f), int(v)) for f, v in zip(F, vals) if v < p.L[f])
        row_parts: list[np.ndarray] = []
        g_parts: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        for g, v in target.items():
            Xg = st.X.copy()
            Xg[:, g] = v
            Yg = p.encode(Xg)
            hits = np.flatnonzero((Yg[:, F] == vals).all(1) & (st.X[:, g] != v))
            row_parts.append(hits)
            g_parts.append(np.full(hits.size, g))
            ys.append(Yg[hits])
        rows, gs, Yc = np.concatenate(row_parts), np.concatenate(g_parts), np.concatenate(ys)
        used += 60 + (25 + 0.01 * st.X.size) * len(target)
        if rows.size:
            cs = p.affd[gs]
            old = st.T[rows[:, None], cs]
            new = (Yc[np.arange(rows.size)[:, None, None], p.Cx[cs]] * p.stridex[cs]).sum(-1) + p.offsetx[cs]
            delta = ((st.cnt[old] == 1) & (old != new)).sum(1) - (st.cnt[new] == 0).sum(1)
            used += 0.018 * cs.size * p.t
            ok = (tabu[rows, gs] < it) | (st.unc + delta == 0)
            if ok.any():
                delta = np.where(ok, delta, np.iinfo(np.int64).max)
            best = np.flatnonzero(delta == delta.min())
            i = int(best[rng.integers(best.size)])
            r, g = int(rows[i]), int(gs[i])
            x = st.X[r].copy()
            x[g] = target[g]
            tabu[r, g] = it + tenure
            st.set_row(r, x)
            continue
        # no single change covers it: rewrite the row that needs the fewest changes
        Xc = st.X.copy()
        on = vals < p.L[F]
        Xc[:, F[on]] = vals[on]
        bad = (p.encode(Xc)[:, F] != vals).any(1)
        Xc[np.ix_(bad, cols)] = wit
        moved = Xc != st.X
        nm = moved.sum(1)
        close = np.flatnonzero(nm == nm.min())
        r = int(close[rng.integers(close.size)])
        tabu[r, moved[r]] = it + tenure
        st.set_row(r, Xc[r])
        used += 50
    return used


def _improve(
    prob: _Problem, X: np.ndarray, rng: np.random.Generator, time_budget: float, wall_clock_cap: bool = True
) -> np.ndarray:
    """Drop a row and repair by tabu search, as long as repairs succeed within the budget."""
    budget = max(0.0, time_budget) * _WORK_PER_SECOND
    cap = _CAP_FACTOR * max(0.0, time_budget) if wall_clock_cap else math.inf
    deadline = time.perf_counter() + cap
    best = X
    if len(X) * (prob.M + 1) > _MAX_STATE:
        return X
    st = _State(prob, X)
    repair = _repair_general if prob.conditional else _repair_fast
    tenure = 2  # a changed (row, column) stays tabu this many steps; 1..3 work alike
    while len(best) > prob.lb and budget > 0:
        st.drop_weakest()
        budget -= repair(st, rng, budget, deadline, tenure)
        if st.unc:
            break
        best = st.X.copy()
    return best


# --------------------------------------------------------------------------- entry point


def covering_array(
    levels: Sequence[int],
    strength: int = 2,
    *,
    conditions: Mapping[int, Condition] | None = None,
    seed: int = 0,
    time_budget: float = 2.0,
    wall_clock_cap: bool = True,
) -> list[tuple[int, ...]]:
    """Rows (row[j] = level of factor j) covering every required t-way pattern.

    Inactive factors are set to 0 and duplicate rows removed.  Deterministic for
    given arguments (see the module doc for the role of `time_budget`); with
    ``wall_clock_cap=False`` also on a machine of any speed or load, which the
    plugin needs: every xdist worker plans on its own and must get the same rows.
    """
    lv, t, conds = _validate(levels, strength, conditions)
    k = len(lv)
    if k == 0:
        return [()]
    rng = np.random.default_rng(seed)
    if conds:
        prob = _Problem(lv, t, conds)
        X = _improve(prob, _greedy(prob, rng), rng, time_budget, wall_clock_cap)
        X = np.where(prob.forest.activity(X), X, 0)
    else:
        keep = [f for f in range(k) if lv[f] > 1]  # one-level factors are always 0
        X = np.zeros((1, k), dtype=np.int64)
        if keep:
            L = np.array([lv[f] for f in keep], dtype=np.int64)
            tk = min(t, len(keep))
            starts = _constructions(L, tk)
            done = [A for A, optimal in starts if optimal]
            if done:
                A = done[0]
            elif starts and math.comb(len(keep), tk) > _MAX_COMBOS:
                A = min((A for A, _ in starts), key=len)
            else:
                prob = _Problem(L.tolist(), tk, {})
                A = min([A for A, _ in starts] + [_greedy(prob, rng)], key=len)
                A = _improve(prob, A, rng, time_budget, wall_clock_cap)
            X = np.zeros((len(A), k), dtype=np.int64)
            X[:, keep] = A
    out: list[tuple[int, ...]] = []
    seen: set[tuple[int, ...]] = set()
    for row in X.tolist():
        tup = tuple(row)
        if tup not in seen:
            seen.add(tup)
            out.append(tup)
    return out
