"""The OpenAI embeddings API, driven by the real `openai` package pointed at the server
with base_url: base64 (its default) and float vectors equal Encode's, `dimensions`
keeps the first N renormalised, the models list, usage tokens, and errors raised as the
package's own exception classes."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import httpx
import numpy as np
import openai
import pytest

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc

SENTENCE = "all-minilm-l6-v2"
TEXTS = ["The cat sat on the mat.", "Stock markets fell sharply today."]


@pytest.fixture
def client(http_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{http_url}/v1", api_key="unused", max_retries=0) as client:
        yield client


def encoded(target: str, texts: list[str], model: str = SENTENCE, **options: int) -> np.ndarray:
    with grpc.insecure_channel(target) as channel:
        response = pb_grpc.EmbeddingsStub(channel).Encode(
            pb.EncodeRequest(model=model, inputs=texts, **options), timeout=60
        )
    return np.array([list(e.vector.values) for e in response.embeddings], dtype=np.float32)


@pytest.mark.parametrize("encoding_format", ["base64", "float"])
def test_embeddings_equal_encode(
    client: openai.OpenAI, http_servers: tuple[str, str], encoding_format: str
) -> None:
    kwargs = {} if encoding_format == "base64" else {"encoding_format": "float"}
    result = client.embeddings.create(model=SENTENCE, input=TEXTS, **kwargs)  # type: ignore[arg-type]
    assert result.model == SENTENCE
    assert [d.index for d in result.data] == [0, 1]
    got = np.array([d.embedding for d in result.data], dtype=np.float32)
    assert got.shape == (2, 384)
    assert np.allclose(got, encoded(http_servers[0], TEXTS), atol=1e-5)
    assert result.usage.prompt_tokens == result.usage.total_tokens
    assert result.usage.prompt_tokens >= 2 * 5  # each text: its words, [CLS] and [SEP]


def test_one_string_is_one_embedding(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model=SENTENCE, input="hello")
    assert len(result.data) == 1
    assert len(result.data[0].embedding) == 384


def test_dimensions_keeps_the_first_n_renormalised(
    client: openai.OpenAI, http_servers: tuple[str, str]
) -> None:
    result = client.embeddings.create(model=SENTENCE, input=TEXTS, dimensions=64)
    got = np.array([d.embedding for d in result.data], dtype=np.float32)
    assert got.shape == (2, 64)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.allclose(got, encoded(http_servers[0], TEXTS, dimensions=64), atol=1e-5)


def test_a_word_model_embeds_words(client: openai.OpenAI, http_servers: tuple[str, str]) -> None:
    result = client.embeddings.create(model="tiny", input=["king", "queen"])
    got = np.array([d.embedding for d in result.data], dtype=np.float32)
    assert np.allclose(got, encoded(http_servers[0], ["king", "queen"], model="tiny"), atol=1e-6)
    assert result.usage.prompt_tokens == 0  # a word model has no tokenizer to count with


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert ids == ["tiny", SENTENCE]
    assert client.models.retrieve(SENTENCE).id == SENTENCE
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("text-embedding-3-small")
    assert "text-embedding-3-small" in str(raised.value)


def test_an_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert "text-embedding-3-small" in raised.value.message


def test_bad_requests_are_bad_request_errors_naming_the_parameter(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as empty:
        client.embeddings.create(model=SENTENCE, input=[])
    assert empty.value.body["param"] == "input"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as tokens:
        client.embeddings.create(model=SENTENCE, input=[[101, 2023]])
    assert "token arrays" in tokens.value.message
    with pytest.raises(openai.BadRequestError) as too_wide:
        client.embeddings.create(model=SENTENCE, input="hi", dimensions=4096)
    assert "dimensions" in too_wide.value.message


def test_a_bad_encoding_format_and_a_non_object_body(http_url: str) -> None:
    response = httpx.post(
        f"{http_url}/v1/embeddings", json={"input": "hi", "encoding_format": "int8"}, timeout=30
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "encoding_format"
    response = httpx.post(f"{http_url}/v1/embeddings", json=["hi"], timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_no_model_means_the_default_sentence_model(http_url: str) -> None:
    response = httpx.post(f"{http_url}/v1/embeddings", json={"input": "hi"}, timeout=30)
    assert response.status_code == 200
    assert response.json()["model"] == SENTENCE
