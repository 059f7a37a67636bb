"""Work limits and stopping: no request within the limits costs minutes, and work stops
when its caller has gone. Over the tiny word space and the real default sentence model."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
from gensim.models import KeyedVectors

from latentd.core import arithmetic as A
from latentd.core import comparison, encoding, terms
from latentd.core.cancellation import stop_when
from latentd.core.errors import DeadlineExceeded, InvalidArgument, NotFound, NotReady
from latentd.core.index import HnswIndex, HnswParams
from latentd.core.limits import Limits
from latentd.core.sentence_model import SentenceModel
from latentd.core.types import AnalogyMethod, IndexState, QueryOptions, Term
from latentd.core.word_space import WordSpace


@pytest.fixture(scope="module")
def sentences() -> Iterator[SentenceModel]:
    from latentd.app import default_sentence_dir

    model = SentenceModel("minilm", default_sentence_dir())
    yield model
    model.close()


def exact_space(kv: KeyedVectors) -> WordSpace:
    return WordSpace("tiny", list(kv.index_to_key), kv.vectors)


def deadline_passed() -> None:
    raise DeadlineExceeded("the deadline passed")


# -- sentence-model tokens --------------------------------------------------------------


def test_tokens_over_the_request_budget_fail_before_any_forward_pass(
    sentences: SentenceModel,
) -> None:
    texts = ["the cat sat on the mat " * 10] * 3  # 62 tokens each, specials included
    limits = Limits(max_request_tokens=150)
    with pytest.raises(InvalidArgument, match=r"inputs: 3 texts hold 186 tokens .* at most 150"):
        encoding.encode(sentences, texts, limits)
    assert encoding.encode(sentences, texts[:2], limits).vectors.shape == (2, sentences.dimension)


def test_the_budget_counts_tokens_after_truncation(sentences: SentenceModel) -> None:
    long = "word " * 1000  # far over the 256-token limit: counts 256 once cut
    limits = Limits(max_request_tokens=600)
    encoded = encoding.encode(sentences, [long, long], limits, truncate=True)
    assert encoded.truncated == [True, True]
    with pytest.raises(InvalidArgument, match=r"768 tokens .* after truncation"):
        encoding.encode(sentences, [long, long, long], limits, truncate=True)


def test_similarity_counts_both_sides_against_the_budget(sentences: SentenceModel) -> None:
    a = [Term(text="the cat sat on the mat " * 10)] * 2
    with pytest.raises(InvalidArgument, match="text terms: 4 texts hold 248 tokens"):
        comparison.similarity(sentences, a, a, Limits(max_request_tokens=200))


def test_encode_stops_when_the_caller_has_gone(sentences: SentenceModel) -> None:
    with stop_when(deadline_passed), pytest.raises(DeadlineExceeded):
        sentences.embed(["a cat sat on the mat"])
    # The model thread is free for the next caller.
    assert sentences.embed(["a cat"]).vectors.shape == (1, sentences.dimension)


# -- exact search work ------------------------------------------------------------------


def queries(n: int) -> list[list[Term]]:
    return [[Term(key="king")] for _ in range(n)]


def test_exact_search_work_is_bounded(tiny_kv: KeyedVectors) -> None:
    space = exact_space(tiny_kv)  # no index: every search is exact
    size = space.size
    limits = Limits(max_exact_scores=10 * size)
    assert len(A.nearest(space, queries(10), limits, k=3)) == 10
    with pytest.raises(InvalidArgument, match=rf"queries: .*11 queries x {size} keys"):
        A.nearest(space, queries(11), limits, k=3)
    # restrict shrinks the keys searched, and so the work.
    options = QueryOptions(restrict=size // 2)
    assert len(A.nearest(space, queries(20), limits, k=3, options=options)) == 20


def test_exact_cosmul_counts_every_term(tiny_kv: KeyedVectors) -> None:
    space = exact_space(tiny_kv)
    size = space.size
    limits = Limits(max_exact_scores=3 * size * 4)
    query = ([Term(key="king"), Term(key="woman")], [Term(key="man")])
    assert len(A.analogy(space, [query] * 4, limits, method=AnalogyMethod.COSMUL)) == 4
    with pytest.raises(InvalidArgument, match=rf"5 queries x {size} keys x 3 terms"):
        A.analogy(space, [query] * 5, limits, method=AnalogyMethod.COSMUL)
    assert len(A.analogy(space, [query] * 5, limits)) == 5  # 3CosAdd: one score a key


def test_asking_for_exact_over_an_index_names_the_option(tiny_kv: KeyedVectors) -> None:
    space = exact_space(tiny_kv)
    space.start_index(HnswParams(m=8, ef_construction=50), None, background=False)
    limits = Limits(max_exact_scores=space.size)
    assert len(A.nearest(space, queries(50), limits, k=3)) == 50  # HNSW: not bounded here
    with pytest.raises(InvalidArgument, match=r"options\.exact: an exact search of 2 queries"):
        A.nearest(space, queries(2), limits, k=3, options=QueryOptions(exact=True))


def test_large_batch_while_the_index_builds_is_unavailable(
    tiny_kv: KeyedVectors, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real_build = HnswIndex.load_or_build

    def held_build(*args, **kwargs):  # type: ignore[no-untyped-def]
        release.wait(30)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(HnswIndex, "load_or_build", held_build)
    space = exact_space(tiny_kv)
    thread = space.start_index(HnswParams(m=8, ef_construction=50), None, background=True)
    assert thread is not None
    try:
        assert space.index_state is IndexState.BUILDING
        limits = Limits(max_exact_scores=space.size)
        with pytest.raises(NotReady, match="still building its HNSW index"):
            A.nearest(space, queries(2), limits, k=3)
    finally:
        release.set()
        thread.join(30)
    assert space.index_state is IndexState.HNSW
    assert len(A.nearest(space, queries(2), Limits(max_exact_scores=space.size), k=3)) == 2


@pytest.mark.parametrize("indexed", [False, True])
def test_search_stops_when_the_caller_has_gone(tiny_kv: KeyedVectors, indexed: bool) -> None:
    space = exact_space(tiny_kv)
    if indexed:
        space.start_index(HnswParams(m=8, ef_construction=50), None, background=False)
    with stop_when(deadline_passed), pytest.raises(DeadlineExceeded):
        A.nearest(space, queries(5), Limits(), k=3)
    assert len(A.nearest(space, queries(5), Limits(), k=3)) == 5


# -- unknown keys -----------------------------------------------------------------------


def test_only_the_first_unknown_keys_get_suggestions(
    tiny_kv: KeyedVectors, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = exact_space(tiny_kv)
    asked: list[str] = []
    real_suggest = space.suggest

    def counting_suggest(key: str, n: int = 3) -> list[str]:
        asked.append(key)
        return real_suggest(key, n)

    monkeypatch.setattr(space, "suggest", counting_suggest)
    unknown = [Term(key=f"kingx{i}") for i in range(64)]
    with pytest.raises(NotFound) as err:
        A.nearest(space, [unknown], Limits())
    assert len(asked) == terms.MAX_SUGGESTED
    message = str(err.value)
    assert "did you mean: king" in message
    assert f"… and {64 - terms.MAX_NAMED_UNKNOWN} more unknown terms" in message
    assert message.count("unknown key") == terms.MAX_NAMED_UNKNOWN


def test_word_model_encode_of_many_unknown_words_is_one_short_error(
    tiny_kv: KeyedVectors,
) -> None:
    space = exact_space(tiny_kv)
    with pytest.raises(NotFound) as err:
        encoding.encode(space, [f"zzq{i}" for i in range(256)], Limits())
    assert len(str(err.value)) < 1000 and "246 more unknown terms" in str(err.value)
    np.testing.assert_array_equal(encoding.encode(space, ["king"], Limits()).vectors.shape, (1, 16))
