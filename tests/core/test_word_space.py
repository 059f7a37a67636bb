"""Spelling suggestions for unknown keys: close spellings among the frequent keys, found
with rapidfuzz over a length-bucketed pool built once per space."""

from __future__ import annotations

import difflib
import threading
import time

import numpy as np
import pytest

from latentd.core import word_space
from latentd.core.word_space import SUGGESTION_LENGTH_SLACK, WordSpace, _SuggestionPool

VOCABULARY = [
    "the",
    "of",
    "and",
    "king",
    "queen",
    "kings",
    "new",
    "york",
    "colour",
    "color",
    "receive",
    "received",
    "believe",
    "believed",
    "relieve",
    "government",
    "language",
    "separate",
    "environment",
    "paris",
    "network",
    "kingdom",
    "queens",
    "city",
]


def space_of(keys: list[str]) -> WordSpace:
    vectors = np.random.default_rng(len(keys)).normal(size=(len(keys), 4))
    return WordSpace("words", keys, vectors.astype(np.float32))


@pytest.mark.parametrize(
    ("typo", "first"),
    [
        ("kinng", "king"),
        ("qeen", "queen"),
        ("recieve", "receive"),
        ("beleive", "believe"),
        ("goverment", "government"),
        ("langauge", "language"),
        ("seperate", "separate"),
        ("KINNG", "king"),  # compared in lower case
        ("colour", "colour"),
    ],
)
def test_typos_suggest_the_word(typo: str, first: str) -> None:
    assert space_of(VOCABULARY).suggest(typo)[0] == first


def test_nothing_close_suggests_nothing() -> None:
    space = space_of(VOCABULARY)
    assert space.suggest("xyzzyq") == []
    assert space.suggest("") == []
    assert space.suggest("new york") == ["network"]  # as difflib: nothing else is close


def test_at_most_n_closest_first_then_the_more_frequent() -> None:
    space = space_of(VOCABULARY)
    assert space.suggest("kingz", n=2) == ["king", "kings"]  # equally close: rank decides
    # receive and relieve 12/14, then received 12/15; believe (10/14) is too far.
    assert space.suggest("recieve", n=10) == ["receive", "relieve", "received"]
    assert space.suggest("recieve", n=1) == ["receive"]


def test_only_the_frequent_keys_are_suggested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(word_space, "SUGGESTION_VOCAB", 5)
    space = space_of(VOCABULARY)
    assert space.suggest("kinng") == ["king"]  # "kings" and "kingdom" are past the prefix
    assert space.suggest("colour") == []


def lcs(a: str, b: str) -> int:
    row = [0] * (len(b) + 1)
    for ca in a:
        previous = 0  # row[j - 1] of the row above
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], previous + 1 if ca == cb else max(row[j], row[j - 1])
    return row[-1]


def random_vocabulary(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = {"".join(rng.choice(list("abcdef"), rng.integers(3, 9))) for _ in range(n)}
    return sorted(words, key=lambda w: rng.random())


def typos(vocabulary: list[str], n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for word in rng.choice(vocabulary, n):
        i = int(rng.integers(len(word)))
        out.append(word[:i] + str(rng.choice(list("abcdefg"))) + word[i + 1 :])
    return out


def test_suggestions_match_a_reference_and_cover_difflib() -> None:
    vocabulary = random_vocabulary(3000, seed=1)
    space = space_of(vocabulary)
    rank = {w: i for i, w in enumerate(vocabulary)}
    for typo in typos(vocabulary, 40, seed=2):
        window = [w for w in vocabulary if abs(len(w) - len(typo)) <= SUGGESTION_LENGTH_SLACK]
        # Reference: 2 * LCS / total length >= 0.75, closest first, ties by frequency.
        scored = [(2 * lcs(typo, w) / (len(typo) + len(w)), w) for w in window]
        expected = sorted((s, w) for s, w in scored if s >= 0.75)
        expected.sort(key=lambda sw: (-sw[0], rank[sw[1]]))
        got = space.suggest(typo, n=len(window))
        assert got == [w for _, w in expected], typo
        # difflib (the former matcher) finds no key that rapidfuzz misses: its matching
        # count is at most the LCS.
        old = difflib.get_close_matches(typo, window, n=len(window), cutoff=0.75)
        assert set(old) <= set(got), typo
        assert space.suggest(typo) == got[:3]


def test_only_the_length_bucket_is_matched(monkeypatch: pytest.MonkeyPatch) -> None:
    space = space_of(random_vocabulary(3000, seed=3))
    seen: list[list[str]] = []
    real_extract = word_space.process.extract

    def recording_extract(query, choices, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(list(choices))
        return real_extract(query, choices, **kwargs)

    monkeypatch.setattr(word_space.process, "extract", recording_extract)
    space.suggest("abc")
    [choices] = seen
    assert choices and all(1 <= len(c) <= 5 for c in choices)
    assert len(choices) == sum(1 <= len(k) <= 5 for k in space.keys)


def test_the_pool_is_built_once_even_by_concurrent_callers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builds: list[int] = []
    real_build = _SuggestionPool.build.__func__  # type: ignore[attr-defined]

    def slow_build(cls, keys):  # type: ignore[no-untyped-def]
        builds.append(len(keys))
        time.sleep(0.05)  # widen the window in which a second caller would build too
        return real_build(cls, keys)

    monkeypatch.setattr(_SuggestionPool, "build", classmethod(slow_build))
    space = space_of(VOCABULARY)
    start = threading.Barrier(8)
    results: list[list[str]] = []

    def ask() -> None:
        start.wait()
        results.append(space.suggest("kinng"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [["king", "kings"]] * 8
    space.suggest("qeen")
    assert builds == [len(VOCABULARY)]
