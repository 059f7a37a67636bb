"""The `latent` command, run in-process with `main([...])` against a real latentd."""

from __future__ import annotations

import json

import pytest

from latent.cli import main

SENTENCE = "all-minilm-l6-v2"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_analogy_table(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "analogy", "king", "-", "man", "+", "woman", "--target", server_target
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["#", "key", "score"]
    assert lines[1].split()[:2] == ["1", "queen"]
    assert len(lines) == 11  # header and k=10 rows


def test_analogy_options_before_and_after_command(
    server_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "--target",
        server_target,
        "analogy",
        "king - man + woman",
        "-k",
        "2",
        "--method",
        "cosmul",
        "--exact",
    )
    assert code == 0
    assert len(out.splitlines()) == 3 and "queen" in out


def test_analogy_shows_lowercase_fallback(
    server_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "analogy", "King", "-", "man", "+", "woman", "--target", server_target
    )
    assert code == 0
    assert "'king' for 'King'" in out
    assert "queen" in out


def test_analogy_json(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "analogy",
        "king",
        "-",
        "man",
        "+",
        "woman",
        "-k",
        "3",
        "--json",
        "--target",
        server_target,
    )
    assert code == 0
    data = json.loads(out)
    assert data["space"] == "tiny"
    assert data["neighbors"][0]["key"] == "queen"
    assert len(data["neighbors"]) == 3
    assert [t["key"] for t in data["negative"]] == ["man"]


def test_target_from_environment(
    server_target: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LATENT_TARGET", server_target)
    code, out, _ = run(capsys, "nearest", "frog", "-k", "3")
    assert code == 0
    assert len(out.splitlines()) == 4


def test_nearest(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "nearest", "cat", "--target", server_target, "-k", "1")
    assert code == 0 and out.splitlines()[1].split()[1] == "kitten"
    code, out, _ = run(capsys, "nearest", "cat", "dog", "--json", "--target", server_target)
    data = json.loads(out)
    assert [q["key"] for q in data["query"]] == ["cat", "dog"]
    assert len(data["neighbors"]) == 10


def test_interpolate(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "interpolate",
        "cat",
        "dog",
        "--steps",
        "5",
        "--path",
        "slerp",
        "--target",
        server_target,
    )
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 6
    assert lines[1].split()[0] == "0.00" and lines[-1].split()[0] == "1.00"
    code, out, _ = run(
        capsys,
        "interpolate",
        "cat",
        "dog",
        "--steps",
        "3",
        "-k",
        "2",
        "--json",
        "--target",
        server_target,
    )
    points = json.loads(out)["points"]
    assert [p["t"] for p in points] == [0.0, 0.5, 1.0]
    assert all(len(p["neighbors"]) == 2 and len(p["vector"]) == 16 for p in points)


def test_similarity(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "similarity", "cat", "kitten", "--target", server_target)
    assert code == 0
    assert 0.5 < float(out.split()[0]) <= 1.0
    code, out, _ = run(
        capsys, "similarity", "cat", "dog", "king", "--json", "--target", server_target
    )
    scores = json.loads(out)["scores"]
    assert len(scores) == 3 and all(len(row) == 3 for row in scores)
    assert scores[0][0] == pytest.approx(1.0, abs=1e-5)
    code, out, _ = run(capsys, "similarity", "cat", "dog", "king", "--target", server_target)
    assert code == 0 and len(out.splitlines()) == 4


def test_similarity_sentence_model(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "similarity",
        "a cat sat",
        "a kitten rested",
        "--space",
        SENTENCE,
        "--target",
        server_target,
    )
    assert (code, err) == (0, "")
    assert -1.0 <= float(out.split()[0]) <= 1.0


def test_doesnt_match(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "doesnt-match", "cat", "dog", "kitten", "king", "--target", server_target
    )
    assert code == 0 and out.split()[0] == "king"
    code, out, _ = run(
        capsys, "doesnt-match", "cat", "dog", "kitten", "king", "--json", "--target", server_target
    )
    assert json.loads(out)["index"] == 3


def test_encode(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "encode",
        "a sentence",
        "another one",
        "--model",
        SENTENCE,
        "--target",
        server_target,
    )
    assert code == 0
    assert f"model {SENTENCE}" in out and "dimension 384" in out
    assert "a sentence" in out and "another one" in out
    code, out, _ = run(
        capsys,
        "encode",
        "a sentence",
        "--dimensions",
        "8",
        "--no-normalize",
        "--truncate",
        "--json",
        "--target",
        server_target,
    )
    data = json.loads(out)
    assert data["dimension"] == 8 and len(data["vectors"][0]) == 8
    assert data["inputs"] == ["a sentence"] and data["truncated"] == [False]


def test_models(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "--target", server_target)
    assert code == 0
    assert "tiny" in out and SENTENCE in out and "sentence" in out
    code, out, _ = run(capsys, "models", "--json", "--target", server_target)
    names = {m["name"]: m for m in json.loads(out)}
    assert names["tiny"]["dimension"] == 16 and names[SENTENCE]["index_state"] is None


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["analogy", "kingg", "-", "man", "+", "woman"], "latent: not found: "),
        (["nearest", "cat", "-k", "0"], "latent: invalid argument: "),
        (["nearest", "cat", "--space", SENTENCE], "latent: failed precondition: "),
        (["analogy", "king", "-"], "latent: expected a term after '-'"),
    ],
)
def test_errors_are_one_line(
    server_target: str, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, out, err = run(capsys, *argv, "--target", server_target)
    assert code == 1
    assert out == ""
    assert err.startswith(expected)
    assert err.count("\n") == 1 and "Traceback" not in err


def test_unknown_word_names_it(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "nearest", "kingg", "--target", server_target)
    assert "kingg" in err and "king" in err.replace("kingg", "")


def test_unreachable_target(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "models", "--target", "127.0.0.1:1", "--timeout", "10")
    assert code == 1 and out == ""
    assert err == (
        "latent: cannot reach latentd at 127.0.0.1:1 "
        "(is it running? set --target or LATENT_TARGET)\n"
    )


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["nearest", "cat", "-k", "-1"])
    assert info.value.code == 2
    capsys.readouterr()
