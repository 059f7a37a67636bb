"""TLS and mutual TLS for the server: the PEM files, checked before the port opens.

grpc reads the certificate and key only at the first handshake, so a wrong file would
start a server that no client can talk to. Python's ssl module (the same OpenSSL
checks) reads each file first: the certificate chain, the private key and that it
matches the certificate, and the client CA bundle. A bad file stops the start with one
line naming the setting and the file."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc


class UnusableTlsFile(OSError):
    """A TLS file cannot be read or is not what its setting needs; the message names
    the setting and the file."""


@dataclass(frozen=True)
class TlsFiles:
    cert: Path  # PEM certificate chain, the server's own first
    key: Path  # PEM private key of `cert`, unencrypted
    client_ca: Path | None = None  # set: clients must present a certificate it signed

    def describe(self) -> str:
        if self.client_ca is None:
            return "TLS on"
        return "mutual TLS on (clients need a certificate signed by the client CA)"


class _EncryptedKey(Exception):
    pass


def _read(path: Path, setting: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnusableTlsFile(f"{setting}: cannot read {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN" not in data:
        raise UnusableTlsFile(f"{setting}: {path} is not a PEM file (no -----BEGIN line)")
    return data


def _check_certificates(data: bytes, path: Path, setting: str) -> None:
    try:
        ssl.create_default_context(cadata=data.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError):
        raise UnusableTlsFile(f"{setting}: {path} holds no readable PEM certificate") from None


def _check_key(files: TlsFiles) -> None:
    def no_password() -> bytes:
        raise _EncryptedKey

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(files.cert, files.key, password=no_password)
    except _EncryptedKey:
        raise UnusableTlsFile(
            f"tls_key: {files.key} is encrypted; latentd needs an unencrypted key "
            "(e.g. openssl pkey -in KEY -out PLAIN)"
        ) from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise UnusableTlsFile(
                f"tls_key: {files.key} is not the key of the certificate in {files.cert} (tls_cert)"
            ) from None
        raise UnusableTlsFile(f"tls_key: {files.key} holds no readable PEM private key") from None


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """The server's credentials from checked files; UnusableTlsFile otherwise."""
    cert = _read(files.cert, "tls_cert")
    _check_certificates(cert, files.cert, "tls_cert")
    key = _read(files.key, "tls_key")
    _check_key(files)
    client_ca = None
    if files.client_ca is not None:
        client_ca = _read(files.client_ca, "tls_client_ca")
        _check_certificates(client_ca, files.client_ca, "tls_client_ca")
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )
