"""`latentd serve --collections-backend milvus` whose Milvus cannot be reached stops at
once with one line naming the backend and its address, exit status 1."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from latentd.testing import child_env, latentd_command

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip: latentd[milvus])")


def test_an_unreachable_milvus_stops_the_start_with_one_line(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("2 2\nking 1 0\nqueen 0 1\n", encoding="utf-8")
    result = subprocess.run(
        [
            *latentd_command(),
            "serve",
            "--no-default-models",
            "--no-index",
            "--port",
            "0",
            "--word-model",
            f"w={words}",
            "--data-dir",
            str(tmp_path / "data"),
            "--collections-backend",
            "milvus",
            "--milvus-uri",
            "http://127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(drop_latent=True),
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("latentd: error: collections backend milvus (http://127.0.0.1:9)")
    assert "Milvus cannot be reached" in last
    assert result.stdout == ""  # never announced as serving
