"""The `latent` command, run in-process with `main([...])` against a real latentd."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from concurrent import futures
from pathlib import Path
from typing import Any

import pytest

from latent.cli import main, parse_expression

SENTENCE = "all-minilm-l6-v2"
REPO = Path(__file__).resolve().parents[2]


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


# ---------------------------------------------------------------------------
# The command as a new user meets it


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    """Runs a command that must fail on its arguments; returns (usage, error line)."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    return "\n".join(lines[:-1]), lines[-1]


def test_make_serve_passes_port_and_host_only_from_make_command_line() -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    # PORT and HOST in the environment are not make's command line: latentd's defaults
    # and its LATENT_PORT / LATENT_HOST twins apply.
    env.update(PORT="7000", HOST="10.0.0.1")

    def serve_line(*make_args: str) -> str:
        result = subprocess.run(
            [make, "-n", "serve", *make_args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        (line,) = [x for x in result.stdout.splitlines() if "bin/latentd serve" in x]
        return line.split("bin/latentd", 1)[1].strip()

    assert serve_line() == "serve"
    assert serve_line("PORT=6000") == "serve --port 6000"
    assert serve_line("PORT=6000", "HOST=0.0.0.0") == "serve --host 0.0.0.0 --port 6000"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["encode", "hi", "--space", "glove-6b-50d"],
            "latent encode: error: unrecognized arguments: --space glove-6b-50d",
        ),
        (
            ["similarity", "cat", "dog", "-k", "3"],
            "latent similarity: error: unrecognized arguments: -k 3",
        ),
        (
            ["nearest", "cat", "-k", "abc"],
            "latent nearest: error: -k: expected a whole number, got 'abc'",
        ),
        (
            ["interpolate", "cat", "dog", "--steps", "1.5"],
            "latent interpolate: error: --steps: expected a whole number, got '1.5'",
        ),
        (["nearest", "cat", "-k", "-1"], "latent nearest: error: -k: must be 0 or more, got -1"),
        (
            ["models", "--timeout", "0"],
            "latent models: error: --timeout: must be a positive number of seconds, got '0'",
        ),
        (
            ["nearest", "cat", "--timeout", "-1"],
            "latent nearest: error: --timeout: must be a positive number of seconds, got '-1'",
        ),
        (
            ["nearest", "cat", "--timeout", "soon"],
            "latent nearest: error: --timeout: expected a number of seconds, got 'soon'",
        ),
        (["analogy", "king", "-"], "latent analogy: error: expected a term after '-'"),
        (["similarity", "cat"], "latent similarity: error: similarity takes two or more texts"),
    ],
)
def test_usage_error_is_the_subcommands_usage_and_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    usage, line = usage_error(capsys, *argv, "--target", "127.0.0.1:1")
    assert usage.startswith(f"usage: latent {argv[0]} ")
    assert line == expected


def test_unknown_command_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    usage, line = usage_error(capsys, "nearst", "cat")
    assert usage.startswith("usage: latent [")
    assert line.startswith("latent: error: unknown command 'nearst' (choose from 'analogy',")


def test_every_option_has_help() -> None:
    from latent.cli import _build_parser

    parser = _build_parser()
    for name, command in parser.commands.items():
        for action in command._actions:
            assert action.help, f"latent {name} {action.option_strings or action.dest}"
    assert "3CosMul" in parser.commands["analogy"].format_help()


def test_server_messages_name_the_commands_flags(
    server_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The server says "set truncate" (an API field); the command's flag is --truncate.
    long_text = "word " * 400
    code, out, err = run(
        capsys, "encode", long_text, "--model", SENTENCE, "--target", server_target
    )
    assert code == 1 and out == ""
    assert err.startswith("latent: invalid argument: inputs[0]: ")
    assert "pass --truncate" in err and "set truncate" not in err
    code, _, err = run(capsys, "nearest", "cat", "-k", "0", "--target", server_target)
    assert code == 1 and err.startswith("latent: invalid argument: -k: must be between 1 and ")


def test_each_argument_is_one_term(server_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    # The same rule in nearest and analogy: "king queen" is one key, not two.
    for command in ("nearest", "analogy"):
        code, out, err = run(capsys, command, "king queen", "--target", server_target)
        assert code == 1 and out == ""
        assert err.startswith("latent: not found: ")
        assert "unknown key 'king queen'" in err and "--text" in err
        assert err.count("\n") == 1
    # --text averages its words.
    code, out, err = run(
        capsys, "nearest", "king queen", "--text", "-k", "3", "--target", server_target
    )
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 4
    # A whole expression in one argument is still split at its standalone operators,
    # with --text too.
    for extra in ((), ("--text",)):
        code, out, err = run(
            capsys, "analogy", "king - man + woman", *extra, "-k", "1", "--target", server_target
        )
        assert (code, err) == (0, ""), extra
        assert out.splitlines()[1].split()[1] == "queen"


def test_key_with_spaces_gets_a_text_hint() -> None:
    import grpc

    from latent.cli import _error_line
    from latent.errors import NotFound

    error = NotFound(
        grpc.StatusCode.NOT_FOUND,
        "not in space 'glove-6b-50d': query[0]: unknown key 'new york' (did you mean: network)",
    )
    line = _error_line(error, "127.0.0.1:50051", 30.0, ["new york"])
    assert line == (
        "not found: not in space 'glove-6b-50d': query[0]: unknown key 'new york' (did you "
        "mean: network) (to average the words of 'new york', pass it with --text)"
    )
    # Not for keys that are not the unknown one, nor when the server already gave it.
    assert "--text" not in _error_line(error, "t", 30.0, ["york city"])


def test_parse_expression_splits_only_whole_expressions() -> None:
    assert parse_expression(["king queen"]) == (["king queen"], [])
    assert parse_expression(["new york - usa + france"]) == (["new york", "france"], ["usa"])
    assert parse_expression(["king", "-", "man woman"]) == (["king"], ["man woman"])
    assert parse_expression(["a-b"]) == (["a-b"], [])


def test_option_like_term_after_double_dash_warns(
    server_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "nearest", "--target", server_target, "--", "-k")
    lines = err.splitlines()
    assert lines[0] == (
        "latent: warning: '-k' looks like an option; taken as a term because it follows --"
    )
    assert code == 1 and "unknown key '-k'" in lines[1]  # sent as a term
    # In analogy a "-" prefix after -- is the documented negative sign: no warning.
    code, out, err = run(
        capsys, "analogy", "--target", server_target, "-k", "1", "king", "--", "-man", "+woman"
    )
    assert (code, err) == (0, "")
    assert "queen" in out


def _loading_server() -> tuple[Any, int]:
    """A real gRPC server that answers every method as a starting latentd does."""
    import grpc

    def abort(request: bytes, context: grpc.ServicerContext) -> None:
        context.abort(
            grpc.StatusCode.UNAVAILABLE, "latentd is loading models; try again in a few seconds"
        )

    class Loading(grpc.GenericRpcHandler):
        def service(self, handler_call_details: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(abort)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((Loading(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def test_starting_server_is_not_called_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    server, port = _loading_server()
    try:
        target = f"127.0.0.1:{port}"
        for argv in (["models"], ["nearest", "cat"], ["encode", "hi"]):
            began = time.monotonic()
            code, out, err = run(capsys, *argv, "--target", target)
            assert time.monotonic() - began < 10  # the retries of the service config
            assert (code, out) == (1, "")
            assert err == (
                f"latent: latentd at {target} is starting (loading models); "
                "try again in a few seconds\n"
            )
    finally:
        server.stop(None)
