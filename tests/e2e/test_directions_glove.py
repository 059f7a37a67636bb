"""Directions over the real GloVe 6B 50d server: the poles of man -> woman, a walk from
king to queen, a neutralised Nearest against brute force over all 400,000 neutralised
vectors, and WEAT against wefe's effect sizes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc

REFERENCE = Path(__file__).resolve().parents[1] / "core" / "weat_reference.json"


@pytest.fixture(scope="module")
def channel(default_server: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(default_server) as channel:
        yield channel


@pytest.fixture(scope="module")
def directions(channel: grpc.Channel) -> pb_grpc.DirectionsStub:
    return pb_grpc.DirectionsStub(channel)


@pytest.fixture(scope="module")
def arithmetic(channel: grpc.Channel) -> pb_grpc.ArithmeticStub:
    return pb_grpc.ArithmeticStub(channel)


def pairs(*items: tuple[str, str]) -> pb.Direction:
    return pb.Direction(
        pairs=pb.DirectionPairs(
            pairs=[pb.TermPair(a=pb.Term(key=a), b=pb.Term(key=b)) for a, b in items]
        )
    )


GENDER = pairs(("man", "woman"), ("he", "she"))
# Words of Bolukbasi et al.'s gender-specific list (debiaswe, gender_specific_full.json).
FEMALE_SPECIFIC = {"actress", "mother", "sister", "daughter", "girl", "herself", "woman"}


def test_the_she_pole_holds_gendered_words(directions: pb_grpc.DirectionsStub) -> None:
    """Among the 5,000 most frequent words the she-end is plainly female; among 50,000 it
    is led by rarer words about the female body (GloVe 50d puts "she" itself only 0.10
    from orthogonal to woman - man: it is above all a pronoun, like "he")."""
    frequent = directions.Project(pb.ProjectRequest(direction=GENDER, top=20, restrict=5000))
    to_end = [n.key for n in frequent.to_end]
    assert set(to_end) >= FEMALE_SPECIFIC, to_end
    wide = directions.Project(pb.ProjectRequest(direction=GENDER, top=100, restrict=5000))
    assert {"she", "her"} <= {n.key for n in wide.to_end}
    broad = directions.Project(pb.ProjectRequest(direction=GENDER, top=20, restrict=50000))
    assert {"uterus", "womb"} <= {n.key for n in broad.to_end}
    assert not FEMALE_SPECIFIC & {n.key for n in broad.from_end}
    scores = [n.score for n in broad.to_end]
    assert scores == sorted(scores, reverse=True)


def test_navigate_from_king_reaches_queen(directions: pb_grpc.DirectionsStub) -> None:
    walk = directions.Navigate(
        pb.NavigateRequest(start=pb.Term(key="king"), direction=pairs(("man", "woman")), steps=6)
    )
    firsts = [p.neighbors[0].key for p in walk.points]
    assert "queen" in firsts[1:], firsts
    assert all("king" not in [n.key for n in p.neighbors] for p in walk.points)
    assert len(walk.points) == 7


def neutralised(vectors: np.ndarray, d: np.ndarray) -> np.ndarray:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    out = unit - np.outer(unit @ d, d)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_neutralised_nearest_equals_brute_force(
    directions: pb_grpc.DirectionsStub,
    arithmetic: pb_grpc.ArithmeticStub,
    glove_kv,  # type: ignore[no-untyped-def]
) -> None:
    direction = pairs(("man", "woman"))
    d = np.array(directions.Define(pb.DefineRequest(direction=direction)).vector.values)
    matrix = neutralised(glove_kv.vectors.astype(np.float64), d)
    for word in ("doctor", "nurse", "programmer", "king"):
        response = arithmetic.Nearest(
            pb.NearestRequest(
                query=[pb.Term(key=word)], k=10, options=pb.QueryOptions(remove=[direction])
            )
        )
        assert response.searched_with == pb.HNSW
        row = glove_kv.key_to_index[word]
        scores = matrix @ matrix[row]
        scores[row] = -np.inf
        top = np.argsort(-scores)[:10]
        got = [n.score for n in response.neighbors]
        np.testing.assert_allclose(got, scores[top], atol=1e-5)
        # Equal keys, but for keys whose scores tie (man and woman are one vector once
        # their difference is removed).
        for neighbor, expected in zip(response.neighbors, top, strict=True):
            if neighbor.key != glove_kv.index_to_key[expected]:
                assert scores[glove_kv.key_to_index[neighbor.key]] == pytest.approx(
                    scores[expected], abs=1e-5
                )


def test_returned_vectors_are_orthogonal_to_the_removed_direction(
    channel: grpc.Channel, directions: pb_grpc.DirectionsStub
) -> None:
    direction = pairs(("man", "woman"))
    d = np.array(directions.Define(pb.DefineRequest(direction=direction)).vector.values)
    path = pb_grpc.ArithmeticStub(channel).Interpolate(
        pb.InterpolateRequest(
            start=pb.Term(key="king"),
            end=pb.Term(key="nurse"),
            steps=5,
            options=pb.QueryOptions(remove=[direction]),
        )
    )
    for point in path.points:
        assert abs(float(np.array(point.vector.values) @ d)) < 1e-5
    encoded = pb_grpc.EmbeddingsStub(channel).Encode(
        pb.EncodeRequest(model="glove-6b-50d", inputs=["doctor", "the nurse"], remove=[direction])
    )
    for embedding in encoded.embeddings:
        assert abs(float(np.array(embedding.vector.values) @ d)) < 1e-5
    texts = pb.Direction(
        pairs=pb.DirectionPairs(
            pairs=[pb.TermPair(a=pb.Term(text="he is a doctor"), b=pb.Term(text="she is a doctor"))]
        )
    )
    sentence_d = np.array(
        directions.Define(pb.DefineRequest(space="all-minilm-l6-v2", direction=texts)).vector.values
    )
    sentences = pb_grpc.EmbeddingsStub(channel).Encode(
        pb.EncodeRequest(inputs=["My sister is a surgeon."], remove=[texts])
    )
    assert abs(float(np.array(sentences.embeddings[0].vector.values) @ sentence_d)) < 1e-5


@pytest.mark.parametrize("name", ["weat1_flowers_insects", "weat2_instruments_weapons"])
def test_weat_equals_wefe(directions: pb_grpc.DirectionsStub, name: str) -> None:
    [test] = [t for t in json.loads(REFERENCE.read_text())["tests"] if t["name"] == name]

    def terms(words: list[str]) -> list[pb.Term]:
        return [pb.Term(key=w) for w in words]

    result = directions.Associate(
        pb.AssociateRequest(
            targets_x=terms(test["x"]),
            targets_y=terms(test["y"]),
            attributes_a=terms(test["a"]),
            attributes_b=terms(test["b"]),
            permutations=10_000,
            seed=1,
        )
    )
    assert result.effect_size == pytest.approx(test["wefe_effect_size"], abs=1e-4)
    assert not result.exact and result.partitions == 10_000
    assert result.p_value < 0.01
