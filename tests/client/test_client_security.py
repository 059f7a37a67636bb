"""The client's API key against a real in-process server with keys: the key is sent on
every call (scrolls too), LATENT_API_KEY is the fallback and an explicit key wins, the
key never shows in repr or in an error; the client's own argument checks; and the
`latent` command's --api-key and its one-line errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

import latent
from latent.cli import main
from latentd.config import Settings
from latentd.testing import start_test_server

KEY = "client-test-key-0123456789abcdef"
READ_ONLY = "client-ro-key-0123456789abcdef"
ENV = "LATENT_API_KEY"


@pytest.fixture(scope="module")
def keyed_target(tiny_kv: Any) -> Iterator[str]:
    settings = Settings(api_keys=(KEY,), read_only_api_keys=(READ_ONLY,))
    with start_test_server(tiny_kv, sentence_model=False, settings=settings) as target:
        with latent.Client(target, api_key=KEY) as client:
            client.create_collection("docs", dimension=2)
            client.upsert("docs", [{"id": f"d{i}", "vector": [1.0, float(i)]} for i in range(5)])
        yield target


@pytest.fixture(autouse=True)
def no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


def test_the_key_goes_with_every_call(keyed_target: str) -> None:
    with latent.Client(keyed_target, api_key=KEY) as client:
        assert [m.name for m in client.models()] == ["tiny"]
        # A scroll fetches page after page, each one a call with the key.
        assert [d.id for d in client.scroll("docs", limit=2)] == [f"d{i}" for i in range(5)]


def test_without_a_key_the_server_refuses(keyed_target: str) -> None:
    with latent.Client(keyed_target) as client, pytest.raises(latent.Unauthenticated) as caught:
        client.models()
    assert caught.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert "--api-key or LATENT_API_KEY" in caught.value.message


def test_the_environment_is_the_fallback_and_an_explicit_key_wins(
    keyed_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, KEY)
    with latent.Client(keyed_target) as client:
        assert client.models()
    for key in ("wrong-key-0123456789", ""):  # "": send none
        with (
            latent.Client(keyed_target, api_key=key) as client,
            pytest.raises(latent.Unauthenticated),
        ):
            client.models()


def test_the_async_client_sends_the_key(keyed_target: str) -> None:
    async def names(key: str | None) -> list[str]:
        async with latent.AsyncClient(keyed_target, api_key=key) as client:
            return [m.name for m in await client.models()]

    assert asyncio.run(names(KEY)) == ["tiny"]
    with pytest.raises(latent.Unauthenticated):
        asyncio.run(names(None))


def test_a_read_only_key_gets_permission_denied_on_a_write(keyed_target: str) -> None:
    with latent.Client(keyed_target, api_key=READ_ONLY) as client:
        assert client.count("docs") == 5
        with pytest.raises(latent.PermissionDenied) as denied:
            client.delete("docs", ["d0"])
        assert client.count("docs") == 5
    assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_the_key_stays_out_of_repr() -> None:
    client = latent.Client("127.0.0.1:1", api_key=KEY)
    try:
        assert KEY not in repr(client) and KEY not in str(client)
    finally:
        client.close()


@pytest.mark.parametrize("bad", ["two words", "tab\there", "ключ-0123456789", "line\nbreak"])
def test_a_key_that_cannot_be_sent_is_refused_without_showing_it(
    bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match=r"^api_key: an API key is printable ASCII") as caught:
        latent.Client("127.0.0.1:1", api_key=bad)
    assert bad not in str(caught.value)
    monkeypatch.setenv(ENV, bad)
    with pytest.raises(ValueError, match=r"^LATENT_API_KEY: "):
        latent.Client("127.0.0.1:1")


def test_tls_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match=r"^credentials: give either"):
        latent.Client("127.0.0.1:1", credentials=grpc.ssl_channel_credentials(), tls=True)
    with pytest.raises(ValueError, match=r"^client_cert: client_cert and client_key go"):
        latent.Client("127.0.0.1:1", client_key=b"-----BEGIN PRIVATE KEY-----\n")
    with pytest.raises(ValueError, match=r"^root_certificates: the bytes given is not PEM"):
        latent.Client("127.0.0.1:1", root_certificates=b"not a certificate")


# -- the command --------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_sends_its_key(keyed_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--target", keyed_target, "--api-key", KEY, "models")
    assert (code, err) == (0, "")
    assert "tiny" in out


def test_the_command_reads_the_key_from_the_environment(
    keyed_target: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, KEY)
    code, out, _ = run(capsys, "models", "--target", keyed_target)
    assert code == 0 and "tiny" in out


def test_the_command_without_a_key_says_how_to_send_one(
    keyed_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--target", keyed_target, "models")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("latent: unauthenticated: this server needs an API key")
    assert "--api-key or LATENT_API_KEY" in err


def test_the_command_with_a_read_only_key_cannot_write(
    keyed_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("--target", keyed_target, "--api-key", READ_ONLY)
    code, _, err = run(capsys, *argv, "collection", "create", "other", "--dimension", "2")
    assert code == 1
    assert err == (
        "latent: permission denied: CreateCollection (latent.v1.Collections) changes state "
        "and this API key is read-only; use a read-write key\n"
    )
    code, out, _ = run(capsys, *argv, "collection", "list")
    assert code == 0 and "docs" in out and "other" not in out
