"""Channel settings shared by every client: the default target and deadline, message
limits and the retry policy.

Kept free of grpc imports, so that the ``latent`` command can read its defaults before
it loads grpc.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 30.0  # seconds: the deadline of a call unless the caller gives one

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
SERVICES = (
    "latent.v1.Models",
    "latent.v1.Embeddings",
    "latent.v1.Arithmetic",
    "latent.v1.Collections",
    "latent.v1.Directions",
)

# Retry UNAVAILABLE (server restarting, not ready, connection refused) in gRPC core, so
# that every call of every client gets it without a retry loop of our own.
SERVICE_CONFIG: dict[str, Any] = {
    "methodConfig": [
        {
            "name": [{"service": s} for s in SERVICES],
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "0.1s",
                "maxBackoff": "2s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ]
}


def channel_options(extra: Iterable[tuple[str, Any]] = ()) -> list[tuple[str, Any]]:
    """Channel options of every client: retries, 64 MiB messages, then ``extra``."""
    return [
        ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
        ("grpc.enable_retries", 1),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        *extra,
    ]
