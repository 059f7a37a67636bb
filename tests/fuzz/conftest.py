"""The fuzz's server (one for every fuzz test, of its own) and its tally: how many
requests each RPC got and how the server answered, printed at the end of the run (the
figures a reviewer asks for: thousands of requests, none answered UNKNOWN or INTERNAL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from latentd.testing import start_test_server

TALLY = pytest.StashKey[Counter[tuple[str, str, str]]]()


@pytest.fixture(scope="session")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory, tiny_kv: Any) -> Iterator[str]:
    """A server of the fuzz's own (collections and saved directions under a temporary
    data directory, so that nothing the fuzz writes reaches other tests): the tiny word
    space and the default sentence model, as `server_target`."""
    root: Path = tmp_path_factory.mktemp("fuzz")
    with start_test_server(tiny_kv, cache_dir=root / "cache", data_dir=root / "data") as target:
        yield target


@pytest.fixture(scope="session")
def channel(fuzz_target: str) -> Iterator[grpc.Channel]:
    # Responses may be large (BatchNearest at max_results): no client-side size limit.
    options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
    with grpc.insecure_channel(fuzz_target, options=options) as ch:
        grpc.channel_ready_future(ch).result(timeout=30)
        yield ch


@pytest.fixture(scope="session")
def fuzz_tally(request: pytest.FixtureRequest) -> Counter[tuple[str, str, str]]:
    """(rpc, strategy, status code name) -> requests answered."""
    return request.config.stash.setdefault(TALLY, Counter())


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    tally = config.stash.get(TALLY, None)
    if not tally:
        return
    rpcs = sorted({rpc for rpc, _, _ in tally})
    kinds = sorted({kind for _, kind, _ in tally})
    write = terminalreporter.write_line
    terminalreporter.section(f"fuzz: requests per RPC ({' / '.join(kinds)}) and their answers")
    for rpc in rpcs:
        per_kind = " / ".join(
            f"{sum(n for (r, s, _), n in tally.items() if r == rpc and s == kind):6d}"
            for kind in kinds
        )
        codes = Counter[str]()
        for (r, _, code), n in tally.items():
            if r == rpc:
                codes[code] += n
        answers = ", ".join(f"{code} {n}" for code, n in codes.most_common())
        write(f"{rpc:32s} {per_kind}  {answers}")
    total = sum(tally.values())
    write(f"{'total':32s} {total:6d} requests over {len(rpcs)} RPCs")
