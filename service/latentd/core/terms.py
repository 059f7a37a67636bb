"""Terms to vectors: a request's keys, texts and raw vectors resolved against a space,
every unknown key of the request named in one error, and queries in matrix form."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from latentd.core.checks import check_text, check_vector
from latentd.core.errors import NotFound, invalid, shown
from latentd.core.geometry import unit
from latentd.core.limits import Limits
from latentd.core.search import QueryBatch, weighted_means
from latentd.core.space import Space
from latentd.core.types import Resolved, Term

# Unknown terms named in one error message (the rest are counted), and how many of them
# get spelling suggestions: a message must stay short, and suggestions cost a search each.
MAX_NAMED_UNKNOWN = 10
MAX_SUGGESTED = 3


@dataclass
class ResolvedTerms:
    """Unit vectors of a group of terms, their weights, the rows of keys among them."""

    vectors: np.ndarray  # (n, d)
    weights: np.ndarray  # (n,)
    rows: list[int]
    resolved: list[Resolved]

    def joined(self, other: ResolvedTerms) -> ResolvedTerms:
        """This group followed by another (an analogy's positive then negative terms)."""
        return ResolvedTerms(
            np.vstack([self.vectors, other.vectors]),
            np.concatenate([self.weights, other.weights]),
            self.rows + other.rows,
            self.resolved + other.resolved,
        )


@dataclass
class _Pending:
    name: str
    term: Term
    weight: float
    vector: np.ndarray | None = None
    row: int | None = None
    resolved: Resolved = field(default_factory=Resolved)


class TermResolver:
    """Resolves the terms of one request, collecting every unknown key before failing."""

    def __init__(self, space: Space, limits: Limits) -> None:
        self.space = space
        self.limits = limits
        self._pending: list[_Pending] = []
        self._groups: list[tuple[int, int]] = []
        self._unknown: list[tuple[str, str, bool]] = []  # field, input, is a key

    def add(self, terms: Sequence[Term], name: str, default_weight: float) -> int:
        """Queue a group of terms; returns its handle for `group()` after `resolve()`."""
        start = len(self._pending)
        for i, term in enumerate(terms):
            self._pending.append(self._check(term, f"{name}[{i}]", default_weight))
        self._groups.append((start, len(self._pending)))
        return len(self._groups) - 1

    def _check(self, term: Term, name: str, default_weight: float) -> _Pending:
        weight = default_weight if term.weight is None else float(term.weight)
        if not math.isfinite(weight) or weight == 0:
            raise invalid(f"{name}.weight", f"must be a finite non-zero number, got {weight}")
        given = [x for x in (term.key, term.text, term.vector) if x is not None]
        if len(given) != 1:
            raise invalid(name, "a term needs exactly one of key, text or vector")
        pending = _Pending(name, term, weight)
        if term.vector is not None:
            pending.vector = check_vector(term.vector, f"{name}.vector", self.space.dimension)
        elif term.key is not None:
            check_text(term.key, f"{name}.key", self.limits)
            if not self.space.has_keys:
                raise invalid(
                    f"{name}.key",
                    f"{self.space.name!r} is a {self.space.kind} "
                    "model and has no keys; send the text as `text`",
                )
            hit = self.space.lookup(term.key)
            if hit is None:
                self._unknown.append((name, term.key, True))
            else:
                pending.vector, pending.row = hit.vector, hit.index
                pending.resolved = Resolved(input=term.key, key=hit.key)
        else:
            assert term.text is not None
            check_text(term.text, f"{name}.text", self.limits)
        return pending

    def resolve(self) -> None:
        texts = [p for p in self._pending if p.term.text is not None]
        if texts:
            embedded = self.space.embed(
                [p.term.text or "" for p in texts],
                truncate=True,
                field="text terms",
                max_request_tokens=self.limits.max_request_tokens,
            )
            for i, p in enumerate(texts):
                if not embedded.known[i]:
                    self._unknown.append((p.name, p.term.text or "", False))
                    continue
                p.vector = embedded.vectors[i]
                p.resolved = Resolved(
                    input=p.term.text or "", unknown_tokens=tuple(embedded.unknown_tokens[i])
                )
        if self._unknown:
            raise not_in_space(self.space, self._unknown)

    def group(self, handle: int, normalize: bool = True) -> ResolvedTerms:
        """The vectors of a group's terms: unit length, or as given when not `normalize`."""
        start, stop = self._groups[handle]
        items = self._pending[start:stop]
        found = [p.vector for p in items if p.vector is not None]
        assert len(found) == len(items), "group() before a successful resolve()"
        if not found:
            vectors = np.zeros((0, self.space.dimension), np.float32)
        else:
            stacked = np.stack(found).astype(np.float32)
            vectors = unit(stacked) if normalize else stacked
        return ResolvedTerms(
            vectors=vectors,
            weights=np.array([p.weight for p in items], dtype=np.float32),
            rows=[p.row for p in items if p.row is not None],
            resolved=[p.resolved for p in items],
        )


def not_in_space(space: Space, unknown: Sequence[tuple[str, str, bool]]) -> NotFound:
    """One NOT_FOUND for every unknown (field, input, is a key) of a request: the first few
    named (long inputs shortened), the first keys with spelling suggestions, the rest
    counted, so the message stays short whatever was sent."""
    described = []
    for i, (name, given, is_key) in enumerate(unknown[:MAX_NAMED_UNKNOWN]):
        if not is_key:
            described.append(f"{name}: no known word in text {shown(given)}")
            continue
        hint = ""
        if len(given.split()) > 1:
            hint = " (it has spaces: send it as text to average its words)"
        elif i < MAX_SUGGESTED and (close := space.suggest(given)):
            hint = f" (did you mean: {', '.join(close)})"
        described.append(f"{name}: unknown key {shown(given)}{hint}")
    more = len(unknown) - len(described)
    tail = f"; … and {more} more unknown {'term' if more == 1 else 'terms'}" if more else ""
    return NotFound(f"not in space {space.name!r}: " + "; ".join(described) + tail)


def build_batch(
    queries: Sequence[ResolvedTerms], names: Sequence[str], include_inputs: bool
) -> QueryBatch:
    n = len(queries)
    dim = queries[0].vectors.shape[1]
    width = max(len(q.weights) for q in queries)
    excl = 0 if include_inputs else max(len(q.rows) for q in queries)
    terms = np.zeros((n, width, dim), np.float32)
    weights = np.zeros((n, width), np.float32)
    exclude = np.full((n, excl), -1, np.int64)
    for i, q in enumerate(queries):
        terms[i, : len(q.weights)] = q.vectors
        weights[i, : len(q.weights)] = q.weights
        if excl:
            exclude[i, : len(q.rows)] = q.rows
    combined, norms = weighted_means(terms, weights)
    cancelled = np.flatnonzero(norms < 1e-6)
    if len(cancelled):
        raise invalid(
            names[cancelled[0]], "the terms cancel out: their weighted sum is the zero vector"
        )
    return QueryBatch(combined, terms, weights, exclude)
