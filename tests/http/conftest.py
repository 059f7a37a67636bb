"""A real server with the HTTP twin on free ports: the tiny word space and the default
sentence model, shared by the HTTP tests that need no special settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from latentd.testing import start_test_http_server


@pytest.fixture(scope="session")
def http_servers(
    tiny_kv: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """("127.0.0.1:GRPC_PORT", "http://127.0.0.1:HTTP_PORT") of one server."""
    with start_test_http_server(tiny_kv, tmp_path_factory.mktemp("cache")) as servers:
        yield servers


@pytest.fixture(scope="session")
def http_url(http_servers: tuple[str, str]) -> str:
    return http_servers[1]


@pytest.fixture
def http(http_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=http_url, timeout=60) as client:
        yield client
