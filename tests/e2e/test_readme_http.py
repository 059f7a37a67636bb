"""The README's HTTP examples, run as written against the session's real server (the
default models): each `$ curl ...` line of the HTTP section with `localhost:8080` made
the server's HTTP address, and the `openai` example with its base_url made so too. Each
output must be the one the README shows (numbers to within 1e-5: the HNSW index and the
model run on this machine)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## HTTP/JSON, OpenAI embeddings and the Explorer"
README_ADDRESS = "localhost:8080"


def http_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def curl_examples() -> list[tuple[str, str]]:
    """(command, expected output) of each `$ curl` line of a console block."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", http_section(), flags=re.S):
        lines = block.splitlines()
        for number, line in enumerate(lines):
            if line.startswith("$ curl"):
                examples.append((line[2:], lines[number + 1]))
    return examples


def python_example() -> tuple[str, str]:
    found = re.search(r"```python\n(.*?)```\n\n```\n(.*?)```", http_section(), flags=re.S)
    assert found, "the README's openai example and its output"
    return found.group(1), found.group(2)


def assert_close(got: Any, want: Any, where: str = "") -> None:
    if isinstance(want, float) or (isinstance(got, float) and isinstance(want, int)):
        assert got == pytest.approx(want, abs=1e-5), where
    elif isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), where
        for key in want:
            assert_close(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for index, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_close(g, w, f"{where}[{index}]")
    else:
        assert got == want, where


def split_status(output: str) -> tuple[Any, str]:
    """A JSON body, and what curl's -w wrote after it (e.g. ' 404')."""
    body, end = json.JSONDecoder().raw_decode(output)
    return body, output[end:].strip()


def test_the_readme_has_the_examples_the_issue_names() -> None:
    commands = " ".join(command for command, _ in curl_examples())
    for path in ("/v1/Arithmetic/Analogy", "/v1/Embeddings/Encode", "/v1/embeddings"):
        assert path in commands


@pytest.mark.parametrize(("command", "expected"), curl_examples())
def test_curl_examples_give_the_readme_output(
    default_http: str, command: str, expected: str
) -> None:
    address = default_http.removeprefix("http://")
    result = subprocess.run(
        ["bash", "-c", command.replace(README_ADDRESS, address)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    got, got_status = split_status(result.stdout)
    want, want_status = split_status(expected)
    assert got_status == want_status
    assert_close(got, want)


def test_the_openai_example_gives_the_readme_output(default_http: str) -> None:
    code, expected = python_example()
    code = code.replace("http://127.0.0.1:8080", default_http)
    assert default_http in code
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
