"""The ``latent`` command's API key and TLS options, and the hints its error lines give
when a connection fails for want of them. No grpc import: ``latent --help`` stays fast."""

from __future__ import annotations

import argparse
from typing import Any

API_KEY_ENV = "LATENT_API_KEY"  # read by the client itself when --api-key is not given

# Client parameter names in the client's errors -> the command's flags.
FLAGS = {
    "api_key": "--api-key",
    "root_certificates": "--ca-cert",
    "client_cert": "--client-cert",
    "client_key": "--client-key",
}


def add_security_options(group: argparse._ArgumentGroup) -> None:
    """--api-key, --tls, --ca-cert, --client-cert, --client-key; SUPPRESS defaults so
    they may come before or after the subcommand."""
    group.add_argument(
        "--api-key",
        metavar="KEY",
        default=argparse.SUPPRESS,
        help=f"API key sent as 'authorization: Bearer KEY' (env {API_KEY_ENV}, which keeps "
        "it out of the process list)",
    )
    group.add_argument(
        "--tls",
        action="store_true",
        default=argparse.SUPPRESS,
        help="connect with TLS (implied by --ca-cert and --client-cert)",
    )
    group.add_argument(
        "--ca-cert",
        metavar="PEM",
        default=argparse.SUPPRESS,
        help="CA certificates to trust for the server's certificate (default: the system's)",
    )
    group.add_argument(
        "--client-cert",
        metavar="PEM",
        default=argparse.SUPPRESS,
        help="client certificate for mutual TLS (with --client-key)",
    )
    group.add_argument(
        "--client-key",
        metavar="PEM",
        default=argparse.SUPPRESS,
        help="private key of --client-cert",
    )


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Client keyword arguments of the options given."""
    return {
        "api_key": getattr(args, "api_key", None),
        "tls": getattr(args, "tls", False),
        "root_certificates": getattr(args, "ca_cert", None),
        "client_cert": getattr(args, "client_cert", None),
        "client_key": getattr(args, "client_key", None),
    }


def in_flags(message: str) -> str:
    """A client error about a parameter, naming the command's flag instead."""
    name, sep, rest = message.partition(": ")
    return f"{FLAGS[name]}: {rest}" if sep and name in FLAGS else message


def connection_hint(message: str) -> str:
    """What to check when no connection could be made, from grpc's message."""
    folded = message.lower()
    if "handshake" in folded:
        return (
            "; the TLS handshake failed: does --ca-cert hold the CA that signed the "
            "server's certificate?"
        )
    if "socket closed" in folded:
        return "; if it serves TLS, pass --tls (mutual TLS: --client-cert and --client-key)"
    return ""
