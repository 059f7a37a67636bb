"""What a client shows the server: its API key, sent as call metadata, and TLS channel
credentials built from PEM bytes or files.

The key travels as ``authorization: Bearer <key>`` metadata on every call rather than
as grpc call credentials, which grpc refuses on a plaintext channel (a server behind a
TLS-terminating proxy still needs the key).
"""

from __future__ import annotations

import os
from pathlib import Path

import grpc

API_KEY_ENV = "LATENT_API_KEY"
PEM_MARK = b"-----BEGIN"

PemLike = bytes | str | os.PathLike[str]


def api_key_metadata(api_key: str | None) -> tuple[tuple[str, str], ...]:
    """The metadata that carries the key: ``api_key``, or when None the environment's
    LATENT_API_KEY; nothing for an empty key."""
    key = (os.environ.get(API_KEY_ENV, "") if api_key is None else api_key).strip()
    if not key:
        return ()
    if not all("!" <= c <= "~" for c in key):  # a metadata value is printable ASCII
        source = "api_key" if api_key is not None else API_KEY_ENV
        raise ValueError(f"{source}: an API key is printable ASCII without spaces")
    return (("authorization", f"Bearer {key}"),)


def read_pem(value: PemLike | None, name: str) -> bytes | None:
    """PEM bytes from bytes, PEM text, or the path of a PEM file; ValueError naming
    ``name`` when the file cannot be read or holds no PEM."""
    if value is None:
        return None
    if isinstance(value, bytes):
        data, what = value, "the bytes given"
    elif isinstance(value, str) and value.lstrip().startswith(PEM_MARK.decode()):
        data, what = value.encode("ascii", "replace"), "the text given"
    else:
        path = Path(value).expanduser()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"{name}: cannot read {path}: {exc.strerror or exc}") from None
        what = str(path)
    if PEM_MARK not in data:
        raise ValueError(f"{name}: {what} is not PEM (no -----BEGIN line)")
    return data


def channel_credentials(
    credentials: grpc.ChannelCredentials | None,
    tls: bool,
    root_certificates: PemLike | None,
    client_cert: PemLike | None,
    client_key: PemLike | None,
) -> grpc.ChannelCredentials | None:
    """The channel's credentials: ``credentials`` as given, else TLS when ``tls`` or any
    certificate is given (``root_certificates`` None: the system's roots), else None (a
    plaintext channel)."""
    pem_given = any(x is not None for x in (root_certificates, client_cert, client_key))
    if credentials is not None:
        if tls or pem_given:
            raise ValueError(
                "credentials: give either credentials or tls / root_certificates / "
                "client_cert / client_key, not both"
            )
        return credentials
    if not (tls or pem_given):
        return None
    if (client_cert is None) != (client_key is None):
        raise ValueError("client_cert: client_cert and client_key go together (mutual TLS)")
    return grpc.ssl_channel_credentials(
        root_certificates=read_pem(root_certificates, "root_certificates"),
        private_key=read_pem(client_key, "client_key"),
        certificate_chain=read_pem(client_cert, "client_cert"),
    )
