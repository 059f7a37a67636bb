"""Generated code is fresh: the stubs under clients/python/latent/v1 match the proto, and
latent/async_client.py matches what the generator makes of latent/client.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("latent_pb2.py", "latent_pb2_grpc.py", "latent_pb2.pyi")
PACKAGE = ROOT / "clients" / "python" / "latent"
GENERATOR = ROOT / "clients" / "python" / "tools" / "generate_async_client.py"


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


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_async_client", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_async_client_is_fresh(generator: ModuleType) -> None:
    fresh = generator.generate((PACKAGE / "client.py").read_text(encoding="utf-8"))
    checked_in = (PACKAGE / "async_client.py").read_text(encoding="utf-8")
    assert fresh == checked_in, (
        "stale latent/async_client.py: run python clients/python/tools/generate_async_client.py"
    )


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        # A blocking call the generator no longer recognises must not pass silently.
        ("_calls.unary(", "_calls.unary_(", "no call of _calls.unary"),
        ("grpc.insecure_channel(", "grpc.insecure_channel_(", "no use of grpc.insecure_channel"),
        ("def __exit__(", "def exit_(", "no __exit__"),
        ("\nclass Client(", "\nHELPER = 1\n\n\nclass Client(", "holds only imports"),
    ],
)
def test_generator_refuses_a_client_it_does_not_understand(
    generator: ModuleType, old: str, new: str, error: str
) -> None:
    source = (PACKAGE / "client.py").read_text(encoding="utf-8")
    assert old in source
    with pytest.raises(generator.GenerateError, match=error):
        generator.generate(source.replace(old, new, 1))
