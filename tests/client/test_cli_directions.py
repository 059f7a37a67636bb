"""The `latent` command's directions: direction, directions, project, navigate, weat,
components and --remove, run in-process with `main([...])` against a real latentd
(`server_target`), and their usage errors, which need no server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from latent.cli import UsageError, main, parse_direction, parse_pairs, read_terms

SENTENCE = "all-minilm-l6-v2"
OFFLINE = "127.0.0.1:1"  # never reached: usage errors come first


def run(capsys: pytest.CaptureFixture[str], target: str, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--target", target])
    out, err = capsys.readouterr()
    return code, out, err


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    """Runs a command that must fail on its arguments; returns (usage, error line)."""
    with pytest.raises(SystemExit) as info:
        main([*argv, "--target", OFFLINE])
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    return "\n".join(lines[:-1]), lines[-1]


def rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


# ---------------------------------------------------------------------------
# Parsing, no server


def test_parse_direction() -> None:
    assert parse_direction("man:woman") == [("man", "woman")]
    assert parse_direction(" man : woman , he:she ") == [("man", "woman"), ("he", "she")]
    assert parse_direction("new york:usa") == [("new york", "usa")]
    assert parse_direction("gender") == "gender"
    assert parse_direction("my.axis_2-b") == "my.axis_2-b"
    for bad in ("", "man:", ":woman", "a:b:c", "man:woman,", "two words", "-x", "a" * 65):
        with pytest.raises(UsageError, match="--remove"):
            parse_direction(bad, "--remove")
    with pytest.raises(UsageError, match="PAIR 'man'"):
        parse_pairs("man", "PAIR")


def test_read_terms(tmp_path: Path) -> None:
    path = tmp_path / "terms.txt"
    path.write_text("# career words\nexecutive\n\n  salary  # pay\nnew york\n", encoding="utf-8")
    assert read_terms(path, "--targets") == ["executive", "salary", "new york"]
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"--targets: .*empty\.txt.* holds no terms"):
        read_terms(empty, "--targets")
    with pytest.raises(UsageError, match=r"--attributes: cannot read .*missing\.txt"):
        read_terms(tmp_path / "missing.txt", "--attributes")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["direction", "man-woman"],
            "latent direction: error: PAIR 'man-woman': expected a:b pairs separated by "
            "commas, e.g. man:woman,he:she",
        ),
        (
            ["direction"],
            "latent direction: error: give PAIRs (man:woman he:she) or --from TERM... --to TERM...",
        ),
        (
            ["direction", "man:woman", "--from", "bad"],
            "latent direction: error: give PAIRs (man:woman) or --from and --to, not both",
        ),
        (
            ["direction", "--from", "bad"],
            "latent direction: error: --from and --to go together: --from TERM... --to TERM...",
        ),
        (
            ["direction", "--from", "bad", "--to", "good", "--method", "mean"],
            "latent direction: error: --method: only for PAIRs, not --from and --to",
        ),
        (
            ["direction", "man:woman", "--overwrite"],
            "latent direction: error: --overwrite: only with --save NAME",
        ),
        (
            ["direction", "man:woman", "--restrict", "5"],
            "latent direction: error: --restrict: only with --top N",
        ),
        (
            ["direction", "man:woman", "--method", "svd"],
            "latent direction: error: --method: invalid choice: 'svd' (choose from 'pca', 'mean')",
        ),
        (
            ["project", "cat", "--direction", "man:"],
            "latent project: error: --direction 'man:': expected a:b pairs separated by "
            "commas, e.g. man:woman,he:she",
        ),
        (
            ["project", "cat", "--direction", "two words"],
            "latent project: error: --direction 'two words': expected a:b pairs separated by "
            "commas (man:woman,he:she), or a saved direction's name",
        ),
        (
            ["project", "--direction", "man:woman"],
            "latent project: error: give TERMs to project, or --top N for the keys at each end",
        ),
        (
            ["project", "cat"],
            "latent project: error: the following arguments are required: --direction",
        ),
        (
            ["navigate", "king", "--direction", "man:woman", "--step", "0.1", "--until", "0.5"],
            "latent navigate: error: --until: not allowed with argument --step",
        ),
        (
            ["navigate", "king", "--direction", "man:woman", "--step", "soon"],
            "latent navigate: error: --step: expected a number, got 'soon'",
        ),
        (
            ["navigate", "king", "--direction", "man:woman", "--until", "nan"],
            "latent navigate: error: --until: expected a finite number, got 'nan'",
        ),
        (
            ["nearest", "king", "--remove", "man:woman,"],
            "latent nearest: error: --remove 'man:woman,': expected a:b pairs separated by "
            "commas, e.g. man:woman,he:she",
        ),
        (
            ["similarity", "a", "b", "--remove", ""],
            "latent similarity: error: --remove '': expected a:b pairs separated by commas "
            "(man:woman,he:she), or a saved direction's name",
        ),
        (
            ["components", "cat"],
            "latent components: error: components takes two or more terms",
        ),
        (
            ["components", "cat", "dog", "-n", "x"],
            "latent components: error: -n: expected a whole number, got 'x'",
        ),
        (
            ["weat", "--targets", "x.txt"],
            "latent weat: error: --targets: expected 2 arguments",
        ),
        (
            ["directions", "remove", "gender"],
            "latent directions: error: ACTION: invalid choice: 'remove' "
            "(choose from 'list', 'delete')",
        ),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    usage, line = usage_error(capsys, *argv)
    assert usage.startswith(f"usage: latent {argv[0]} ")
    assert line == expected


@pytest.mark.parametrize("command", ["analogy", "encode", "interpolate", "search"])
def test_bad_remove_is_a_usage_error_everywhere(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    args = {"analogy": ["king"], "encode": ["hi"], "interpolate": ["a", "b"], "search": ["c"]}
    _, line = usage_error(capsys, command, *args[command], "--remove", "a:b:c")
    assert line.startswith(f"latent {command}: error: --remove 'a:b:c': expected a:b pairs")


def test_weat_file_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    x = tmp_path / "x.txt"
    x.write_text("king\n", encoding="utf-8")
    _, line = usage_error(
        capsys, "weat", "--targets", str(x), str(tmp_path / "y.txt"), "--attributes", str(x), str(x)
    )
    assert line.startswith("latent weat: error: --targets: cannot read ")
    assert "y.txt" in line


def test_new_commands_have_help() -> None:
    from latent.cli import _build_parser

    parser = _build_parser()
    for name in ("direction", "directions", "project", "navigate", "weat", "components"):
        assert name in parser.commands and parser.commands[name].description
    for name in ("nearest", "analogy", "similarity", "encode", "interpolate", "search"):
        assert "--remove SPEC" in parser.commands[name].format_help()
    assert "--until X" in parser.commands["navigate"].format_help()
    assert "delete" in parser.commands["directions"].format_help()
    assert "directions delete" in parser.commands


# ---------------------------------------------------------------------------
# Against latentd


def test_direction_pairs(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, server_target, "direction", "man:woman", "king:queen")
    assert (code, err) == (0, "")
    lines = rows(out)
    assert lines[0][:2] == ["explained", "variance"] and 0.5 < float(lines[0][2]) <= 1
    assert lines[1] == ["pair", "cosine"]
    assert [r[0] for r in lines[2:]] == ["man:woman", "king:queen"]
    assert all(float(r[1]) > 0.9 for r in lines[2:])


def test_direction_top_and_method(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, server_target, "direction", "man:woman,king:queen", "--top", "3", "--method", "mean"
    )
    assert code == 0
    table = out.split("\n\n")[1]
    lines = rows(table)
    assert lines[0] == ["#", "from", "end", "projection", "to", "end", "projection"]
    assert len(lines) == 4
    assert lines[1][1] == "man" and lines[1][3] == "woman"  # the pairs' own ends
    assert float(lines[1][2]) < 0 < float(lines[1][4])


def test_direction_poles(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, server_target, "direction", "--from", "man", "king", "--to", "woman", "queen"
    )
    assert code == 0
    lines = rows(out)
    assert lines[1] == ["pole", "term", "projection"]
    assert [r[:2] for r in lines[2:]] == [
        ["from", "man"],
        ["from", "king"],
        ["to", "woman"],
        ["to", "queen"],
    ]
    assert float(lines[2][2]) < 0 < float(lines[4][2])


def test_direction_json(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, server_target, "direction", "man:woman", "--top", "2", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["space"] == "tiny" and len(data["vector"]) == 16
    assert len(data["pair_cosines"]) == 1
    assert data["from_end"][0]["key"] == "man"
    assert len(data["to_end"]) == 2 and "saved" not in data


def test_save_list_use_and_delete(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    name = "cli-gender"
    code, out, _ = run(
        capsys,
        server_target,
        "direction",
        "man:woman",
        "king:queen",
        "--save",
        name,
        "--description",
        "man to woman",
    )
    assert code == 0
    assert out.splitlines()[-1] == f"saved direction {name} in tiny"
    try:
        code, out, err = run(capsys, server_target, "direction", "man:woman", "--save", name)
        assert (code, out) == (1, "")
        assert err.startswith("latent: already exists: ") and name in err
        again = ("man:woman", "king:queen", "--save", name, "--description", "man to woman")
        code, _, _ = run(capsys, server_target, "direction", *again, "--overwrite")
        assert code == 0

        code, out, _ = run(capsys, server_target, "directions")
        assert code == 0
        lines = rows(out)
        assert lines[0] == ["space", "name", "definition", "variance", "description"]
        (row,) = [r for r in lines if len(r) > 1 and r[1] == name]
        assert row[0] == "tiny" and row[2:4] == ["man:woman,", "king:queen"]
        assert " ".join(row[-3:]) == "man to woman"
        for argv in (
            ["directions", "list", "--space", "tiny"],
            ["directions", "--space", "tiny", "list"],
        ):
            code, listed, _ = run(capsys, server_target, *argv)
            assert code == 0 and name in listed
        code, out, _ = run(capsys, server_target, "directions", "--json")
        (saved,) = [d for d in json.loads(out) if d["name"] == name]
        assert saved["definition"]["pairs"] == [["man", "woman"], ["king", "queen"]]
        assert saved["definition"]["method"] == "pca"

        code, out, _ = run(capsys, server_target, "project", "--direction", name, "woman")
        assert code == 0 and float(rows(out)[1][1]) > 0.5
        code, out, _ = run(capsys, server_target, "nearest", "king", "-k", "1", "--remove", name)
        assert code == 0 and rows(out)[1][1] == "queen"
    finally:
        code, out, _ = run(capsys, server_target, "directions", "delete", name)
    assert (code, out) == (0, f"deleted direction {name}\n")
    code, out, err = run(capsys, server_target, "directions", "delete", name)
    assert (code, out) == (1, "")
    assert err.startswith("latent: not found: NAME: no direction 'cli-gender'")


def test_project(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        server_target,
        "project",
        "--direction",
        "man:woman,king:queen",
        "man",
        "Woman",
        "cat",
    )
    assert (code, err) == (0, "")
    lines = rows(out)
    assert lines[0] == ["(using", "'woman'", "for", "'Woman')"]
    assert lines[1] == ["term", "projection"]
    assert [r[0] for r in lines[2:]] == ["man", "woman", "cat"]
    assert float(lines[2][1]) < 0 < float(lines[3][1])


def test_project_top(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        server_target,
        "project",
        "--direction",
        "man:woman",
        "--top",
        "2",
        "--restrict",
        "14",
    )
    assert code == 0
    lines = rows(out)
    assert lines[0][0] == "#" and len(lines) == 3
    assert not any(cell.startswith("word") for row in lines for cell in row)
    code, out, _ = run(
        capsys, server_target, "project", "--direction", "man:woman", "cat", "--top", "1"
    )
    assert code == 0 and len(out.split("\n\n")) == 2
    code, out, _ = run(
        capsys, server_target, "project", "--direction", "man:woman", "cat", "--json"
    )
    data = json.loads(out)
    assert data["projections"][0]["term"]["key"] == "cat"
    assert data["from_end"] == [] and data["to_end"] == []


def test_navigate(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        server_target,
        "navigate",
        "king",
        "--direction",
        "man:woman,king:queen,prince:princess",
        "--steps",
        "3",
        "--step",
        "0.3",
        "-k",
        "2",
    )
    assert (code, err) == (0, "")
    lines = rows(out)
    assert lines[0] == ["offset", "projection", "neighbors"]
    assert [r[0] for r in lines[1:]] == ["0.00", "0.30", "0.60", "0.90"]
    projections = [float(r[1]) for r in lines[1:]]
    assert projections == sorted(projections)
    assert all(len(r) == 2 + 2 * 2 for r in lines[1:])  # k=2: key and score each
    assert lines[-1][2] == "queen"
    assert "king" not in {cell for r in lines[1:] for cell in r[2::2]}


def test_navigate_until_and_remove(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        server_target,
        "navigate",
        "king",
        "--direction",
        "man:woman",
        "--steps",
        "2",
        "--until",
        "0.4",
        "--remove",
        "cat:dog",
    )
    assert code == 0
    lines = rows(out)
    assert len(lines) == 4 and float(lines[-1][1]) == pytest.approx(0.4, abs=1e-4)
    code, out, _ = run(
        capsys,
        server_target,
        "navigate",
        "queen",
        "--direction",
        "man:woman",
        "--step",
        "-0.2",
        "--steps",
        "1",
    )
    assert code == 0 and float(rows(out)[2][0]) == pytest.approx(-0.2)


def test_navigate_server_errors_name_flags(
    server_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, server_target, "navigate", "king", "--direction", "man:woman", "--until", "1.5"
    )
    assert (code, out) == (1, "")
    assert err.startswith("latent: invalid argument: --until: ")
    code, _, err = run(
        capsys, server_target, "navigate", "king", "--direction", "no-such", "--steps", "2"
    )
    assert code == 1
    assert err.startswith("latent: not found: --direction: no direction 'no-such'")
    code, _, err = run(capsys, server_target, "nearest", "king", "--remove", "no-such")
    assert code == 1
    assert err.startswith("latent: not found: --remove: no direction 'no-such'")
    code, _, err = run(capsys, server_target, "project", "--direction", "man:wommman", "cat")
    assert code == 1 and "wommman" in err and "woman" in err.replace("wommman", "")


def test_remove_on_query_commands(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    gender = "man:woman,king:queen,prince:princess"
    code, out, _ = run(capsys, server_target, "nearest", "king", "-k", "1", "--exact")
    assert code == 0 and rows(out)[1][1] != "queen"
    code, out, _ = run(
        capsys, server_target, "nearest", "king", "-k", "1", "--exact", "--remove", gender
    )
    assert code == 0 and rows(out)[1][1] == "queen"

    _, plain, _ = run(capsys, server_target, "similarity", "king", "queen")
    code, removed, _ = run(capsys, server_target, "similarity", "king", "queen", "--remove", gender)
    assert code == 0 and float(removed.split()[0]) > float(plain.split()[0])

    code, out, _ = run(
        capsys,
        server_target,
        "analogy",
        "Paris",
        "-",
        "france",
        "+",
        "germany",
        "-k",
        "1",
        "--remove",
        gender,
        "--remove",
        "cat:dog",
    )
    assert code == 0 and rows(out)[1][1] == "berlin"

    code, out, _ = run(
        capsys, server_target, "interpolate", "king", "cat", "--steps", "2", "--remove", gender
    )
    assert code == 0 and len(rows(out)) == 3

    code, out, _ = run(
        capsys, server_target, "encode", "king", "--model", "tiny", "--json", "--remove", gender
    )
    assert code == 0
    vector = json.loads(out)["vectors"][0]
    code, out, _ = run(capsys, server_target, "direction", gender, "--json")
    axis = json.loads(out)["vector"]
    assert abs(sum(a * b for a, b in zip(vector, axis, strict=True))) < 1e-4


def test_search_remove(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    from latent import Client

    with Client(server_target) as client:
        client.create_collection("cli-directions", model=SENTENCE, exist_ok=True)
        client.upsert(
            "cli-directions",
            [
                {"id": "he", "text": "He is a doctor."},
                {"id": "she", "text": "She is a doctor."},
                {"id": "cook", "text": "A recipe for bread."},
            ],
        )
    code, out, err = run(
        capsys,
        server_target,
        "search",
        "cli-directions",
        "doctor",
        "-k",
        "2",
        "--exact",
        "--remove",
        "He is a doctor.:She is a doctor.",  # texts, as search's query
    )
    assert (code, err) == (0, "")
    lines = rows(out)
    assert {r[1] for r in lines[1:]} == {"he", "she"}
    # Without the direction from the one text to the other, the two are one vector.
    assert lines[1][2] == lines[2][2]


def test_weat(server_target: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    files = {
        "x.txt": "# male targets\nking\nprince\n\ncat\n",
        "y.txt": "queen\nprincess\ndog  # last\n",
        "a.txt": "man\n",
        "b.txt": "woman\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    paths = {name: str(tmp_path / name) for name in files}
    argv = [
        "weat",
        "--targets",
        paths["x.txt"],
        paths["y.txt"],
        "--attributes",
        paths["a.txt"],
        paths["b.txt"],
    ]
    code, out, err = run(capsys, server_target, *argv)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["effect", "size"] and float(lines[0].split()[2]) > 1.5
    assert lines[1].split()[0] == "p-value" and lines[1].endswith("(exact: 20 partitions)")
    assert lines[2].split()[0] == "statistic"
    assert lines[3].split() == ["targets", "x.txt:", "3,", "y.txt:", "3"]
    assert lines[4].split() == ["attributes", "a.txt:", "1,", "b.txt:", "1"]

    code, out, _ = run(capsys, server_target, *argv, "--permutations", "5", "--seed", "1")
    assert code == 0 and "in 5 sampled partitions" in out
    code, out, _ = run(capsys, server_target, *argv, "--json")
    data = json.loads(out)
    assert data["exact"] and data["partitions"] == 20 and len(data["x_associations"]) == 3

    (tmp_path / "y.txt").write_text("queen\n", encoding="utf-8")
    code, out, err = run(capsys, server_target, *argv)
    assert (code, out) == (1, "")
    assert err.startswith("latent: invalid argument: --targets: ")


def test_components(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    terms = ["cat", "dog", "king", "queen", "Paris", "berlin"]
    code, out, err = run(capsys, server_target, "components", *terms, "-n", "2")
    assert (code, err) == (0, "")
    blocks = out.strip().split("\n\n")
    assert len(blocks) == 2
    for i, block in enumerate(blocks, 1):
        lines = rows(block)
        assert lines[0][:4] == ["component", str(i), "explained", "variance"]
        assert 0 < float(lines[0][4]) <= 1
        assert lines[1] == ["low", "end", "projection", "high", "end", "projection"]
        table = block.splitlines()[1:]
        middle = table[0].index("high end")
        low = [line[:middle].split() for line in table[1:] if line[:middle].strip()]
        high = [line[middle:].split() for line in table[1:] if line[middle:].strip()]
        assert sorted(t for t, _ in low + high) == sorted(terms)
        low_values, high_values = [float(v) for _, v in low], [float(v) for _, v in high]
        assert all(v < 0 for v in low_values) and all(v >= 0 for v in high_values)
        assert low_values == sorted(low_values)  # lowest first
        assert high_values == sorted(high_values, reverse=True)  # highest first
    code, out, _ = run(capsys, server_target, "components", "cat", "dog", "king", "--json")
    data = json.loads(out)
    assert len(data) == 2 and len(data[0]["terms"]) == 3
    code, out, err = run(capsys, server_target, "components", "cat", "dog", "-n", "5")
    assert (code, out) == (1, "")
    assert err.startswith("latent: invalid argument: -n: ")


def test_sentence_model_directions(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    # encode, similarity and search send texts, and so the terms of their directions.
    code, out, err = run(capsys, server_target, "encode", "a doctor", "--remove", "he:she")
    assert (code, err) == (0, "") and "dimension 384" in out
    texts = ("he is a doctor", "she is a doctor", "--space", SENTENCE)
    code, plain, _ = run(capsys, server_target, "similarity", *texts)
    code, removed, _ = run(capsys, server_target, "similarity", *texts, "--remove", "he:she")
    assert code == 0 and float(removed.split()[0]) > float(plain.split()[0])
    # Elsewhere terms are keys, as the command's own; a sentence model has none.
    code, out, err = run(capsys, server_target, "direction", "he:she", "--space", SENTENCE)
    assert (code, out) == (1, "")
    assert err.startswith("latent: invalid argument: PAIR 1: ") and "pass --text" in err
    code, out, err = run(
        capsys, server_target, "direction", "--from", "he", "--to", "she", "--space", SENTENCE
    )
    assert err.startswith("latent: invalid argument: --from: ")
    code, out, _ = run(
        capsys, server_target, "direction", "he:she", "him:her", "--space", SENTENCE, "--text"
    )
    assert code == 0 and rows(out)[2][0] == "he:she"
    code, out, _ = run(
        capsys,
        server_target,
        "project",
        "--direction",
        "he:she,him:her",
        "The king spoke.",
        "The queen spoke.",
        "--space",
        SENTENCE,
        "--text",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["term", "projection"]
    assert float(lines[1].split()[-1]) < float(lines[2].split()[-1])
