"""The operations of the service over a space: Encode, Analogy, Nearest, Interpolate,
Similarity and DoesntMatch. Every one validates its input against the limits first,
resolves terms to vectors (naming every unknown key at once), then does matrix work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from latentd.core.errors import FailedPrecondition, NotFound, NotReady, invalid, shown
from latentd.core.limits import Limits
from latentd.core.search import QueryBatch, search, weighted_means
from latentd.core.sentence_model import SentenceModel
from latentd.core.types import (
    AnalogyMethod,
    Encoded,
    IndexState,
    Interpolation,
    InterpolationPath,
    InterpolationPoint,
    Neighbor,
    OddOneOut,
    QueryOptions,
    Resolved,
    SearchResult,
    SimilarityMatrix,
    Term,
)
from latentd.core.word_space import WordSpace

Space = WordSpace | SentenceModel

DEFAULT_OPTIONS = QueryOptions()

# Unknown terms named in one error message (the rest are counted), and how many of them
# get spelling suggestions: a message must stay short, and suggestions cost a search each.
MAX_NAMED_UNKNOWN = 10
MAX_SUGGESTED = 3


# -- validation ------------------------------------------------------------------------


def check_k(k: int, limits: Limits, name: str = "k") -> None:
    if not 1 <= k <= limits.max_k:
        raise invalid(name, f"must be between 1 and {limits.max_k}, got {k}")


def check_options(options: QueryOptions, limits: Limits) -> None:
    if options.ef < 0 or options.ef > limits.max_ef:
        raise invalid("options.ef", f"must be between 0 (server default) and {limits.max_ef}, "
                      f"got {options.ef}")
    if options.restrict < 0:
        raise invalid("options.restrict", f"must be 0 (all keys) or positive, got "
                      f"{options.restrict}")


def check_count(items: Sequence[object], name: str, most: int, least: int = 1) -> None:
    if len(items) < least:
        raise invalid(name, "must not be empty" if least == 1 else
                      f"needs at least {least} items, got {len(items)}")
    if len(items) > most:
        raise invalid(name, f"at most {most} items, got {len(items)}")


def check_text(text: str, name: str, limits: Limits) -> None:
    if not text.strip():
        raise invalid(name, "must not be empty")
    if len(text) > limits.max_text_chars:
        raise invalid(name, f"at most {limits.max_text_chars} characters, got {len(text)}")


def check_vector(values: np.ndarray, name: str, dimension: int) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32).reshape(-1)
    if len(vector) != dimension:
        raise invalid(name, f"expected {dimension} values, got {len(vector)}")
    if not np.all(np.isfinite(vector)):
        raise invalid(name, "contains NaN or Inf")
    if not np.any(vector):
        raise invalid(name, "is all zeros (it has no direction)")
    return vector


def searchable(space: Space) -> WordSpace:
    if not isinstance(space, WordSpace):
        raise FailedPrecondition(
            f"space {space.name!r} is a sentence model: it has no keys to search "
            "(use a word space, or Encode / Similarity with this model)"
        )
    return space


def check_search(space: Space, queries: Sequence[object], k: int, options: QueryOptions,
                 limits: Limits) -> WordSpace:
    """The checks every batch search starts with; returns the space as a word space."""
    words = searchable(space)
    check_k(k, limits)
    check_options(options, limits)
    check_count(queries, "queries", limits.max_batch)
    check_results(len(queries), k, limits)
    return words


def check_results(queries: int, k: int, limits: Limits) -> None:
    if queries * k > limits.max_results:
        raise invalid("k", f"{queries} queries x k={k} asks for {queries * k} neighbours; at "
                      f"most {limits.max_results} in one request (lower k or split the batch)")


def check_exact_work(space: WordSpace, batch: QueryBatch, method: AnalogyMethod,
                     options: QueryOptions, limits: Limits) -> None:
    """An exact search scores every key searched for every query (and every term, for
    3CosMul): bound that work, since a request that asks for it may cost minutes."""
    if not options.exact and space.index is not None:
        return
    keys = min(options.restrict, space.size) if options.restrict > 0 else space.size
    terms = batch.terms.shape[1] if method is AnalogyMethod.COSMUL else 1
    scores = len(batch) * keys * terms
    if scores <= limits.max_exact_scores:
        return
    per_term = f" x {terms} terms" if terms > 1 else ""
    work = (f"{len(batch)} queries x {keys} keys{per_term} = {scores:,} scores, at most "
            f"{limits.max_exact_scores:,} in one request")
    if options.exact:
        raise invalid("options.exact", f"an exact search of {work} (search the HNSW index, "
                      "set a smaller restrict, or split the batch)")
    if space.index_state is IndexState.BUILDING:
        raise NotReady(f"space {space.name!r} is still building its HNSW index and searches "
                       f"exactly until then: {work}; retry when ListModels reports HNSW, or "
                       "split the batch")
    raise invalid("queries", f"space {space.name!r} has no HNSW index and searches exactly: "
                  f"{work}; split the batch")


def unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.where(norm == 0, 1, norm)).astype(np.float32)


# -- term resolution -------------------------------------------------------------------


@dataclass
class ResolvedTerms:
    """Unit vectors of a group of terms, their weights, the rows of keys among them."""

    vectors: np.ndarray  # (n, d)
    weights: np.ndarray  # (n,)
    rows: list[int]
    resolved: list[Resolved]


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
            if not isinstance(self.space, WordSpace):
                raise invalid(f"{name}.key", f"{self.space.name!r} is a sentence model and "
                              "has no keys; send the text as `text`")
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
        if texts and isinstance(self.space, SentenceModel):
            encoded = self.space.encode([p.term.text or "" for p in texts], normalize=True,
                                        truncate=True, field="text terms",
                                        max_request_tokens=self.limits.max_request_tokens)
            for p, v in zip(texts, encoded.vectors, strict=True):
                p.vector, p.resolved = v, Resolved(input=p.term.text or "")
        elif texts:
            assert isinstance(self.space, WordSpace)
            for p in texts:
                text = p.term.text or ""
                vector, unknown = self.space.encode_text(text)
                if vector is None:
                    self._unknown.append((p.name, text, False))
                    continue
                p.vector = vector
                p.resolved = Resolved(input=text, unknown_tokens=tuple(unknown))
        if self._unknown:
            assert isinstance(self.space, WordSpace)
            raise not_in_space(self.space, self._unknown)

    def group(self, handle: int) -> ResolvedTerms:
        start, stop = self._groups[handle]
        items = self._pending[start:stop]
        vectors = (unit(np.stack([p.vector for p in items])) if items
                   else np.zeros((0, self.space.dimension), np.float32))
        return ResolvedTerms(
            vectors=vectors,
            weights=np.array([p.weight for p in items], dtype=np.float32),
            rows=[p.row for p in items if p.row is not None],
            resolved=[p.resolved for p in items],
        )


def not_in_space(space: WordSpace, unknown: Sequence[tuple[str, str, bool]]) -> NotFound:
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
        raise invalid(names[cancelled[0]],
                      "the terms cancel out: their weighted sum is the zero vector")
    return QueryBatch(combined, terms, weights, exclude)


def neighbors(space: WordSpace, rows: np.ndarray, scores: np.ndarray) -> list[Neighbor]:
    return [Neighbor(space.keys[r], float(s)) for r, s in zip(rows, scores, strict=True)
            if r >= 0]


# -- operations ------------------------------------------------------------------------


def encode(
    space: Space,
    inputs: Sequence[str],
    limits: Limits,
    *,
    normalize: bool = True,
    dimensions: int = 0,
    prompt_name: str = "",
    truncate: bool = False,
) -> Encoded:
    check_count(inputs, "inputs", limits.max_inputs)
    for i, text in enumerate(inputs):
        check_text(text, f"inputs[{i}]", limits)
    if dimensions < 0 or dimensions > space.dimension:
        raise invalid("dimensions", f"must be between 1 and {space.dimension} (the model's "
                      f"dimension), got {dimensions}")
    if isinstance(space, SentenceModel):
        return space.encode(inputs, normalize=normalize, dimensions=dimensions,
                            prompt_name=prompt_name, truncate=truncate,
                            max_request_tokens=limits.max_request_tokens)
    if prompt_name:
        raise invalid("prompt_name", f"{space.name!r} is a word model and has no prompts")
    vectors, unknown_tokens, missing = [], [], []
    for i, text in enumerate(inputs):
        vector, unknown = space.encode_text(text)
        if vector is None:
            # A single word is reported like an unknown key, with suggestions.
            missing.append((f"inputs[{i}]", text, len(text.split()) == 1))
        else:
            vectors.append(vector)
            unknown_tokens.append(unknown)
    if missing:
        raise not_in_space(space, missing)
    matrix = np.stack(vectors)
    if dimensions:
        matrix = matrix[:, :dimensions]
    if normalize:
        matrix = unit(matrix)
    return Encoded(np.ascontiguousarray(matrix, np.float32), [False] * len(inputs),
                   unknown_tokens)


def analogy(
    space: Space,
    queries: Sequence[tuple[Sequence[Term], Sequence[Term]]],
    limits: Limits,
    *,
    k: int = 10,
    method: AnalogyMethod = AnalogyMethod.COSADD,
    options: QueryOptions = DEFAULT_OPTIONS,
    prefix: str = "",
) -> list[SearchResult]:
    """`prefix` names the fields of a batch (`queries[i].`); empty for a single query."""
    words = check_search(space, queries, k, options, limits)
    resolver = TermResolver(space, limits)
    handles, names = [], []
    for i, (positive, negative) in enumerate(queries):
        name = prefix.format(i=i)
        check_count(positive, f"{name}positive", limits.max_terms)
        check_count(negative, f"{name}negative", limits.max_terms, least=0)
        handles.append((resolver.add(positive, f"{name}positive", 1.0),
                        resolver.add(negative, f"{name}negative", -1.0)))
        names.append(f"{name}positive")
    resolver.resolve()
    groups = []
    for pos, neg in handles:
        p, n = resolver.group(pos), resolver.group(neg)
        groups.append((p, n, ResolvedTerms(
            np.vstack([p.vectors, n.vectors]), np.concatenate([p.weights, n.weights]),
            p.rows + n.rows, p.resolved + n.resolved)))
    batch = build_batch([g[2] for g in groups], names, options.include_inputs)
    check_exact_work(words, batch, method, options, limits)
    hits = search(words, batch, k, method, options.exact, options.restrict, options.ef)
    return [
        SearchResult(neighbors(words, hits.rows[i], hits.scores[i]),
                     [p.resolved, n.resolved], hits.searched_with)
        for i, (p, n, _) in enumerate(groups)
    ]


def nearest(
    space: Space,
    queries: Sequence[Sequence[Term]],
    limits: Limits,
    *,
    k: int = 10,
    options: QueryOptions = DEFAULT_OPTIONS,
    prefix: str = "",
) -> list[SearchResult]:
    words = check_search(space, queries, k, options, limits)
    resolver = TermResolver(space, limits)
    handles, names = [], []
    for i, query in enumerate(queries):
        name = f"{prefix.format(i=i)}query"
        check_count(query, name, limits.max_terms)
        handles.append(resolver.add(query, name, 1.0))
        names.append(name)
    resolver.resolve()
    groups = [resolver.group(h) for h in handles]
    batch = build_batch(groups, names, options.include_inputs)
    check_exact_work(words, batch, AnalogyMethod.COSADD, options, limits)
    hits = search(words, batch, k, AnalogyMethod.COSADD, options.exact, options.restrict,
                  options.ef)
    return [
        SearchResult(neighbors(words, hits.rows[i], hits.scores[i]), [g.resolved],
                     hits.searched_with)
        for i, g in enumerate(groups)
    ]


def interpolation_path(a: np.ndarray, b: np.ndarray, ts: np.ndarray,
                       path: InterpolationPath) -> np.ndarray:
    """Unit vectors from unit a to unit b at each t; never NaN, even for b = +-a."""
    dot = float(np.clip(a @ b, -1.0, 1.0))
    if dot < -1 + 1e-6:
        # Opposite vectors: every great circle joins them; take the one through the
        # basis direction least aligned with a, so the answer is deterministic.
        helper = np.zeros_like(a)
        helper[int(np.argmin(np.abs(a)))] = 1.0
        ortho = unit(helper - (helper @ a) * a)
        angles = np.pi * ts[:, None]
        return unit(np.cos(angles) * a + np.sin(angles) * ortho)
    if path is InterpolationPath.LERP:
        return unit((1 - ts)[:, None] * a + ts[:, None] * b)
    omega = math.acos(dot)
    if math.sin(omega) < 1e-6:  # identical directions
        return unit(np.repeat(a[None, :], len(ts), axis=0))
    weights_a = np.sin((1 - ts) * omega) / math.sin(omega)
    weights_b = np.sin(ts * omega) / math.sin(omega)
    return unit(weights_a[:, None] * a + weights_b[:, None] * b)


def interpolate(
    space: Space,
    start: Term,
    end: Term,
    limits: Limits,
    *,
    steps: int = 5,
    path: InterpolationPath = InterpolationPath.LERP,
    k: int = 10,
    options: QueryOptions = DEFAULT_OPTIONS,
) -> Interpolation:
    words = searchable(space)
    check_k(k, limits)
    check_options(options, limits)
    if not 2 <= steps <= limits.max_steps:
        raise invalid("steps", f"must be between 2 and {limits.max_steps} (both ends "
                      f"included), got {steps}")
    check_results(steps, k, limits)
    resolver = TermResolver(space, limits)
    a_handle = resolver.add([start], "start", 1.0)
    b_handle = resolver.add([end], "end", 1.0)
    resolver.resolve()
    a, b = resolver.group(a_handle), resolver.group(b_handle)
    ts = np.linspace(0.0, 1.0, steps, dtype=np.float64)
    points = interpolation_path(a.vectors[0].astype(np.float64),
                                b.vectors[0].astype(np.float64), ts, path).astype(np.float32)
    rows = [] if options.include_inputs else sorted(set(a.rows + b.rows))
    exclude = np.array([rows] * steps, dtype=np.int64).reshape(steps, len(rows))
    batch = QueryBatch(points, points[:, None, :], np.ones((steps, 1), np.float32), exclude)
    check_exact_work(words, batch, AnalogyMethod.COSADD, options, limits)
    hits = search(words, batch, k, AnalogyMethod.COSADD, options.exact, options.restrict,
                  options.ef)
    return Interpolation(
        [InterpolationPoint(float(t), points[i], neighbors(words, hits.rows[i], hits.scores[i]))
         for i, t in enumerate(ts)],
        a.resolved[0], b.resolved[0], hits.searched_with,
    )


def similarity(space: Space, a: Sequence[Term], b: Sequence[Term],
               limits: Limits) -> SimilarityMatrix:
    check_count(a, "a", limits.max_inputs)
    check_count(b, "b", limits.max_inputs)
    resolver = TermResolver(space, limits)
    ha, hb = resolver.add(a, "a", 1.0), resolver.add(b, "b", 1.0)
    resolver.resolve()
    ga, gb = resolver.group(ha), resolver.group(hb)
    return SimilarityMatrix(ga.vectors @ gb.vectors.T, ga.resolved, gb.resolved)


def doesnt_match(space: Space, terms: Sequence[Term], limits: Limits) -> OddOneOut:
    """gensim's doesnt_match: the term whose unit vector is furthest from the mean."""
    check_count(terms, "terms", limits.max_terms, least=2)
    resolver = TermResolver(space, limits)
    handle = resolver.add(terms, "terms", 1.0)
    resolver.resolve()
    group = resolver.group(handle)
    mean = unit(group.vectors.mean(axis=0))
    scores = group.vectors @ mean
    odd = int(np.argmin(scores))
    return OddOneOut(odd, group.resolved[odd].key, float(scores[odd]), group.resolved)
