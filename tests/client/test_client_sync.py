"""Client round trips against a real latentd (the session fixture `server_target`)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
import pytest

import latent

SENTENCE = "all-minilm-l6-v2"


@pytest.fixture(scope="module")
def client(server_target: str) -> Iterator[latent.Client]:
    with latent.Client(server_target, timeout=60) as c:
        yield c


def test_models(client: latent.Client) -> None:
    models = {m.name: m for m in client.models()}
    tiny, minilm = models["tiny"], models[SENTENCE]
    assert (tiny.kind, tiny.dimension, tiny.num_keys, tiny.is_default) == ("word", 16, 214, True)
    assert tiny.index_state in ("exact", "building", "hnsw")
    assert (minilm.kind, minilm.dimension, minilm.num_keys) == ("sentence", 384, 0)
    assert minilm.is_default and minilm.index_state is None
    assert minilm.max_tokens > 0
    assert isinstance(minilm.prompt_names, list)


def test_analogy_king_man_woman(client: latent.Client) -> None:
    result = client.analogy(["king", "woman"], ["man"], k=5)
    assert isinstance(result, latent.AnalogyResult)
    assert result.neighbors[0].key == "queen"
    assert result.keys[0] == "queen"
    assert len(result.neighbors) == 5
    assert not {"king", "man", "woman"} & set(result.keys)  # inputs are dropped
    assert [r.key for r in result.positive] == ["king", "woman"]
    assert [r.key for r in result.negative] == ["man"]
    assert result.space == "tiny"
    assert result.searched_with in ("exact", "hnsw")
    scores = [n.score for n in result.neighbors]
    assert scores == sorted(scores, reverse=True)


def test_analogy_options(client: latent.Client) -> None:
    cosmul = client.analogy(["king", "woman"], "man", method="cosmul", k=3, exact=True)
    assert cosmul.keys[0] == "queen"
    assert cosmul.searched_with == "exact"
    with_inputs = client.analogy(["king", "woman"], ["man"], k=20, include_inputs=True)
    assert "woman" in with_inputs.keys  # dropped without include_inputs
    restricted = client.analogy(["king", "woman"], ["man"], k=3, restrict=14, space="tiny")
    assert all(not key.startswith("word") for key in restricted.keys)


def test_analogy_lowercase_fallback(client: latent.Client) -> None:
    result = client.analogy(["King", "woman"], ["man"], k=1)
    assert result.positive[0] == latent.ResolvedTerm(input="King", key="king", unknown_tokens=[])
    assert result.keys == ["queen"]


def test_term_forms(client: latent.Client) -> None:
    king, man, woman = client.encode(["king", "man", "woman"], "tiny")
    weighted = client.nearest(
        [latent.Term(key="king"), latent.Term(key="man", weight=-1.0), latent.Term(key="woman")],
        k=1,
    )
    assert weighted.keys == ["queen"]
    by_vector = client.nearest(king - man + woman, k=2)
    assert by_vector.keys[0] in ("queen", "king")
    as_list = client.nearest(list(map(float, king)), k=1, include_inputs=True)
    assert as_list.keys == ["king"]
    as_text = client.nearest(latent.Text("kitten"), k=1)
    assert as_text.query[0].input == "kitten"
    assert as_text.keys[0] in ("kitten", "cat")  # a text term is not a key input: kept


def test_batch_analogy_one_result_per_query(client: latent.Client) -> None:
    results = client.batch_analogy(
        [(["king", "woman"], ["man"]), (["prince", "woman"], ["man"]), (["queen"],)], k=3
    )
    assert len(results) == 3
    assert results[0].keys[0] == "queen"
    assert results[1].keys[0] == "princess"
    assert all(len(r.neighbors) == 3 for r in results)


def test_nearest_and_batch_nearest(client: latent.Client) -> None:
    one = client.nearest("cat", k=3)
    assert one.keys[0] == "kitten"
    assert [r.key for r in one.query] == ["cat"]
    combined = client.nearest(["cat", "dog"], k=4)
    assert len(combined.neighbors) == 4
    assert not {"cat", "dog"} & set(combined.keys)
    batch = client.batch_nearest(["cat", ["king", "queen"], latent.Text("france")], k=2)
    assert len(batch) == 3
    assert batch[0].keys == one.keys[:2]
    assert batch[1].keys == client.nearest(["king", "queen"], k=2).keys
    assert [r.input for r in batch[2].query] == ["france"]


@pytest.mark.parametrize("path", ["lerp", "slerp"])
def test_interpolate(client: latent.Client, path: str) -> None:
    result = client.interpolate("cat", "dog", steps=5, path=path, k=3)  # type: ignore[arg-type]
    assert len(result.points) == 5
    ts = [p.t for p in result.points]
    assert ts[0] == pytest.approx(0.0) and ts[-1] == pytest.approx(1.0)
    assert ts == sorted(ts)
    for point in result.points:
        assert point.vector.shape == (16,) and point.vector.dtype == np.float32
        assert np.linalg.norm(point.vector) == pytest.approx(1.0, abs=1e-4)
        assert len(point.neighbors) == 3
    assert (result.start.key, result.end.key) == ("cat", "dog")
    default = client.interpolate("king", "queen")
    assert len(default.points) == 5


def test_similarity(client: latent.Client) -> None:
    result = client.similarity(["cat", "king"], ["cat", "kitten", "queen"])
    assert result.scores.shape == (2, 3)
    assert result.scores.dtype == np.float32
    assert result.scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert result.scores[0, 1] > result.scores[0, 2]
    assert [r.key for r in result.a] == ["cat", "king"]
    one = client.similarity("cat", "dog")
    assert one.scores.shape == (1, 1)


def test_similarity_sentence_model(client: latent.Client) -> None:
    result = client.similarity(
        latent.Text("a cat sat on the mat"),
        [latent.Text("a kitten rested on a rug"), latent.Text("stock markets fell sharply")],
        space=SENTENCE,
    )
    assert result.scores.shape == (1, 2)
    assert result.scores[0, 0] > result.scores[0, 1]


def test_doesnt_match(client: latent.Client) -> None:
    result = client.doesnt_match(["cat", "dog", "kitten", "king"])
    assert (result.index, result.key) == (3, "king")
    assert len(result.terms) == 4
    assert -1.0 <= result.score <= 1.0


def test_encode(client: latent.Client) -> None:
    vectors = client.encode(["a cat sat on the mat", "hello world", "gRPC is fast"])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    single = client.encode("hello world", SENTENCE)
    assert single.shape == (1, 384)
    np.testing.assert_allclose(single[0], vectors[1], atol=1e-5)


def test_encode_options(client: latent.Client) -> None:
    short = client.encode(["hello world"], dimensions=32)
    assert short.shape == (1, 32)
    np.testing.assert_allclose(np.linalg.norm(short, axis=1), 1.0, atol=1e-4)
    raw = client.encode(["king"], "tiny", normalize=False)
    assert raw.shape == (1, 16)
    assert abs(float(np.linalg.norm(raw)) - 1.0) > 0.05
    detailed = client.encode_detailed(["hello", "world"], SENTENCE, truncate=True)
    assert isinstance(detailed, latent.EncodeResult)
    assert (detailed.model, detailed.dimension) == (SENTENCE, 384)
    assert detailed.vectors.shape == (2, 384)
    assert detailed.truncated == [False, False]
    assert detailed.unknown_tokens == [[], []]
    words = client.encode_detailed(["king zzzqqq"], "tiny")
    assert words.unknown_tokens == [["zzzqqq"]]


def test_unknown_key_is_not_found(client: latent.Client) -> None:
    with pytest.raises(latent.NotFound) as info:
        client.analogy(["kingg", "woman"], ["man"])
    assert "kingg" in str(info.value)
    assert info.value.code == grpc.StatusCode.NOT_FOUND
    assert isinstance(info.value, latent.LatentError)


def test_bad_arguments_are_invalid_argument(client: latent.Client) -> None:
    with pytest.raises(latent.InvalidArgument):
        client.analogy(["king", "woman"], ["man"], k=0)
    with pytest.raises(latent.InvalidArgument):
        client.interpolate("cat", "dog", steps=1)
    with pytest.raises(latent.InvalidArgument):
        client.nearest(np.ones(3, dtype=np.float32))  # wrong dimension


def test_other_error_codes(client: latent.Client) -> None:
    with pytest.raises(latent.NotFound, match="nope"):
        client.nearest("cat", space="nope")
    with pytest.raises(latent.FailedPrecondition):
        client.nearest(latent.Text("a cat"), space=SENTENCE)
    with pytest.raises(latent.DeadlineExceeded):
        client.encode(["a sentence long enough to take the model a while"] * 256, timeout=0.01)


def test_client_side_validation(client: latent.Client) -> None:
    with pytest.raises(ValueError, match="cosadd"):
        client.analogy(["king"], method="cos")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.nearest(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        latent.Term(key="a", text="b")


def test_unreachable_target_is_unavailable() -> None:
    with latent.Client("127.0.0.1:1", timeout=10) as client, pytest.raises(latent.Unavailable):
        client.models()
