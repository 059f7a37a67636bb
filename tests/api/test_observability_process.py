"""A real `latentd serve --log-format json --metrics-port 0` (a tiny word file, no default
models): every line on stderr is a JSON object, the metrics endpoint answers with the
calls made, and a taken metrics port stops the start with one error line."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

import latent
from latentd.testing import (
    child_env,
    latentd_command,
    read_serving_line,
    serving_port,
    stop_process,
)

METRICS_LINE = re.compile(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")


@pytest.fixture
def words(tmp_path: Path) -> Path:
    rows = [f"w{i} " + " ".join(f"{(i * 7 + j) % 5 - 2}" for j in range(4)) for i in range(8)]
    path = tmp_path / "words.txt"
    path.write_text(f"{len(rows)} 4\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def serve_command(tmp_path: Path, words: Path, *extra: str) -> list[str]:
    return [
        *latentd_command(),
        "serve",
        "--no-default-models",
        "--no-index",
        "--port",
        "0",
        "--data-dir",
        str(tmp_path / "data"),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--word-model",
        f"w={words}",
        "--log-format",
        "json",
        *extra,
    ]


def test_json_log_and_metrics_of_a_real_server(tmp_path: Path, words: Path) -> None:
    log_path = tmp_path / "stderr.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            serve_command(tmp_path, words, "--metrics-port", "0"),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=child_env(drop_latent=True, PYTHONUNBUFFERED="1"),
        )
    try:
        target = f"127.0.0.1:{serving_port(read_serving_line(process, timeout=60))}"
        # Logged before the serving line.
        found = METRICS_LINE.search(log_path.read_text(encoding="utf-8"))
        assert found, log_path.read_text(encoding="utf-8")
        with latent.Client(target, timeout=30) as client, client.request_id("process-1"):
            client.models()
            client.similarity("w1", "w2")
            with pytest.raises(latent.NotFound):
                client.nearest("unknown")
        url = f"http://127.0.0.1:{found.group(1)}/metrics"
        with urllib.request.urlopen(url, timeout=10) as reply:
            metrics = reply.read().decode()
    finally:
        status = stop_process(process)
    assert status == 0

    assert (
        'latent_requests_total{code="NOT_FOUND",method="latent.v1.Arithmetic/Nearest"} 1.0'
        in metrics
    )
    assert 'latent_index_state{space="w",state="exact"} 1.0' in metrics
    assert re.search(r"^process_resident_memory_bytes [1-9]", metrics, re.MULTILINE)

    lines = log_path.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    access = [e for e in entries if e["logger"] == "latentd.access"]
    assert [(e["method"], e["code"], e["request_id"]) for e in access] == [
        ("latent.v1.Models/ListModels", "OK", "process-1"),
        ("latent.v1.Arithmetic/Similarity", "OK", "process-1"),
        ("latent.v1.Arithmetic/Nearest", "NOT_FOUND", "process-1"),
    ]
    assert entries[-1]["message"] == "stopped"


def test_a_taken_metrics_port_stops_the_start_with_one_line(tmp_path: Path, words: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            serve_command(tmp_path, words, "--metrics-port", str(port)),
            capture_output=True,
            text=True,
            env=child_env(drop_latent=True, PYTHONUNBUFFERED="1"),
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    *logged, line = done.stderr.strip().splitlines()
    assert line.startswith(f"latentd: error: metrics port {port} on 127.0.0.1 is in use")
    assert all(json.loads(entry)["level"] == "INFO" for entry in logged)  # no traceback
    assert "--metrics-port" in line
    assert done.stdout == ""  # never announced serving
