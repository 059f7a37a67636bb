"""TLS and mutual TLS over real in-process servers, with certificates made for the test
(tests/pki.py): a plaintext client, a client that does not trust the server's CA, and
under mutual TLS a client without a certificate or with one of another CA are refused;
the right client works, through `latent.Client` and through the `latent` command. Then
the server's checks of its PEM files, which name the setting and the file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pki import Pki, make_pki

import latent
from latent.cli import main
from latentd.api.tls import TlsFiles, UnusableTlsFile, server_credentials
from latentd.config import Settings
from latentd.testing import start_test_server

TIMEOUT = 5.0
KEY = "tls-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_target(tiny_kv: Any, pki: Pki) -> Iterator[str]:
    settings = Settings(tls_cert=pki.server_cert, tls_key=pki.server_key, api_keys=(KEY,))
    with start_test_server(tiny_kv, sentence_model=False, settings=settings) as target:
        yield target


@pytest.fixture(scope="module")
def mtls_target(tiny_kv: Any, pki: Pki) -> Iterator[str]:
    settings = Settings(tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca)
    with start_test_server(tiny_kv, sentence_model=False, settings=settings) as target:
        yield target


def models(target: str, **options: Any) -> list[str]:
    with latent.Client(target, timeout=TIMEOUT, **options) as client:
        return [m.name for m in client.models()]


# -- TLS --------------------------------------------------------------------------------------


def test_a_plaintext_client_is_refused(tls_target: str) -> None:
    with pytest.raises(latent.Unavailable):
        models(tls_target, api_key=KEY)


def test_a_client_that_does_not_trust_the_ca_is_refused(tls_target: str, pki: Pki) -> None:
    with pytest.raises(latent.Unavailable) as refused:
        models(tls_target, api_key=KEY, root_certificates=pki.other_ca)
    assert "handshake" in refused.value.message.lower()
    # Nor does the system's trust store know the test CA.
    with pytest.raises(latent.Unavailable):
        models(tls_target, api_key=KEY, tls=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_client_that_trusts_the_ca_is_served(tls_target: str, pki: Pki, host: str) -> None:
    target = tls_target.replace("127.0.0.1", host)
    assert models(target, api_key=KEY, root_certificates=pki.ca) == ["tiny"]
    # PEM bytes work as well as a path.
    assert models(target, api_key=KEY, root_certificates=pki.ca.read_bytes()) == ["tiny"]


def test_keys_still_apply_over_tls(tls_target: str, pki: Pki) -> None:
    with pytest.raises(latent.Unauthenticated):
        models(tls_target, root_certificates=pki.ca, api_key="")


def test_the_async_client_speaks_tls(tls_target: str, pki: Pki) -> None:
    import asyncio

    async def names() -> list[str]:
        async with latent.AsyncClient(
            tls_target, timeout=TIMEOUT, api_key=KEY, root_certificates=pki.ca
        ) as client:
            return [m.name for m in await client.models()]

    assert asyncio.run(names()) == ["tiny"]


# -- mutual TLS ---------------------------------------------------------------------------------


def test_mutual_tls_refuses_a_client_without_a_certificate(mtls_target: str, pki: Pki) -> None:
    with pytest.raises(latent.Unavailable):
        models(mtls_target, root_certificates=pki.ca)


def test_mutual_tls_refuses_a_certificate_of_another_ca(mtls_target: str, pki: Pki) -> None:
    with pytest.raises(latent.Unavailable):
        models(
            mtls_target,
            root_certificates=pki.ca,
            client_cert=pki.other_client_cert,
            client_key=pki.other_client_key,
        )


def test_mutual_tls_serves_a_client_with_its_certificate(mtls_target: str, pki: Pki) -> None:
    names = models(
        mtls_target,
        root_certificates=pki.ca,
        client_cert=pki.client_cert,
        client_key=pki.client_key,
    )
    assert names == ["tiny"]


# -- the command ----------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--timeout", str(TIMEOUT)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_with_tls_and_a_key(
    tls_target: str, pki: Pki, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LATENT_API_KEY", KEY)
    code, out, err = run(capsys, "--target", tls_target, "--ca-cert", str(pki.ca), "models")
    assert (code, err) == (0, "")
    assert "tiny" in out
    code, _, err = run(capsys, "--target", tls_target, "models")  # plaintext
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "cannot reach latentd" in err and "--tls" in err
    code, _, err = run(capsys, "--target", tls_target, "--ca-cert", str(pki.other_ca), "models")
    assert code == 1 and "TLS handshake failed" in err and "--ca-cert" in err


def test_the_command_with_mutual_tls(
    mtls_target: str, pki: Pki, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ("--target", mtls_target, "--ca-cert", str(pki.ca))
    client = ("--client-cert", str(pki.client_cert), "--client-key", str(pki.client_key))
    code, out, err = run(capsys, *base, *client, "models")
    assert (code, err) == (0, "")
    assert "tiny" in out
    code, _, err = run(capsys, *base, "models")
    assert code == 1 and "--client-cert" in err


def test_the_command_names_its_flag_for_a_bad_certificate_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["models", "--ca-cert", str(tmp_path / "missing.pem")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--ca-cert: cannot read" in err and "missing.pem" in err
    with pytest.raises(SystemExit):
        main(["models", "--client-cert", str(tmp_path / "c.pem")])
    assert "--client-cert: client_cert and client_key go together" in capsys.readouterr().err


# -- the server's checks of its files ----------------------------------------------------------


def problem(files: TlsFiles) -> str:
    with pytest.raises(UnusableTlsFile) as unusable:
        server_credentials(files)
    return str(unusable.value)


def test_good_files_make_credentials(pki: Pki) -> None:
    assert server_credentials(TlsFiles(pki.server_cert, pki.server_key, pki.ca)) is not None


def test_a_missing_certificate_is_named(pki: Pki, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    assert problem(TlsFiles(missing, pki.server_key)) == (
        f"tls_cert: cannot read {missing}: No such file or directory"
    )


def test_a_file_that_is_not_pem_is_named(pki: Pki, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    assert problem(TlsFiles(junk, pki.server_key)).startswith(f"tls_cert: {junk} is not a PEM")
    assert problem(TlsFiles(pki.server_cert, junk)).startswith(f"tls_key: {junk} is not a PEM")
    message = problem(TlsFiles(pki.server_cert, pki.server_key, junk))
    assert message.startswith(f"tls_client_ca: {junk} is not a PEM")


def test_a_pem_without_a_certificate_is_named(pki: Pki) -> None:
    # The key file is PEM, but holds no certificate.
    message = problem(TlsFiles(pki.server_key, pki.server_key))
    assert message == f"tls_cert: {pki.server_key} holds no readable PEM certificate"
    message = problem(TlsFiles(pki.server_cert, pki.server_key, pki.client_key))
    assert message == f"tls_client_ca: {pki.client_key} holds no readable PEM certificate"


def test_a_key_of_another_certificate_is_named(pki: Pki) -> None:
    message = problem(TlsFiles(pki.server_cert, pki.client_key))
    assert message.startswith(f"tls_key: {pki.client_key} is not the key of the certificate")
    assert str(pki.server_cert) in message


def test_a_file_that_is_not_a_key_is_named(pki: Pki) -> None:
    message = problem(TlsFiles(pki.server_cert, pki.ca))
    assert message == f"tls_key: {pki.ca} holds no readable PEM private key"


def test_an_encrypted_key_is_named(pki: Pki, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pki.server_key.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    message = problem(TlsFiles(pki.server_cert, encrypted))
    assert message.startswith(f"tls_key: {encrypted} is encrypted")
