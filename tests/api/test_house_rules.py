"""The rules the code keeps, checked so that it keeps them: servicer methods of a few
lines, an edge that takes plain arguments, and commands whose --help loads no model
library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[2] / "service" / "latentd"
HEAVY = ("numpy", "hnswlib", "torch", "gensim", "sentence_transformers")


def test_servicer_methods_are_at_most_five_lines() -> None:
    tree = ast.parse((SERVICE / "api" / "servicers.py").read_text(encoding="utf-8"))
    methods = [
        (cls.name, fn.name, fn.end_lineno - fn.lineno + 1)  # type: ignore[operator]
        for cls in tree.body
        if isinstance(cls, ast.ClassDef)
        for fn in cls.body
        if isinstance(fn, ast.FunctionDef) and fn.name[0].isupper()
    ]
    assert len(methods) >= 9
    assert [m for m in methods if m[2] > 5] == []


def test_the_edge_does_not_import_the_settings() -> None:
    for module in (SERVICE / "api").glob("*.py"):
        imported = {
            node.module
            for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert "latentd.config" not in imported, module.name
        assert not any(name.startswith("latentd.cli") for name in imported), module.name


def test_core_imports_no_grpc() -> None:
    for module in (SERVICE / "core").glob("*.py"):
        source = module.read_text(encoding="utf-8")
        assert "import grpc" not in source and "from grpc" not in source, module.name


@pytest.mark.parametrize("module", ["latentd.cli", "latent.cli"])
def test_help_loads_no_model_library(module: str) -> None:
    code = (
        "import sys\n"
        f"from {module} import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stderr.strip().splitlines()[-1] == "[]"
