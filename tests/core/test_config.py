"""Settings: defaults < TOML < LATENT_* environment < flags, and errors naming the setting."""

from __future__ import annotations

import argparse
import re
from dataclasses import fields
from pathlib import Path

import pytest

from latentd.config import (
    ConfigError,
    ModelSpec,
    Settings,
    add_arguments,
    default_cache_dir,
    load_settings,
    parse_model,
)
from latentd.core.batch_params import BatchParams
from latentd.core.index import HnswParams
from latentd.core.limits import Limits


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="latentd serve")
    add_arguments(p)
    return p


def settings(argv: list[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    return load_settings(parser().parse_args(argv or []), env or {})


def write(tmp_path: Path, text: str, name: str = "latent.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def options() -> list[argparse.Action]:
    return [a for a in parser()._actions if a.option_strings and a.dest != "help"]


def env_twin(action: argparse.Action) -> str:
    found = re.search(r"\(env (LATENT_[A-Z_]+)", action.help or "")
    assert found, f"{action.option_strings} names no environment twin"
    return found.group(1)


# -- defaults ----------------------------------------------------------------------------


def test_defaults() -> None:
    s = settings()
    assert s == load_settings(None, {}) == Settings()
    assert (s.host, s.port, s.workers, s.device, s.log_level) == (
        "127.0.0.1",
        50051,
        64,
        "cpu",
        "info",
    )
    assert s.cache_dir == default_cache_dir()
    assert s.default_models and s.index and not s.allow_pickle
    assert s.max_message_mb == 64
    assert s.word_models == () and s.sentence_models == ()
    assert s.hnsw == HnswParams() and s.limits == Limits()


def test_default_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "latent"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "latent"


def test_settings_are_frozen() -> None:
    s = settings()
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]


# -- every flag has a LATENT_* twin ------------------------------------------------------


def sample(action: argparse.Action, tmp_path: Path) -> tuple[list[str], str]:
    """A non-default value for the option: its flag arguments and its env value."""
    flag = action.option_strings[0]
    if isinstance(action, argparse.BooleanOptionalAction):
        default = getattr(Settings(), action.dest)
        return ([f"--no-{flag[2:]}"] if default else [flag]), ("false" if default else "true")
    if action.dest == "config":
        path = write(tmp_path, "workers = 3\n")
        return [flag, str(path)], str(path)
    if action.dest == "word_model":
        return [flag, "tiny=/models/tiny.txt:glove"], "tiny=/models/tiny.txt:glove"
    if action.dest == "sentence_model":
        return [flag, "mini=/models/mini"], "mini=/models/mini"
    if action.dest == "log_level":
        return [flag, "debug"], "debug"
    if action.dest == "log_format":
        return [flag, "json"], "json"
    if action.dest == "collections_backend":
        return [flag, "milvus"], "milvus"
    if action.type is float:
        return [flag, "3.5"], "3.5"
    if action.dest == "cache_dir":
        return [flag, str(tmp_path / "c")], str(tmp_path / "c")
    if action.type is int:
        value = "3" if action.dest != "port" else "6000"
        return [flag, value], value
    return [flag, "other"], "other"


def test_every_flag_has_an_env_twin(tmp_path: Path) -> None:
    acts = options()
    assert len(acts) >= 20
    twins = set()
    for action in acts:
        twin = env_twin(action)
        twins.add(twin)
        argv, env_value = sample(action, tmp_path)
        # TLS files come in sets: the others of the set are given both ways.
        tls = {"tls_cert": "cert.pem", "tls_key": "key.pem"}
        others = {} if action.dest not in (*tls, "tls_client_ca") else tls
        from_flag = settings(
            argv
            + [
                x
                for name, v in others.items()
                if name != action.dest
                for x in (f"--{name.replace('_', '-')}", v)
            ]
        )
        from_env = settings(
            env={twin: env_value}
            | {f"LATENT_{name.upper()}": v for name, v in others.items() if name != action.dest}
        )
        assert from_flag != Settings(), f"{argv} changes nothing"
        assert from_env == from_flag, f"{twin}={env_value} is not the twin of {argv}"
    assert len(twins) == len(acts)  # no two flags share a twin


def test_env_twin_names() -> None:
    by_flag = {a.option_strings[0]: env_twin(a) for a in options()}
    assert by_flag["--port"] == "LATENT_PORT"
    assert by_flag["--cache-dir"] == "LATENT_CACHE_DIR"
    assert by_flag["--default-models"] == "LATENT_DEFAULT_MODELS"
    assert by_flag["--hnsw-ef-construction"] == "LATENT_HNSW_EF_CONSTRUCTION"
    assert by_flag["--batch-max-wait-ms"] == "LATENT_BATCH_MAX_WAIT_MS"
    assert by_flag["--max-k"] == "LATENT_MAX_K"
    assert by_flag["--word-model"] == "LATENT_WORD_MODELS"
    assert by_flag["--config"] == "LATENT_CONFIG"
    for action in options():
        if action.dest not in ("config", "word_model", "sentence_model"):
            assert env_twin(action) == "LATENT_" + action.dest.upper()


def test_every_setting_is_a_flag() -> None:
    dests = {a.dest for a in options()}
    for f in fields(Settings):
        # Tables; and directions, whose definitions only the config file can hold.
        if f.name in ("hnsw", "batch", "limits", "directions"):
            continue
        assert f.name in dests or f.name[:-1] in dests, f.name
    assert {f"hnsw_{f.name}" for f in fields(HnswParams)} <= dests
    assert {f"batch_{f.name}" for f in fields(BatchParams)} <= dests
    assert {f.name for f in fields(Limits)} <= dests


def test_no_default_models_switch() -> None:
    assert settings(["--no-default-models"]).default_models is False
    assert settings(["--default-models"], {"LATENT_DEFAULT_MODELS": "0"}).default_models
    for word, value in [
        ("yes", True),
        ("ON", True),
        ("1", True),
        ("off", False),
        ("No", False),
        ("0", False),
    ]:
        assert settings(env={"LATENT_DEFAULT_MODELS": word}).default_models is value


# -- precedence --------------------------------------------------------------------------


def test_flags_beat_env_beat_toml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'port = 1000\nworkers = 2\nhost = "0.0.0.0"\nindex = false\n'
        "[hnsw]\nm = 8\nef = 20\n[limits]\nmax_k = 10\nmax_terms = 5\n",
    )
    only_toml = settings(["--config", str(path)])
    assert (only_toml.port, only_toml.workers, only_toml.host) == (1000, 2, "0.0.0.0")
    assert only_toml.index is False
    assert (only_toml.hnsw.m, only_toml.hnsw.ef) == (8, 20)
    assert (only_toml.limits.max_k, only_toml.limits.max_terms) == (10, 5)

    env = {
        "LATENT_PORT": "2000",
        "LATENT_WORKERS": "4",
        "LATENT_INDEX": "true",
        "LATENT_HNSW_M": "12",
        "LATENT_MAX_K": "20",
    }
    with_env = settings(["--config", str(path)], env)
    assert (with_env.port, with_env.workers, with_env.host) == (2000, 4, "0.0.0.0")
    assert with_env.index is True
    assert (with_env.hnsw.m, with_env.hnsw.ef) == (12, 20)
    assert (with_env.limits.max_k, with_env.limits.max_terms) == (20, 5)

    with_flags = settings(
        ["--config", str(path), "--port", "3000", "--no-index", "--hnsw-m", "16", "--max-k", "30"],
        env,
    )
    assert (with_flags.port, with_flags.workers) == (3000, 4)
    assert with_flags.index is False
    assert (with_flags.hnsw.m, with_flags.hnsw.ef) == (16, 20)
    assert (with_flags.limits.max_k, with_flags.limits.max_terms) == (30, 5)


def test_config_from_env(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 1234\n")
    other = write(tmp_path, "port = 4321\n", "other.toml")
    assert settings(env={"LATENT_CONFIG": str(path)}).port == 1234
    assert settings(["--config", str(other)], {"LATENT_CONFIG": str(path)}).port == 4321


def test_empty_env_is_unset() -> None:
    assert settings(env={"LATENT_PORT": "", "LATENT_WORD_MODELS": " "}) == Settings()


def test_model_lists_replace_lower_sources(tmp_path: Path) -> None:
    path = write(tmp_path, '[[word_models]]\nname = "a"\npath = "a.txt"\n')
    assert [m.name for m in settings(["--config", str(path)]).word_models] == ["a"]
    env = {"LATENT_WORD_MODELS": "b=/b.txt, c=/c.bin:word2vec-binary"}
    from_env = settings(["--config", str(path)], env).word_models
    assert from_env == (ModelSpec("b", "/b.txt"), ModelSpec("c", "/c.bin", "word2vec-binary"))
    from_flags = settings(
        ["--config", str(path), "--word-model", "d=/d.txt", "--word-model", "e=/e.vec:word2vec"],
        env,
    ).word_models
    assert from_flags == (ModelSpec("d", "/d.txt"), ModelSpec("e", "/e.vec", "word2vec"))


# -- TOML --------------------------------------------------------------------------------


def test_toml_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
host = "0.0.0.0"
port = 0
cache_dir = "cache"
workers = 4
device = "cpu"
log_level = "debug"
default_models = false
allow_pickle = true
max_message_mb = 16

[[word_models]]
name = "glove-100"
path = "/models/glove.6B.100d.txt"
format = "glove"
limit = 50000
default = true

[[word_models]]
name = "news"
path = "news.bin"

[[sentence_models]]
name = "mpnet"
path = "/models/all-mpnet-base-v2"

[hnsw]
m = 16
ef_construction = 100
ef = 50
build_threads = 2

[batch]
max_size = 32
max_wait_ms = 5

[limits]
max_k = 100
max_batch = 10
""",
    )
    s = settings(["--config", str(path)])
    assert (s.host, s.port, s.workers, s.log_level, s.max_message_mb) == (
        "0.0.0.0",
        0,
        4,
        "debug",
        16,
    )
    # Relative paths in the file are relative to the file.
    assert s.cache_dir == tmp_path / "cache"
    assert s.default_models is False and s.allow_pickle is True
    assert s.word_models == (
        ModelSpec("glove-100", "/models/glove.6B.100d.txt", "glove", default=True, limit=50000),
        ModelSpec("news", str(tmp_path / "news.bin")),
    )
    assert s.sentence_models == (ModelSpec("mpnet", "/models/all-mpnet-base-v2"),)
    assert s.hnsw == HnswParams(m=16, ef_construction=100, ef=50, build_threads=2)
    assert s.batch == BatchParams(max_size=32, max_wait_ms=5)
    assert s.limits == Limits(max_k=100, max_batch=10)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("colour = 3\n", ["colour"]),
        ("[hnsw]\nmm = 3\n", ["hnsw", "mm"]),
        ("[batch]\nwait = 3\n", ["batch", "wait"]),
        ("[limits]\nmax_kk = 3\n", ["limits", "max_kk"]),
        ("[server]\nport = 1\n", ["server"]),
        ('[[word_models]]\nname = "a"\npath = "b"\nsize = 3\n', ["word_models[0]", "size"]),
        ('[[word_models]]\nname = "a"\n', ["word_models[0]", "path"]),
        ('word_models = "a=b"\n', ["word_models"]),
        ('port = "50051"\n', ["port", "integer"]),
        ("port = true\n", ["port", "integer"]),
        ('index = "yes"\n', ["index", "true or false"]),
        ("host = 1\n", ["host", "string"]),
        ('[hnsw]\nm = "16"\n', ["hnsw.m", "integer"]),
        ("hnsw = 3\n", ["hnsw", "table"]),
        ('[[word_models]]\nname = "a"\npath = "b"\nlimit = "10"\n', ["word_models[0].limit"]),
        ("port = 70000\n", ["port", "65535"]),
        ("port = = 1\n", ["config", "latent.toml"]),
    ],
)
def test_bad_toml_names_the_setting(tmp_path: Path, text: str, names: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as bad:
        settings(["--config", str(path)])
    for name in names:
        assert name in str(bad.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config.*nope\.toml"):
        settings(["--config", str(tmp_path / "nope.toml")])


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"LATENT_PORT": "abc"}, ["LATENT_PORT", "abc"]),
        ({"LATENT_WORKERS": "1.5"}, ["LATENT_WORKERS"]),
        ({"LATENT_HNSW_M": "many"}, ["LATENT_HNSW_M"]),
        ({"LATENT_MAX_K": "1e3"}, ["LATENT_MAX_K"]),
        ({"LATENT_INDEX": "maybe"}, ["LATENT_INDEX", "true or false"]),
        ({"LATENT_WORD_MODELS": "nopath"}, ["LATENT_WORD_MODELS", "NAME=PATH"]),
    ],
)
def test_bad_env_names_the_variable(env: dict[str, str], names: list[str]) -> None:
    with pytest.raises(ConfigError) as bad:
        settings(env=env)
    message = str(bad.value)
    for name in names:
        assert name in message
    assert message.count(names[0]) == 1  # named once, not twice


@pytest.mark.parametrize("port", ["-1", "65536", "100000"])
def test_port_out_of_range(port: str) -> None:
    with pytest.raises(ConfigError, match=r"^port:"):
        settings(["--port", port])
    with pytest.raises(ConfigError, match=r"^port:"):
        settings(env={"LATENT_PORT": port})


@pytest.mark.parametrize("port", ["0", "1", "65535"])
def test_port_in_range(port: str) -> None:
    assert settings(["--port", port]).port == int(port)


@pytest.mark.parametrize(
    ("argv", "setting"),
    [
        (["--workers", "0"], "workers"),
        (["--max-k", "0"], "max_k"),
        (["--hnsw-m", "1"], "hnsw_m"),
        (["--hnsw-ef", "0"], "hnsw_ef"),
        (["--hnsw-build-threads", "-1"], "hnsw_build_threads"),
        (["--batch-max-size", "0"], "batch_max_size"),
        (["--batch-queue", "0"], "batch_queue"),
        (["--batch-max-wait-ms", "-1"], "batch_max_wait_ms"),
        (["--batch-max-tokens", "-1"], "batch_max_tokens"),
        (["--log-level", "loud"], "log_level"),
        (["--max-message-mb", "0"], "max_message_mb"),
        (["--max-message-mb", "4096"], "max_message_mb"),
        (["--host", ""], "host"),
        (["--word-model", "a b=/x.txt"], "word_models"),
        (["--word-model", "../up=/x.txt"], "word_models"),
    ],
)
def test_bad_values_name_the_setting(argv: list[str], setting: str) -> None:
    with pytest.raises(ConfigError) as bad:
        settings(argv)
    assert str(bad.value).startswith(setting)


def test_duplicate_model_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"names used twice.*'same'"):
        settings(["--word-model", "same=/a.txt", "--word-model", "same=/b.txt"])
    with pytest.raises(ConfigError, match="'same'"):
        settings(["--word-model", "same=/a.txt", "--sentence-model", "same=/dir"])
    path = write(
        tmp_path,
        '[[word_models]]\nname = "x"\npath = "a"\n[[word_models]]\nname = "x"\npath = "b"\n',
    )
    with pytest.raises(ConfigError, match="'x'"):
        settings(["--config", str(path)])


def test_model_checks_in_toml(tmp_path: Path) -> None:
    bad_format = write(tmp_path, '[[word_models]]\nname = "a"\npath = "a"\nformat = "csv"\n')
    with pytest.raises(ConfigError, match="word_models: 'a': unknown format 'csv'"):
        settings(["--config", str(bad_format)])
    two_defaults = write(
        tmp_path,
        '[[word_models]]\nname = "a"\npath = "a"\ndefault = true\n'
        '[[word_models]]\nname = "b"\npath = "b"\ndefault = true\n',
    )
    with pytest.raises(ConfigError, match="word_models: more than one default"):
        settings(["--config", str(two_defaults)])
    negative = write(tmp_path, '[[word_models]]\nname = "a"\npath = "a"\nlimit = -1\n')
    with pytest.raises(ConfigError, match="'a': limit"):
        settings(["--config", str(negative)])
    sentence_limit = write(tmp_path, '[[sentence_models]]\nname = "s"\npath = "s"\nlimit = 3\n')
    with pytest.raises(ConfigError, match="'s': format and limit"):
        settings(["--config", str(sentence_limit)])


# -- NAME=PATH[:FORMAT] ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("tiny=/m/tiny.txt:glove", ModelSpec("tiny", "/m/tiny.txt", "glove")),
        ("tiny=/m/tiny.txt", ModelSpec("tiny", "/m/tiny.txt")),
        ("ft=/m/cc.en.300.bin:fasttext", ModelSpec("ft", "/m/cc.en.300.bin", "fasttext")),
        ("b=/m/v.bin:word2vec-binary", ModelSpec("b", "/m/v.bin", "word2vec-binary")),
        # A ':' in the path, no format: all of it is the path.
        ("odd=/m/a:b/v.txt", ModelSpec("odd", "/m/a:b/v.txt")),
        ("win=C:\\models\\v.txt", ModelSpec("win", "C:\\models\\v.txt")),
        ("odd=/m/a:b/v.txt:word2vec", ModelSpec("odd", "/m/a:b/v.txt", "word2vec")),
        ("x=/m/v.txt:", ModelSpec("x", "/m/v.txt:")),
        # An '=' in the path belongs to the path.
        ("eq=/m/a=b.txt", ModelSpec("eq", "/m/a=b.txt")),
    ],
)
def test_parse_model(text: str, spec: ModelSpec) -> None:
    assert parse_model(text, "--word-model") == spec


def test_parse_model_expands_home() -> None:
    assert parse_model("h=~/v.txt:glove", "--word-model") == ModelSpec(
        "h", str(Path.home() / "v.txt"), "glove"
    )


@pytest.mark.parametrize("text", ["noequals", "=path", "name=", "name"])
def test_parse_model_errors(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^--word-model: expected NAME=PATH"):
        parse_model(text, "--word-model")


def test_word_model_flag() -> None:
    s = settings(
        [
            "--no-default-models",
            "--word-model",
            "tiny=/m/tiny.txt:glove",
            "--sentence-model",
            "mini=/m/mini",
        ]
    )
    assert s.word_models == (ModelSpec("tiny", "/m/tiny.txt", "glove"),)
    assert s.sentence_models == (ModelSpec("mini", "/m/mini"),)


# -- security and operations -------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tls-cert", "c.pem"], "tls_cert: --tls-cert and --tls-key go together"),
        (["--tls-key", "k.pem"], "tls_cert: --tls-cert and --tls-key go together"),
        (["--tls-client-ca", "ca.pem"], "tls_client_ca: mutual TLS needs"),
        (["--log-format", "xml"], "log_format: must be text or json"),
        (["--max-concurrent-rpcs", "-1"], "max_concurrent_rpcs: must be 0"),
        (["--grace", "-1"], "grace: must be between 0 and 3600"),
        (["--metrics-port", "70000"], "metrics_port: must be between 0 and 65535"),
        (["--metrics-port", "6000", "--port", "6000"], "metrics_port: 6000 is --port too"),
        (["--api-key", "has space"], "api_keys: a key is printable characters"),
        (["--http-port", "-2"], "http_port: must be between 0 and 65535"),
        (["--collections-backend", "postgres"], "collections_backend: must be embedded or milvus"),
        (["--http-port", "6000", "--port", "6000"], "http_port: 6000 is --port too"),
        (
            ["--http-port", "9000", "--metrics-port", "9000"],
            "http_port: 9000 is --metrics-port too",
        ),
    ],
)
def test_operations_settings_are_checked(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        settings(argv)


def test_collections_backend_and_milvus_settings(tmp_path: Path) -> None:
    assert settings([]).collections_backend == "embedded"
    s = settings(
        env={"LATENT_COLLECTIONS_BACKEND": "milvus", "LATENT_MILVUS_URI": "http://m:19530"}
    )
    assert (s.collections_backend, s.milvus_uri) == ("milvus", "http://m:19530")
    assert settings(["--milvus-token", "u:p"]).milvus_token == "u:p"
    toml = write(tmp_path, 'collections_backend = "milvus"\nmilvus_uri = "lite.db"\n')
    assert settings(["--config", str(toml)]).collections_backend == "milvus"


def test_http_port_from_flag_env_and_toml(tmp_path: Path) -> None:
    assert settings([]).http_port is None  # off unless asked for
    assert settings(["--http-port", "0"]).http_port == 0
    assert settings(env={"LATENT_HTTP_PORT": "8080"}).http_port == 8080
    assert settings(["--config", str(write(tmp_path, "http_port = 8081\n"))]).http_port == 8081


def test_api_keys_from_flags_env_and_toml(tmp_path: Path) -> None:
    assert settings(["--api-key", "a", "--api-key", "b"]).api_keys == ("a", "b")
    assert settings(env={"LATENT_API_KEYS": "a, b,"}).api_keys == ("a", "b")
    assert settings(env={"LATENT_READ_ONLY_API_KEYS": "r"}).read_only_api_keys == ("r",)
    path = write(tmp_path, 'api_keys = ["t"]\ngrace = 2\napi_key_file = "keys.txt"\n')
    s = settings(["--config", str(path)])
    assert (s.api_keys, s.grace, s.api_key_file) == (("t",), 2.0, tmp_path / "keys.txt")
    with pytest.raises(ConfigError, match="api_keys: expected a list of strings"):
        settings(["--config", str(write(tmp_path, "api_keys = 3\n", "bad.toml"))])
