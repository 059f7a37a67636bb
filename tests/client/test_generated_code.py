"""The checked-in stubs under clients/python/latent/v1 match the proto."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("latent_pb2.py", "latent_pb2_grpc.py", "latent_pb2.pyi")


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            "protos",
            f"--python_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            "protos/latent/v1/latent.proto",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"grpc_tools.protoc failed: {proc.stderr}"
    for name in GENERATED:
        fresh = (tmp_path / "latent" / "v1" / name).read_bytes()
        checked_in = (ROOT / "clients" / "python" / "latent" / "v1" / name).read_bytes()
        assert fresh == checked_in, f"stale generated code: run make proto ({name})"
