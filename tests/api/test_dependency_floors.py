"""The installed grpcio, protobuf and torch are at or past the fixes of their known
advisories, and the floors in both pyproject.toml files say so, so that no install of
latentd or latent-client can pick a vulnerable version:

- protobuf CVE-2025-4565 (unbounded recursion in the pure-Python parser: a message of
  deeply nested groups exhausts the stack): fixed in 4.25.8, 5.29.5 and 6.31.1. The
  upb backend (protobuf's C parser) is the one that runs here, checked below;
- torch CVE-2025-32434 (`torch.load(weights_only=True)` could still run code from a
  crafted file): fixed in 2.6.0;
- grpcio CVE-2024-7246 (HPACK table poisoning through a proxy: failed requests for
  other clients, leaked header names): fixed in 1.58.3, 1.59.5, 1.60.2, 1.61.3, 1.62.3,
  1.63.2, 1.64.3 and 1.65.4, and in every release from 1.66.0. It is the latest grpcio
  advisory this test knows;
- starlette (under FastAPI, the HTTP twin) CVE-2025-62727 (a crafted Range header makes
  FileResponse, which serves the Explorer, spend quadratic CPU): fixed in 0.49.1, after
  CVE-2025-54121 and CVE-2024-47874 (multipart forms), fixed earlier;
- h11 (under uvicorn) CVE-2025-43859 (lenient chunked-encoding parsing, a request
  smuggling risk behind some proxies): fixed in 0.16.0.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
# distribution -> the first fixed release of each affected branch (major.minor, or
# major for protobuf's branches); a version past the last one is fixed too.
FIXED_IN = {
    "protobuf": ["4.25.8", "5.29.5", "6.31.1"],
    "torch": ["2.6.0"],
    "grpcio": ["1.58.3", "1.59.5", "1.60.2", "1.61.3", "1.62.3", "1.63.2", "1.64.3", "1.65.4"],
    "starlette": ["0.49.1"],
    "h11": ["0.16.0"],
}
BRANCH_PARTS = {"protobuf": 1, "torch": 2, "grpcio": 2, "starlette": 2, "h11": 2}


def is_fixed(distribution: str, version: Version) -> bool:
    fixes = [Version(v) for v in FIXED_IN[distribution]]
    parts = BRANCH_PARTS[distribution]
    same_branch = [f for f in fixes if f.release[:parts] == version.release[:parts]]
    if same_branch:
        return version >= same_branch[0]
    return version > max(fixes)


def floors(pyproject: Path) -> dict[str, Version]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    found = {}
    for line in project["dependencies"]:
        requirement = Requirement(line)
        for spec in requirement.specifier:
            if spec.operator == ">=":
                found[requirement.name] = Version(spec.version)
    return found


def test_the_rule_itself() -> None:
    assert not is_fixed("protobuf", Version("5.29.4"))
    assert is_fixed("protobuf", Version("5.29.5"))
    assert not is_fixed("protobuf", Version("6.30.2"))
    assert is_fixed("protobuf", Version("7.0.0"))
    assert not is_fixed("grpcio", Version("1.65.3"))
    assert is_fixed("grpcio", Version("1.66.0"))
    assert not is_fixed("torch", Version("2.5.1"))
    assert is_fixed("torch", Version("2.13.0+cpu"))
    assert not is_fixed("starlette", Version("0.49.0"))
    assert is_fixed("starlette", Version("1.10.0"))


@pytest.mark.parametrize("distribution", sorted(FIXED_IN))
def test_the_installed_version_is_fixed(distribution: str) -> None:
    installed = Version(importlib.metadata.version(distribution))
    assert is_fixed(distribution, installed), f"{distribution} {installed}"


@pytest.mark.parametrize(
    ("pyproject", "distributions"),
    [
        (ROOT / "pyproject.toml", ["grpcio", "protobuf", "torch", "starlette", "h11"]),
        (ROOT / "clients" / "python" / "pyproject.toml", ["grpcio", "protobuf"]),
    ],
)
def test_the_floors_rule_out_vulnerable_versions(pyproject: Path, distributions: list[str]) -> None:
    declared = floors(pyproject)
    for distribution in distributions:
        assert distribution in declared, f"{pyproject}: no floor for {distribution}"
        assert is_fixed(distribution, declared[distribution]), (
            f"{pyproject}: {distribution}>={declared[distribution]} admits a vulnerable version"
        )


def test_protobuf_parses_with_upb() -> None:
    """upb, the C parser, is the backend of protobuf's wheels; the pure-Python one
    (PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python) is the one CVE-2025-4565 was about,
    and is far slower."""
    from google.protobuf.internal import api_implementation

    assert api_implementation.Type() == "upb"
