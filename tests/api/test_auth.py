"""API keys over a real in-process server (tiny word space, no sentence model): no key,
a wrong key and a malformed header are UNAUTHENTICATED; two read-write keys both work
(rotation); a read-only key reads but gets PERMISSION_DENIED on every write, which
changes nothing; health stays open; reflection needs a key. Then the key ring itself:
the key file's format and errors, reloads, and the constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import latent
from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.api import auth
from latentd.api.auth import Access, KeyRing, UnusableKeys
from latentd.config import Settings
from latentd.core.errors import PermissionDenied, Unauthenticated
from latentd.testing import start_test_server

ROTATED_OUT = "rw-key-old-0123456789abcdef0123"  # two read-write keys: a rotation
ROTATED_IN = "rw-key-new-fedcba9876543210fedc"
READ_ONLY = "ro-key-00112233445566778899aabb"
WRONG = "not-a-key-of-this-server-424242"
DIM = 4


@pytest.fixture(scope="module")
def keyed_target(tiny_kv: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(api_keys=(ROTATED_OUT, ROTATED_IN), read_only_api_keys=(READ_ONLY,))
    cache = tmp_path_factory.mktemp("cache")
    with start_test_server(tiny_kv, cache, sentence_model=False, settings=settings) as target:
        with latent.Client(target, api_key=ROTATED_IN) as client:
            client.create_collection("kept", dimension=DIM)
            client.upsert("kept", [{"id": "a", "vector": [1.0, 0.0, 0.0, 0.0]}])
            client.save_direction("royal", [("man", "king")])
        yield target


def bearer(key: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {key}"),)


def list_models(target: str, metadata: Any = None) -> grpc.StatusCode:
    with grpc.insecure_channel(target) as channel:
        try:
            pb_grpc.ModelsStub(channel).ListModels(
                pb.ListModelsRequest(), metadata=metadata, timeout=10
            )
        except grpc.RpcError as error:
            assert WRONG not in (error.details() or "")
            return error.code()
    return grpc.StatusCode.OK


def refused(target: str, metadata: Any) -> grpc.RpcError:
    with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as caught:
        pb_grpc.ModelsStub(channel).ListModels(
            pb.ListModelsRequest(), metadata=metadata, timeout=10
        )
    return caught.value


# -- who may call -------------------------------------------------------------------------


def test_no_key_is_unauthenticated_and_says_how_to_send_one(keyed_target: str) -> None:
    error = refused(keyed_target, None)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    message = error.details()
    assert "needs an API key" in message
    assert "authorization: Bearer <key>" in message
    assert "--api-key" in message and "LATENT_API_KEY" in message


def test_a_wrong_key_is_unauthenticated_and_not_repeated(keyed_target: str) -> None:
    error = refused(keyed_target, bearer(WRONG))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not valid" in error.details() and WRONG not in error.details()
    # A prefix of a real key is no key either.
    assert list_models(keyed_target, bearer(ROTATED_IN[:-1])) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("value", [f"Basic {ROTATED_IN}", ROTATED_IN, "Bearer", "Bearer  "])
def test_an_authorization_that_is_not_bearer_is_unauthenticated(
    keyed_target: str, value: str
) -> None:
    error = refused(keyed_target, (("authorization", value),))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not 'Bearer <key>'" in error.details()
    assert ROTATED_IN not in error.details()


def test_both_keys_of_a_rotation_work(keyed_target: str) -> None:
    assert list_models(keyed_target, bearer(ROTATED_OUT)) == grpc.StatusCode.OK
    assert list_models(keyed_target, bearer(ROTATED_IN)) == grpc.StatusCode.OK
    # The scheme is case-insensitive (RFC 7235); the key is not.
    assert list_models(keyed_target, (("authorization", f"bearer {ROTATED_IN}"),)) == (
        grpc.StatusCode.OK
    )
    assert list_models(keyed_target, bearer(ROTATED_IN.upper())) == (
        grpc.StatusCode.UNAUTHENTICATED
    )


def test_health_is_open_without_a_key(keyed_target: str) -> None:
    with grpc.insecure_channel(keyed_target) as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service="latent.v1.Models"), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def list_services(target: str, metadata: Any) -> list[str]:
    with grpc.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        replies = stub.ServerReflectionInfo(iter([request]), metadata=metadata, timeout=10)
        return [s.name for reply in replies for s in reply.list_services_response.service]


def test_reflection_needs_a_key(keyed_target: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        list_services(keyed_target, None)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # Reflection only reads: a read-only key lists the services.
    listed = list_services(keyed_target, bearer(READ_ONLY))
    assert {"latent.v1.Models", "latent.v1.Collections"} <= set(listed)


# -- what a read-only key may do ------------------------------------------------------------

WriteCall = Callable[[latent.Client], object]
# Each write with arguments that succeed with a read-write key.
WRITE_CALLS: dict[str, WriteCall] = {
    "CreateCollection": lambda c: c.create_collection("fresh", dimension=DIM),
    "DeleteCollection": lambda c: c.delete_collection("kept"),
    "Upsert": lambda c: c.upsert("kept", [{"id": "b", "vector": [0.0, 1.0, 0.0, 0.0]}]),
    "Delete": lambda c: c.delete("kept", ["a"]),
    "Save": lambda c: c.save_direction("gender", [("man", "woman")]),
    "Delete direction": lambda c: c.delete_direction("royal"),
}


def state(client: latent.Client) -> tuple[object, ...]:
    collections = sorted(c.name for c in client.list_collections())
    documents = client.get("kept", ["a", "b"]) if "kept" in collections else None
    directions = sorted(d.name for d in client.list_directions())
    return collections, client.count("kept"), str(documents), directions


@pytest.mark.parametrize("write", list(WRITE_CALLS))
def test_a_read_only_key_cannot_write_and_nothing_changes(keyed_target: str, write: str) -> None:
    with latent.Client(keyed_target, api_key=READ_ONLY) as client:
        before = state(client)
        with pytest.raises(latent.PermissionDenied) as denied:
            WRITE_CALLS[write](client)
        assert state(client) == before
    method = write.split()[0]
    assert denied.value.message.startswith(f"{method} (latent.v1.")
    assert "read-only" in denied.value.message and READ_ONLY not in denied.value.message


def test_a_read_only_key_reads(keyed_target: str) -> None:
    with latent.Client(keyed_target, api_key=READ_ONLY) as client:
        assert [m.name for m in client.models()] == ["tiny"]
        assert client.analogy(["king", "woman"], ["man"]).neighbors[0].key == "queen"
        assert client.nearest("cat", k=3).neighbors
        assert client.similarity(["cat"], ["dog"]).scores.shape == (1, 1)
        assert client.encode(["cat"], "tiny").shape == (1, 16)
        assert client.count("kept") == 1
        assert [h.id for h in client.search("kept", [1.0, 0.0, 0.0, 0.0], k=1).hits] == ["a"]
        assert [d.name for d in client.list_directions()] == ["royal"]
        assert client.project("royal", ["queen"]).projections


def test_every_method_is_declared_a_read_or_a_write() -> None:
    methods = {
        f"/{service.full_name}/{method.name}"
        for service in pb.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert methods == auth.READS | auth.WRITES
    assert not auth.READS & auth.WRITES
    assert {
        "/latent.v1.Collections/CreateCollection",
        "/latent.v1.Collections/DeleteCollection",
        "/latent.v1.Collections/Upsert",
        "/latent.v1.Collections/Delete",
        "/latent.v1.Directions/Save",
        "/latent.v1.Directions/Delete",
    } == auth.WRITES
    # A latent.v1 method listed nowhere is a write until it is declared.
    assert auth.is_write("/latent.v1.Collections/Truncate")
    assert not auth.is_write("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")


def test_with_no_keys_every_call_goes_through() -> None:
    keys = KeyRing()
    assert not keys.enabled
    assert auth.refusal(keys, "/latent.v1.Collections/Upsert", None) is None


# -- the key ring ----------------------------------------------------------------------------


def write_keys(path: Path, text: str) -> Path:
    path.write_text(text, encoding="ascii")
    path.chmod(0o600)
    return path


def test_the_key_file_format(tmp_path: Path) -> None:
    path = write_keys(
        tmp_path / "keys",
        "# the team's keys\n\n  rw-one-0123456789abcdef  \nread-only ro-one-0123456789abcdef\n"
        "\t# indented comment\nrw-two-0123456789abcdef\n",
    )
    keys = KeyRing(key_file=path)
    assert keys.enabled
    assert keys.access("rw-one-0123456789abcdef") is Access.READ_WRITE
    assert keys.access("rw-two-0123456789abcdef") is Access.READ_WRITE
    assert keys.access("ro-one-0123456789abcdef") is Access.READ_ONLY
    assert keys.counts() == {Access.READ_WRITE: 2, Access.READ_ONLY: 1}
    assert "2 read-write and 1 read-only" in keys.describe()
    assert "0123456789" not in keys.describe()


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("good-key-0123456789abcdef\nsecret-one secret-two\n", 2),
        ("# c\n\nread-write secret-key-0123456789\n", 3),
        ("read-only\n", 1),
        ("secret-k\xe9y-0123456789\n", 1),
    ],
)
def test_a_bad_line_names_the_file_and_line_but_not_its_content(
    tmp_path: Path, text: str, line: int
) -> None:
    path = tmp_path / "keys"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(UnusableKeys) as bad:
        KeyRing(key_file=path)
    message = str(bad.value)
    assert f"{path} line {line}:" in message
    assert "secret" not in message


def test_a_key_given_read_write_and_read_only_is_refused(tmp_path: Path) -> None:
    path = write_keys(tmp_path / "keys", "read-only both-ways-0123456789abcdef\n")
    with pytest.raises(UnusableKeys, match=r"line 1: a key given as read-write in api_keys"):
        KeyRing(keys=["both-ways-0123456789abcdef"], key_file=path)


def test_an_unreadable_key_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnusableKeys, match=r"api_key_file: cannot read .*missing"):
        KeyRing(key_file=tmp_path / "missing")


def test_an_empty_key_file_locks_rather_than_opens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    keys = KeyRing(key_file=write_keys(tmp_path / "keys", "# no keys yet\n"))
    assert keys.enabled
    assert isinstance(auth.refusal(keys, "/latent.v1.Models/ListModels", None), Unauthenticated)
    assert "holds no key" in caplog.text


def test_reload_takes_the_new_file_or_keeps_the_old_keys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_keys(tmp_path / "keys", "first-key-0123456789abcdef\n")
    keys = KeyRing(key_file=path)
    write_keys(path, "second-key-0123456789abcdef\nread-only third-key-0123456789abc\n")
    assert keys.reload()
    assert keys.access("first-key-0123456789abcdef") is None
    assert keys.access("second-key-0123456789abcdef") is Access.READ_WRITE
    assert keys.access("third-key-0123456789abc") is Access.READ_ONLY
    caplog.set_level(logging.DEBUG)
    write_keys(path, "second-key-0123456789abcdef\nbroken line-with-secret-9876\n")
    assert not keys.reload()
    assert keys.access("second-key-0123456789abcdef") is Access.READ_WRITE
    assert keys.access("third-key-0123456789abc") is Access.READ_ONLY
    assert "line 2" in caplog.text and "keeping the 2 keys in use" in caplog.text
    path.unlink()
    assert not keys.reload()
    assert keys.access("second-key-0123456789abcdef") is Access.READ_WRITE
    for secret in ("second-key", "third-key", "line-with-secret"):
        assert secret not in caplog.text


def test_a_reload_inside_a_reload_keeps_the_later_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second SIGHUP runs its reload on the main thread inside the first one: the inner
    reload read the file later, so its keys stay."""
    path = write_keys(tmp_path / "keys", "first-key-0123456789abcdef\n")
    keys = KeyRing(key_file=path)
    write_keys(path, "second-key-0123456789abcdef\n")
    read = auth.read_key_file
    nested: list[bool] = []

    def reading(file: Path) -> list[tuple[str, Access, str]]:
        found = read(file)
        if not nested:  # the outer reload has read "second": now the file changes again
            nested.append(True)
            write_keys(path, "third-key-0123456789abcdef\n")
            assert keys.reload()
        return found

    monkeypatch.setattr(auth, "read_key_file", reading)
    assert not keys.reload()
    assert keys.access("third-key-0123456789abcdef") is Access.READ_WRITE
    assert keys.access("second-key-0123456789abcdef") is None


def test_a_read_only_key_in_the_file_is_denied_writes(tmp_path: Path) -> None:
    keys = KeyRing(key_file=write_keys(tmp_path / "keys", "read-only ro-0123456789abcdef\n"))
    problem = auth.refusal(keys, "/latent.v1.Directions/Save", "ro-0123456789abcdef")
    assert isinstance(problem, PermissionDenied)
    assert str(problem).startswith("Save (latent.v1.Directions) changes state")
    assert auth.refusal(keys, "/latent.v1.Directions/List", "ro-0123456789abcdef") is None


def test_keys_are_compared_as_digests_against_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """No early exit: a key that matches the first entry is still compared with every
    other, and only fixed-length SHA-256 digests reach the comparison, so neither the
    position of a match nor a key's length shows in the time a check takes."""
    keys = KeyRing(keys=["k" * 40, "short-but-valid-key0"], read_only_keys=["r" * 100])
    compared: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    assert keys.access("k" * 40) is Access.READ_WRITE
    assert len(compared) == 3
    assert {len(a) for a, _ in compared} | {len(b) for _, b in compared} == {32}
    assert compared[0][0] == hashlib.sha256(b"k" * 40).digest()
    compared.clear()
    assert keys.access("x") is None
    assert len(compared) == 3


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (None, None),
        ((("x-other", "1"),), None),
        ((("authorization", "Bearer abc"),), "abc"),
        ((("authorization", "  BEARER   abc "),), "abc"),
        ((("authorization", "Token abc"),), ""),
        ((("authorization", "Bearer"),), ""),
    ],
)
def test_presented_key(metadata: Any, expected: str | None) -> None:
    assert auth.presented_key(metadata) == expected
