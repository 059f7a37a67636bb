"""Security with real `latentd serve` processes (a tiny word file, no default models):
SIGHUP re-reads the key file (the new key works, the removed one is refused, a broken
file keeps the keys in use); no key reaches the log, even at debug, after refused and
served calls; mutual TLS through the command line; and start-up refusals of one line
and exit status 1 for bad TLS files, a bad key file, a damaged collection and a word
model cut short."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from pki import Pki, make_pki

import latent
from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.core.collection import DATABASE
from latentd.testing import (
    child_env,
    latentd_command,
    read_serving_line,
    serving_port,
    stop_process,
    wait_for,
)

OLD_KEY = "process-old-key-6f1c9a0b2d3e4f5a"
NEW_KEY = "process-new-key-7a2b8c9d0e1f2a3b"
READ_ONLY = "process-ro-key-1b2c3d4e5f6a7b8c"
WRONG = "process-wrong-key-9e8d7c6b5a4f3e2d"
ALL_KEYS = (OLD_KEY, NEW_KEY, READ_ONLY, WRONG)
START_S = 60


class Latentd:
    """`latentd serve` over a tiny word file, its stderr in a file."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.log = tmp_path / "latentd.log"
        self.words = tmp_path / "words.txt"
        rows = [f"w{i} " + " ".join(f"{(i * 7 + j) % 5 - 2}" for j in range(4)) for i in range(8)]
        self.words.write_text(f"{len(rows)} 4\n" + "\n".join(rows) + "\n", encoding="utf-8")

    def args(self, *extra: str) -> list[str]:
        return [
            *latentd_command(),
            "serve",
            "--no-default-models",
            "--no-index",
            "--port",
            "0",
            "--data-dir",
            str(self.dir / "data"),
            "--cache-dir",
            str(self.dir / "cache"),
            "--word-model",
            f"w={self.words}",
            *extra,
        ]

    def start(self, *extra: str) -> tuple[subprocess.Popen[str], str]:
        with self.log.open("a", encoding="utf-8") as log:
            process = subprocess.Popen(
                self.args(*extra),
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=child_env(drop_latent=True, PYTHONUNBUFFERED="1"),
            )
        try:
            line = read_serving_line(process, timeout=START_S)
        except BaseException:
            process.kill()
            process.wait(timeout=30)
            raise AssertionError(f"latentd did not start:\n{self.log.read_text()}") from None
        return process, f"127.0.0.1:{serving_port(line)}"

    def fail(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.args(*extra),
            capture_output=True,
            text=True,
            env=child_env(drop_latent=True, PYTHONUNBUFFERED="1"),
            timeout=START_S,
            check=False,
        )


@pytest.fixture
def latentd(tmp_path: Path) -> Latentd:
    return Latentd(tmp_path)


@pytest.fixture
def running(latentd: Latentd) -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            stop_process(process)
        if process.stdout is not None:
            process.stdout.close()


def write_keys(path: Path, text: str) -> Path:
    path.write_text(text, encoding="ascii")
    path.chmod(0o600)
    return path


def status(target: str, key: str | None) -> grpc.StatusCode:
    metadata = (("authorization", f"Bearer {key}"),) if key is not None else None
    with grpc.insecure_channel(target) as channel:
        try:
            pb_grpc.ModelsStub(channel).ListModels(
                pb.ListModelsRequest(), metadata=metadata, timeout=10
            )
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def test_sighup_rereads_the_key_file_and_no_key_is_logged(
    latentd: Latentd, running: list[subprocess.Popen[str]]
) -> None:
    keys = write_keys(latentd.dir / "keys", f"# team keys\n{OLD_KEY}\nread-only {READ_ONLY}\n")
    process, target = latentd.start("--api-key-file", str(keys), "--log-level", "debug")
    running.append(process)
    assert status(target, OLD_KEY) == grpc.StatusCode.OK
    assert status(target, NEW_KEY) == grpc.StatusCode.UNAUTHENTICATED
    assert status(target, None) == grpc.StatusCode.UNAUTHENTICATED
    assert status(target, WRONG) == grpc.StatusCode.UNAUTHENTICATED
    with latent.Client(target, api_key=READ_ONLY) as client:
        with pytest.raises(latent.PermissionDenied):
            client.create_collection("c", dimension=4)
        assert client.models()

    write_keys(keys, f"{NEW_KEY}\n")
    process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: status(target, NEW_KEY) == grpc.StatusCode.OK, 10, process=process)
    assert status(target, OLD_KEY) == grpc.StatusCode.UNAUTHENTICATED
    assert status(target, READ_ONLY) == grpc.StatusCode.UNAUTHENTICATED

    write_keys(keys, f"{NEW_KEY}\nnot a valid line {OLD_KEY}\n")
    process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "keeping the 1 keys in use" in latentd.log.read_text(), 10)
    assert status(target, NEW_KEY) == grpc.StatusCode.OK
    assert status(target, OLD_KEY) == grpc.StatusCode.UNAUTHENTICATED
    assert process.poll() is None  # SIGHUP does not stop the server

    assert stop_process(process) == 0
    log = latentd.log.read_text(encoding="utf-8")
    assert "security: TLS off (plaintext), 1 read-write and 1 read-only API keys" in log
    assert "line 2: expected KEY or 'read-only KEY'" in log
    for key in ALL_KEYS:
        assert key not in log
        assert key[-12:] not in log  # nor a part of one


def test_mutual_tls_through_the_command_line(
    latentd: Latentd, running: list[subprocess.Popen[str]]
) -> None:
    pki = make_pki(latentd.dir / "pki")
    process, target = latentd.start(
        "--tls-cert",
        str(pki.server_cert),
        "--tls-key",
        str(pki.server_key),
        "--tls-client-ca",
        str(pki.ca),
        "--api-key",
        NEW_KEY,
    )
    running.append(process)
    options = {"root_certificates": pki.ca, "client_cert": pki.client_cert}
    with latent.Client(target, api_key=NEW_KEY, client_key=pki.client_key, **options) as client:
        assert [m.name for m in client.models()] == ["w"]
    without_certificate = latent.Client(target, timeout=3, root_certificates=pki.ca)
    with without_certificate as client, pytest.raises(latent.Unavailable):
        client.models()
    assert stop_process(process) == 0
    assert "mutual TLS on" in latentd.log.read_text(encoding="utf-8")


# -- start-up refusals -------------------------------------------------------------------------


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("latentd: error: ")]
    assert len(errors) == 1, done.stderr
    assert done.stderr.rstrip().endswith(errors[0])
    return errors[0]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_a_missing_certificate_stops_the_start(latentd: Latentd, pki: Pki) -> None:
    missing = latentd.dir / "missing.pem"
    line = one_error_line(
        latentd.fail("--tls-cert", str(missing), "--tls-key", str(pki.server_key))
    )
    assert line == f"latentd: error: tls_cert: cannot read {missing}: No such file or directory"


def test_a_key_of_another_certificate_stops_the_start(latentd: Latentd, pki: Pki) -> None:
    line = one_error_line(
        latentd.fail("--tls-cert", str(pki.server_cert), "--tls-key", str(pki.client_key))
    )
    assert line.startswith(f"latentd: error: tls_key: {pki.client_key} is not the key")


def test_a_client_ca_that_is_not_pem_stops_the_start(latentd: Latentd, pki: Pki) -> None:
    junk = latentd.dir / "ca.pem"
    junk.write_text("not a certificate\n")
    line = one_error_line(
        latentd.fail(
            "--tls-cert",
            str(pki.server_cert),
            "--tls-key",
            str(pki.server_key),
            "--tls-client-ca",
            str(junk),
        )
    )
    assert line.startswith(f"latentd: error: tls_client_ca: {junk} is not a PEM file")


def test_a_bad_key_file_stops_the_start_without_showing_the_line(latentd: Latentd) -> None:
    keys = write_keys(latentd.dir / "keys", f"{OLD_KEY}\n{NEW_KEY} {READ_ONLY}\n")
    line = one_error_line(latentd.fail("--api-key-file", str(keys)))
    assert line == (f"latentd: error: api_key_file {keys} line 2: expected KEY or 'read-only KEY'")
    assert NEW_KEY not in line and READ_ONLY not in line


def test_a_damaged_collection_stops_the_start_naming_its_file(
    latentd: Latentd, running: list[subprocess.Popen[str]]
) -> None:
    process, target = latentd.start()
    running.append(process)
    with latent.Client(target) as client:
        client.create_collection("docs", dimension=4)
        client.upsert("docs", [{"id": f"d{i}", "vector": [1.0, i, 0.0, 0.0]} for i in range(50)])
    assert stop_process(process) == 0
    database = latentd.dir / "data" / "docs" / DATABASE
    backup = latentd.dir / "backup.sqlite3"
    shutil.copy(database, backup)
    database.write_bytes(database.read_bytes()[: os.path.getsize(database) // 2])
    line = one_error_line(latentd.fail())
    assert line.startswith(f"latentd: error: collection 'docs': {database} is damaged (")
    assert "restore" in line
    # Restored from the backup, it serves again.
    shutil.copy(backup, database)
    process, target = latentd.start()
    running.append(process)
    with latent.Client(target) as client:
        assert client.count("docs") == 50


def test_a_word_model_cut_short_stops_the_start(latentd: Latentd) -> None:
    whole = latentd.words.read_bytes()
    latentd.words.write_bytes(whole[:-1])  # the last line's newline
    line = one_error_line(latentd.fail())
    assert line.startswith(f"latentd: error: word model 'w': cannot load {latentd.words}")
    assert "cut short" in line
