"""Terms to vectors: a request's keys, texts and raw vectors resolved against a space,
every unknown key of the request named in one error, and queries in matrix form."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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


class TermResolver:
    """Resolves the terms of one request, collecting every unknown key before failing.

    Terms are kept in flat lists (one entry per term, groups are ranges of them) and, once
    resolved, as one matrix of unit vectors: a batch of 10,000 queries is then one stack
    and one normalisation, not one per group."""

    def __init__(self, space: Space, limits: Limits) -> None:
        self.space = space
        self.limits = limits
        self._terms: list[Term] = []
        self._weights: list[float] = []
        self._vectors: list[np.ndarray | None] = []
        self._rows: list[int] = []  # -1: not a key of the space
        self._resolved: list[Resolved] = []
        self._groups: list[tuple[int, int]] = []
        self._unknown: list[tuple[str, str, bool]] = []  # field, input, is a key
        self._text_names: list[str] = []  # field of each text term, in order
        self._raw: np.ndarray | None = None  # (terms, d) once resolved
        self._unit: np.ndarray | None = None

    def add(self, terms: Sequence[Term], name: str, default_weight: float) -> int:
        """Queue a group of terms; returns its handle for `group()` after `resolve()`."""
        start = len(self._terms)
        for i, term in enumerate(terms):
            self._add(term, name, i, default_weight)
        self._groups.append((start, len(self._terms)))
        return len(self._groups) - 1

    def add_one(self, term: Term, name: str, default_weight: float) -> int:
        """Queue one term named `name` in errors (e.g. `direction.pairs[2].b`)."""
        start = len(self._terms)
        self._add(term, name, None, default_weight)
        self._groups.append((start, len(self._terms)))
        return len(self._groups) - 1

    def _add(self, term: Term, group: str, i: int | None, default_weight: float) -> None:
        # Called once per term of a batch: the field name is formatted only when needed
        # (`group[i]`, or `group` itself when i is None).
        weight = default_weight if term.weight is None else float(term.weight)
        if not math.isfinite(weight) or weight == 0:
            raise invalid(
                _field(group, i) + ".weight", f"must be a finite non-zero number, got {weight}"
            )
        key, text, given = term.key, term.text, term.vector
        if (key is not None) + (text is not None) + (given is not None) != 1:
            raise invalid(_field(group, i), "a term needs exactly one of key, text or vector")
        vector: np.ndarray | None = None
        row = -1
        resolved = _NOT_A_KEY
        if key is not None:
            if not key.strip() or len(key) > self.limits.max_text_chars:
                check_text(key, _field(group, i) + ".key", self.limits)
            if not self.space.has_keys:
                raise invalid(
                    _field(group, i) + ".key",
                    f"{self.space.name!r} is a {self.space.kind} "
                    "model and has no keys; send the text as `text`",
                )
            hit = self.space.lookup(key)
            if hit is None:
                self._unknown.append((_field(group, i), key, True))
            else:
                vector = hit.vector
                row = -1 if hit.index is None else hit.index
                resolved = Resolved(input=key, key=hit.key)
        elif given is not None:
            vector = check_vector(given, _field(group, i) + ".vector", self.space.dimension)
        else:
            assert text is not None
            check_text(text, _field(group, i) + ".text", self.limits)
            self._text_names.append(_field(group, i))
        self._terms.append(term)
        self._weights.append(weight)
        self._vectors.append(vector)
        self._rows.append(row)
        self._resolved.append(resolved)

    def resolve(self) -> None:
        texts = [i for i, t in enumerate(self._terms) if t.text is not None]
        if texts:
            embedded = self.space.embed(
                [self._terms[i].text or "" for i in texts],
                truncate=True,
                field="text terms",
                max_request_tokens=self.limits.max_request_tokens,
            )
            for j, i in enumerate(texts):
                given = self._terms[i].text or ""
                if not embedded.known[j]:
                    self._unknown.append((self._text_names[j], given, False))
                    continue
                self._vectors[i] = embedded.vectors[j]
                self._resolved[i] = Resolved(
                    input=given, unknown_tokens=tuple(embedded.unknown_tokens[j])
                )
        if self._unknown:
            raise not_in_space(self.space, self._unknown)
        if self._vectors:
            # A row's norm does not depend on the other rows: normalising all the terms
            # at once gives each the same vector as normalising its group alone.
            self._raw = np.stack(self._vectors).astype(np.float32)  # type: ignore[arg-type]
            self._unit = unit(self._raw)
        else:
            self._raw = self._unit = np.zeros((0, self.space.dimension), np.float32)

    def _matrix(self, normalize: bool) -> np.ndarray:
        matrix = self._unit if normalize else self._raw
        assert matrix is not None, "group() before a successful resolve()"
        return matrix

    def group(self, handle: int, normalize: bool = True) -> ResolvedTerms:
        """The vectors of a group's terms: unit length, or as given when not `normalize`."""
        start, stop = self._groups[handle]
        return ResolvedTerms(
            vectors=self._matrix(normalize)[start:stop].copy(),
            weights=np.array(self._weights[start:stop], dtype=np.float32),
            rows=[r for r in self._rows[start:stop] if r >= 0],
            resolved=self._resolved[start:stop],
        )

    def resolved(self, handle: int) -> list[Resolved]:
        """How each term of a group was resolved, after `resolve()`."""
        start, stop = self._groups[handle]
        return self._resolved[start:stop]

    def batch(
        self, queries: Sequence[Sequence[int]], names: Sequence[str], include_inputs: bool
    ) -> QueryBatch:
        """The queries in matrix form, query i made of the terms of the groups
        `queries[i]` in order (an analogy's positive then negative group): what
        build_batch makes of the joined groups, by array indexing instead of a
        ResolvedTerms and a copy per query. A query's groups are consecutive handles,
        so its terms are one range of the flat lists; every query has a term."""
        assert all(q[-1] - q[0] == len(q) - 1 for q in queries), "groups not consecutive"
        first = np.array([self._groups[q[0]][0] for q in queries], dtype=np.int64)
        stop = np.array([self._groups[q[-1]][1] for q in queries], dtype=np.int64)
        counts = stop - first
        assert counts.min() > 0, "a query without terms"
        slots = np.arange(counts.max())
        present = slots < counts[:, None]  # (n, width): False in the padding
        index = np.where(present, first[:, None] + slots, first[:, None])
        terms = self._matrix(True)[index]
        terms[~present] = 0
        weights = np.where(present, np.asarray(self._weights, dtype=np.float32)[index], 0)
        if include_inputs:
            exclude = np.full((len(queries), 0), -1, np.int64)
        else:
            rows = np.where(present, np.asarray(self._rows, dtype=np.int64)[index], -1)
            # Each query's keys first, in term order, as wide as the most keys of a query.
            keys_first = np.argsort(rows < 0, axis=1, kind="stable")
            width = int((rows >= 0).sum(axis=1).max())
            exclude = np.take_along_axis(rows, keys_first, axis=1)[:, :width]
        return _finished(terms, weights.astype(np.float32), exclude, names)


_NOT_A_KEY = Resolved()


def _field(group: str, i: int | None) -> str:
    return group if i is None else f"{group}[{i}]"


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
    return _finished(terms, weights, exclude, names)


def _finished(
    terms: np.ndarray, weights: np.ndarray, exclude: np.ndarray, names: Sequence[str]
) -> QueryBatch:
    combined, norms = weighted_means(terms, weights)
    cancelled = np.flatnonzero(norms < 1e-6)
    if len(cancelled):
        raise invalid(
            names[cancelled[0]], "the terms cancel out: their weighted sum is the zero vector"
        )
    return QueryBatch(combined, terms, weights, exclude)
