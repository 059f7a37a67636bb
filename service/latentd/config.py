"""Settings: defaults < TOML file (--config) < LATENT_* environment < flags.
One frozen object, built once at start.

Every flag `--some-name` has the environment twin `LATENT_SOME_NAME` (the model lists:
`--word-model` / `LATENT_WORD_MODELS`, `--sentence-model` / `LATENT_SENTENCE_MODELS`).
A model list from a higher source replaces the lists below it, like any other setting.
Paths in the TOML file are relative to the file's folder; `~` is expanded everywhere.
Every error is a ConfigError whose message starts with the setting it is about.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentd.core.batch_params import BatchParams
from latentd.core.hnsw_params import HnswParams
from latentd.core.limits import Limits
from latentd.core.word_formats import FORMATS

if TYPE_CHECKING:
    from latentd.core.types import DirectionSpec

DEFAULT_WORD_MODEL = "glove-6b-50d"
DEFAULT_SENTENCE_MODEL = "all-minilm-l6-v2"

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")
# Model names are part of requests and of cache file names: no spaces, no slashes.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
# gRPC message sizes are 32-bit signed byte counts.
MAX_MESSAGE_MB = 2047


class ConfigError(ValueError):
    """Settings that cannot be used; the message names the setting."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: str
    format: str = ""  # word models: kumo, word2vec, word2vec-binary, glove, fasttext, kv
    default: bool = False
    limit: int = 0  # word models: keep only the first N keys


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "latent"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "latent"


@dataclass(frozen=True)
class DirectionConfig:
    """A `[[directions]]` table: a direction defined at start, shared by name."""

    name: str
    space: str  # empty: the default word model
    definition: DirectionSpec
    description: str = ""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 50051
    cache_dir: Path = field(default_factory=default_cache_dir)
    data_dir: Path = field(default_factory=default_data_dir)
    # An Encode call holds its worker while it waits for the model's batch: with 16, 16
    # waiting Encode callers left an Analogy call queued for a whole forward pass (p50
    # 21 ms, against 0.8 ms with 64). Waiting threads cost little.
    workers: int = 64
    device: str = "cpu"
    torch_threads: int = 0
    log_level: str = "info"
    default_models: bool = True
    allow_pickle: bool = False
    index: bool = True
    max_message_mb: int = 64
    # Security: keys are compared in constant time and never logged (api/auth.py).
    api_keys: tuple[str, ...] = ()
    read_only_api_keys: tuple[str, ...] = ()
    api_key_file: Path | None = None  # re-read on SIGHUP
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None  # set: clients must present a certificate it signed
    # Operations: calls past max_concurrent_rpcs are refused at once (0: as many as
    # workers); SIGTERM gives the calls in flight `grace` seconds.
    max_concurrent_rpcs: int = 0
    grace: float = 10.0
    metrics_port: int | None = None  # None: no metrics endpoint; 0: any free port
    http_port: int | None = None  # None: no HTTP twin; 0: any free port
    # Where new collections keep their documents (core/collection_backends.py).
    collections_backend: str = "embedded"
    milvus_uri: str = ""  # "": a Milvus Lite file under data_dir; or http://host:19530
    milvus_token: str = ""
    log_format: str = "text"
    word_models: tuple[ModelSpec, ...] = ()
    sentence_models: tuple[ModelSpec, ...] = ()
    directions: tuple[DirectionConfig, ...] = ()
    hnsw: HnswParams = field(default_factory=HnswParams)
    batch: BatchParams = field(default_factory=BatchParams)
    limits: Limits = field(default_factory=Limits)


def _path(value: str) -> Path:
    return Path(value).expanduser()


# name, type, help. Each is a flag --name-with-dashes and an env twin LATENT_NAME.
_SCALARS: list[tuple[str, Callable[[str], Any], str]] = [
    ("host", str, "address to listen on"),
    ("port", int, "port to listen on (0: any free port)"),
    ("cache_dir", _path, "where HNSW indexes are cached"),
    ("data_dir", _path, "where collections are stored (one directory each)"),
    ("workers", int, "gRPC worker threads (each Encode call holds one while it waits)"),
    ("device", str, "torch device for sentence models (cpu, cuda, cuda:1, mps)"),
    ("torch_threads", int, "torch's intra-op threads for sentence models (0: torch's default)"),
    ("log_level", str, ", ".join(LOG_LEVELS[:-1]) + " or " + LOG_LEVELS[-1]),
    ("max_message_mb", int, "largest gRPC message in MiB"),
    (
        "api_key_file",
        _path,
        "file of API keys, one a line, 'read-only KEY' for a read-only one; re-read on SIGHUP",
    ),
    ("tls_cert", _path, "PEM certificate chain: serve TLS (with --tls-key)"),
    ("tls_key", _path, "PEM private key of --tls-cert"),
    ("tls_client_ca", _path, "PEM CA bundle: require client certificates it signed (mutual TLS)"),
    (
        "max_concurrent_rpcs",
        int,
        "calls served at once, past it RESOURCE_EXHAUSTED at once (0: --workers)",
    ),
    ("grace", float, "seconds the calls in flight get to finish after SIGTERM or SIGINT"),
    ("metrics_port", int, "serve Prometheus metrics over HTTP on this port (0: any free port)"),
    (
        "http_port",
        int,
        "serve the HTTP/JSON API, OpenAI /v1/embeddings and the Explorer page on this port "
        "(0: any free port)",
    ),
    ("log_format", str, " or ".join(LOG_FORMATS) + " (json: one object a line)"),
    (
        "collections_backend",
        str,
        "where new collections keep their documents: embedded (SQLite + hnswlib under "
        "--data-dir) or milvus",
    ),
    (
        "milvus_uri",
        str,
        "the Milvus of the milvus backend: a Milvus Lite file, or http://HOST:19530 "
        "(default: milvus.db under --data-dir)",
    ),
    ("milvus_token", str, "token of a Milvus server that needs one (user:password or a key)"),
]
# Repeatable flags whose env twin is a comma-separated list.
_LISTS: list[tuple[str, str, str]] = [
    ("api_keys", "--api-key", "accept this API key (Authorization: Bearer KEY), repeatable"),
    (
        "read_only_api_keys",
        "--read-only-api-key",
        "accept this key for reads only (no collection writes, no saved directions), repeatable",
    ),
]
_SWITCHES: list[tuple[str, str]] = [
    ("default_models", "load the embedded GloVe 6B 50d and all-MiniLM-L6-v2 models"),
    ("allow_pickle", "allow loading pickled models (gensim .kv): only for trusted files"),
    ("index", "build HNSW indexes for word models (else exact search only)"),
]
_HNSW: list[tuple[str, str]] = [
    ("m", "HNSW graph degree M"),
    ("ef_construction", "HNSW ef at build time"),
    ("ef", "HNSW ef at query time (default breadth)"),
    ("build_threads", "threads for index builds (0: all cores)"),
]
_BATCH: list[tuple[str, str]] = [
    ("max_size", "most inputs in one forward pass of a sentence model"),
    ("max_tokens", "most padded tokens in one forward pass (0: 1024 on cpu, 16384 on gpu)"),
    ("max_wait_ms", "how long a batch waits for more concurrent Encode callers, in ms"),
    ("queue", "most inputs waiting for a sentence model; past it, RESOURCE_EXHAUSTED"),
]
_LIMIT_HELP = {
    "max_k": "most neighbours per query",
    "max_inputs": "most Encode inputs, and Similarity terms per side",
    "max_text_chars": "longest text, key or input, in characters",
    "max_terms": "most terms in one query",
    "max_batch": "most queries in one BatchAnalogy / BatchNearest request",
    "max_steps": "most Interpolate points",
    "max_ef": "largest HNSW search breadth a caller may ask for",
    "max_results": "most neighbours in one response (queries x k, or points x k)",
    "max_request_tokens": "most sentence-model tokens in one request, over all its texts",
    "max_documents": "most documents in one Upsert",
    "max_exact_scores": "most scores an exact search computes in one request "
    "(queries x keys x terms)",
}
_LIMITS: list[tuple[str, str]] = [
    (f.name, "request limit: " + _LIMIT_HELP.get(f.name, f.name.replace("_", " ")))
    for f in fields(Limits)
]
# Integer settings grouped in a table: [hnsw] m in TOML is --hnsw-m / LATENT_HNSW_M. The
# limits are a table whose flags have no prefix (--max-k).
_SECTIONS: list[tuple[str, list[tuple[str, str]]]] = [("hnsw", _HNSW), ("batch", _BATCH)]
_TABLES: dict[str, type] = {"hnsw": HnswParams, "batch": BatchParams, "limits": Limits}


def _env_name(name: str) -> str:
    return "LATENT_" + name.upper()


def _flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def parse_model(text: str, flag: str) -> ModelSpec:
    """NAME=PATH[:FORMAT]. A path may hold ':' itself; the part after the last ':' is the
    format only when it is a known one."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name or not rest:
        raise ConfigError(f"{flag}: expected NAME=PATH[:FORMAT], got {text!r}")
    path, colon, fmt = rest.rpartition(":")
    if not colon or not path or fmt not in FORMATS:
        path, fmt = rest, ""
    return ModelSpec(name=name, path=str(_path(path)), format=fmt)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The settings flags, each with its environment twin and default in its help."""
    defaults = Settings()

    def described(help_text: str, name: str, default: Any) -> str:
        if isinstance(default, bool):
            default = "on" if default else "off"
        elif default is None or default == ():
            default = "none"
        return f"{help_text} (env {_env_name(name)}; default {default})"

    parser.add_argument(
        "--config", type=_path, metavar="FILE", help="TOML settings file (env LATENT_CONFIG)"
    )
    for name, kind, help_text in _SCALARS:
        parser.add_argument(
            _flag_name(name),
            dest=name,
            type=kind,
            metavar=name.split("_")[-1].upper(),
            help=described(help_text, name, getattr(defaults, name)),
        )
    for name, help_text in _SWITCHES:
        parser.add_argument(
            _flag_name(name),
            dest=name,
            action=argparse.BooleanOptionalAction,
            help=described(help_text, name, getattr(defaults, name)),
        )
    for section, entries in _SECTIONS:
        for name, help_text in entries:
            parser.add_argument(
                _flag_name(f"{section}_{name}"),
                dest=f"{section}_{name}",
                type=int,
                metavar="N",
                help=described(
                    help_text, f"{section}_{name}", getattr(getattr(defaults, section), name)
                ),
            )
    for name, help_text in _LIMITS:
        parser.add_argument(
            _flag_name(name),
            dest=name,
            type=int,
            metavar="N",
            help=described(help_text, name, getattr(defaults.limits, name)),
        )
    for name, flag, help_text in _LISTS:
        parser.add_argument(
            flag,
            dest=name,
            action="append",
            metavar="KEY",
            help=f"{help_text} (env {_env_name(name)}, comma-separated)",
        )
    parser.add_argument(
        "--word-model",
        dest="word_model",
        action="append",
        metavar="NAME=PATH[:FORMAT]",
        help="load a word model, repeatable; FORMAT is one of "
        f"{', '.join(FORMATS)} (guessed when left out) "
        "(env LATENT_WORD_MODELS, comma-separated)",
    )
    parser.add_argument(
        "--sentence-model",
        dest="sentence_model",
        action="append",
        metavar="NAME=PATH",
        help="load a sentence-transformers directory, "
        "repeatable (env LATENT_SENTENCE_MODELS, comma-separated)",
    )


def load_settings(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """The settings from the flags `args`, the environment and the TOML file named by
    --config or LATENT_CONFIG. Raises ConfigError."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    tables: dict[str, dict[str, Any]] = {table: {} for table in _TABLES}
    config_path = getattr(args, "config", None) or environ.get("LATENT_CONFIG")
    if config_path:
        values, tables = _from_toml(_path(str(config_path)))

    def pick(name: str, kind: Callable[[str], Any], target: dict[str, Any], key: str) -> None:
        env = environ.get(_env_name(name))
        if env is not None and env.strip() != "":
            try:
                target[key] = kind(env.strip())
            except ValueError as exc:
                raise ConfigError(f"{_env_name(name)}: {exc}") from None
        flag = getattr(args, name, None) if args is not None else None
        if flag is not None:
            target[key] = flag

    for name, kind, _ in _SCALARS:
        pick(name, kind, values, name)
    for name, _ in _SWITCHES:
        pick(name, _parse_bool, values, name)
    for section, entries in _SECTIONS:
        for name, _ in entries:
            pick(f"{section}_{name}", int, tables[section], name)
    for name, _ in _LIMITS:
        pick(name, int, tables["limits"], name)
    for name, _, _ in _LISTS:
        listed: Sequence[str] | None = getattr(args, name, None)
        if listed:
            values[name] = tuple(listed)
        elif environ.get(_env_name(name), "").strip():
            values[name] = tuple(
                x.strip() for x in environ[_env_name(name)].split(",") if x.strip()
            )
    for model_kind in ("word", "sentence"):
        flags: Sequence[str] | None = getattr(args, f"{model_kind}_model", None)
        env_name = _env_name(f"{model_kind}_models")
        if flags:
            values[f"{model_kind}_models"] = tuple(
                parse_model(x, f"--{model_kind}-model") for x in flags
            )
        elif environ.get(env_name, "").strip():
            values[f"{model_kind}_models"] = tuple(
                parse_model(x.strip(), env_name) for x in environ[env_name].split(",") if x.strip()
            )
    settings = Settings(**values)
    settings = replace(
        settings,
        **{table: replace(getattr(settings, table), **tables[table]) for table in _TABLES},
    )
    _validate(settings)
    return settings


# -- the TOML file -----------------------------------------------------------------------


def _check_type(where: str, value: Any, kind: type) -> None:
    accepted = (int, float) if kind is float else kind  # a TOML 10 is a fine grace
    ok = isinstance(value, accepted) and (kind is bool or not isinstance(value, bool))
    if not ok:
        expected = {
            int: "an integer",
            float: "a number",
            bool: "true or false",
            str: "a string",
        }[kind]
        raise ConfigError(f"{where}: expected {expected}, got {value!r}")


_TOML_TYPES: dict[str, type] = {
    **{
        name: str
        for name in (
            "host",
            "device",
            "log_level",
            "cache_dir",
            "data_dir",
            "api_key_file",
            "tls_cert",
            "tls_key",
            "tls_client_ca",
            "log_format",
            "collections_backend",
            "milvus_uri",
            "milvus_token",
        )
    },
    **{
        name: int
        for name in (
            "port",
            "workers",
            "max_message_mb",
            "torch_threads",
            "max_concurrent_rpcs",
            "metrics_port",
            "http_port",
        )
    },
    "grace": float,
    **{name: bool for name, _ in _SWITCHES},
}
_MODEL_TYPES: dict[str, type] = {
    "name": str,
    "path": str,
    "format": str,
    "default": bool,
    "limit": int,
}


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    section = data.pop(key, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{key}: expected a table [{key}] in {path}")
    return section


def _models(entries: Any, where: str, base: Path) -> tuple[ModelSpec, ...]:
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: expected a list of tables [[{where}]]")
    specs = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict) or "name" not in entry or "path" not in entry:
            raise ConfigError(f"{at}: needs name and path")
        unknown = set(entry) - set(_MODEL_TYPES)
        if unknown:
            raise ConfigError(
                f"{at}: unknown keys {sorted(unknown)} (known: {', '.join(_MODEL_TYPES)})"
            )
        for key, value in entry.items():
            _check_type(f"{at}.{key}", value, _MODEL_TYPES[key])
        path = _path(entry["path"])
        specs.append(ModelSpec(**{**entry, "path": str(base / path)}))
    return tuple(specs)


_DIRECTION_KEYS = ("name", "space", "description", "pairs", "method", "from", "to", "vector")


def _directions(entries: Any) -> tuple[DirectionConfig, ...]:
    """[[directions]] tables: name, space (default: the default word model), description,
    and pairs = [["man", "woman"], ...] with method = "pca" | "mean_difference", or
    from = [...] and to = [...], or vector = [...]. A term is a string (a key; a text in
    a sentence model) or a table {key = ...}, {text = ...}, {vector = [...]}."""
    # Here, not at the top: directions need numpy, and `latentd --help` reads this module.
    from latentd.core.direction_book import NAME as DIRECTION_NAME
    from latentd.core.direction_book import spec_from_json

    if not isinstance(entries, list):
        raise ConfigError("directions: expected a list of tables [[directions]]")
    found: list[DirectionConfig] = []
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(entries):
        at = f"directions[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"{at}: needs a name")
        at = f"{at} ({entry['name']})"
        unknown = set(entry) - set(_DIRECTION_KEYS)
        if unknown:
            raise ConfigError(
                f"{at}: unknown keys {sorted(unknown)} (known: {', '.join(_DIRECTION_KEYS)})"
            )
        if not DIRECTION_NAME.fullmatch(entry["name"]):
            raise ConfigError(f"{at}: a name is 1 to 64 of A-Z a-z 0-9 _ . - (not first . or -)")
        for key in ("space", "description"):
            if key in entry:
                _check_type(f"{at}.{key}", entry[key], str)
        try:
            definition = spec_from_json(entry)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{at}: {exc}") from None
        named = (entry.get("space", ""), entry["name"])
        if named in seen:
            raise ConfigError(f"{at}: a second direction of that name for that space")
        seen.add(named)
        found.append(
            DirectionConfig(
                entry["name"], entry.get("space", ""), definition, entry.get("description", "")
            )
        )
    return tuple(found)


def _from_toml(path: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config: cannot read {path}: {exc}") from exc
    base = path.parent
    tables = {table: _table(data, table, path) for table in _TABLES}
    known = {f.name for f in fields(Settings)} - set(_TABLES)
    unknown = set(data) - known
    if unknown:
        raise ConfigError(
            f"config: unknown settings {sorted(unknown)} in {path} (known: "
            f"{', '.join(sorted(known | set(_TABLES)))})"
        )
    for key, value in data.items():
        if key in _TOML_TYPES:
            _check_type(key, value, _TOML_TYPES[key])
    for key in ("word_models", "sentence_models"):
        if key in data:
            data[key] = _models(data[key], key, base)
    if "directions" in data:
        data["directions"] = _directions(data["directions"])
    for name, _, _ in _LISTS:
        if name in data:
            keys = data[name]
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ConfigError(f"{name}: expected a list of strings")
            data[name] = tuple(keys)
    if "grace" in data:
        data["grace"] = float(data["grace"])
    for name in ("cache_dir", "data_dir", "api_key_file", "tls_cert", "tls_key", "tls_client_ca"):
        if name in data:
            data[name] = base / _path(data[name])
    for where, section in tables.items():
        names = {f.name for f in fields(_TABLES[where])}
        bad = set(section) - names
        if bad:
            raise ConfigError(
                f"{where}: unknown settings {sorted(bad)} in {path} (known: "
                f"{', '.join(sorted(names))})"
            )
        for key, value in section.items():
            _check_type(f"{where}.{key}", value, int)
    return data, tables


# -- validation --------------------------------------------------------------------------


def _validate(s: Settings) -> None:
    if not s.host.strip():
        raise ConfigError("host: must not be empty")
    if not 0 <= s.port <= 65535:
        raise ConfigError(f"port: must be between 0 and 65535, got {s.port}")
    if s.torch_threads < 0:
        raise ConfigError(
            f"torch_threads: must be 0 (torch's default) or more, got {s.torch_threads}"
        )
    if s.workers < 1:
        raise ConfigError(f"workers: must be at least 1, got {s.workers}")
    if s.log_level.lower() not in LOG_LEVELS:
        raise ConfigError(f"log_level: must be one of {', '.join(LOG_LEVELS)}, got {s.log_level!r}")
    if not 1 <= s.max_message_mb <= MAX_MESSAGE_MB:
        raise ConfigError(
            f"max_message_mb: must be between 1 and {MAX_MESSAGE_MB}, got {s.max_message_mb}"
        )
    if s.log_format not in LOG_FORMATS:
        raise ConfigError(f"log_format: must be text or json, got {s.log_format!r}")
    if s.max_concurrent_rpcs < 0:
        raise ConfigError(
            f"max_concurrent_rpcs: must be 0 (--workers) or more, got {s.max_concurrent_rpcs}"
        )
    if not 0 <= s.grace <= 3600:
        raise ConfigError(f"grace: must be between 0 and 3600 seconds, got {s.grace}")
    if s.metrics_port is not None and not 0 <= s.metrics_port <= 65535:
        raise ConfigError(f"metrics_port: must be between 0 and 65535, got {s.metrics_port}")
    if s.metrics_port and s.metrics_port == s.port:
        raise ConfigError(f"metrics_port: {s.metrics_port} is --port too; choose another")
    if s.http_port is not None and not 0 <= s.http_port <= 65535:
        raise ConfigError(f"http_port: must be between 0 and 65535, got {s.http_port}")
    if s.http_port and s.http_port in (s.port, s.metrics_port):
        which = "--port" if s.http_port == s.port else "--metrics-port"
        raise ConfigError(f"http_port: {s.http_port} is {which} too; choose another")
    if s.collections_backend not in ("embedded", "milvus"):
        raise ConfigError(
            f"collections_backend: must be embedded or milvus, got {s.collections_backend!r}"
        )
    if (s.tls_cert is None) != (s.tls_key is None):
        raise ConfigError("tls_cert: --tls-cert and --tls-key go together")
    if s.tls_client_ca is not None and s.tls_cert is None:
        raise ConfigError("tls_client_ca: mutual TLS needs --tls-cert and --tls-key too")
    for name in ("api_keys", "read_only_api_keys"):
        for key in getattr(s, name):
            if not key.strip() or any(c.isspace() or not c.isprintable() for c in key):
                raise ConfigError(f"{name}: a key is printable characters without spaces")
    for f in fields(Limits):
        value = getattr(s.limits, f.name)
        if value < 1:
            raise ConfigError(f"{f.name}: must be at least 1, got {value}")
    for name in ("max_size", "queue"):
        if getattr(s.batch, name) < 1:
            raise ConfigError(f"batch_{name}: must be at least 1, got {getattr(s.batch, name)}")
    for name in ("max_tokens", "max_wait_ms"):
        if getattr(s.batch, name) < 0:
            raise ConfigError(f"batch_{name}: must be 0 or more, got {getattr(s.batch, name)}")
    if s.hnsw.m < 2:
        raise ConfigError(f"hnsw_m: must be at least 2, got {s.hnsw.m}")
    for name in ("ef_construction", "ef"):
        if getattr(s.hnsw, name) < 1:
            raise ConfigError(f"hnsw_{name}: must be at least 1, got {getattr(s.hnsw, name)}")
    if s.hnsw.build_threads < 0:
        raise ConfigError(
            f"hnsw_build_threads: must be 0 (all cores) or more, got {s.hnsw.build_threads}"
        )
    for kind, specs in (("word_models", s.word_models), ("sentence_models", s.sentence_models)):
        for spec in specs:
            where = f"{kind}: {spec.name!r}"
            if not MODEL_NAME.fullmatch(spec.name):
                raise ConfigError(
                    f"{where}: a name is letters, digits, '.', '_', '+' and "
                    "'-', starting with a letter or digit (at most 128)"
                )
            if not spec.path:
                raise ConfigError(f"{where}: path is empty")
            if spec.limit < 0:
                raise ConfigError(f"{where}: limit must be 0 (all) or more, got {spec.limit}")
            if kind == "word_models" and spec.format and spec.format not in FORMATS:
                raise ConfigError(
                    f"{where}: unknown format {spec.format!r} (known: {', '.join(FORMATS)})"
                )
            if kind == "sentence_models" and (spec.format or spec.limit):
                raise ConfigError(f"{where}: format and limit apply to word models only")
        defaults = [spec.name for spec in specs if spec.default]
        if len(defaults) > 1:
            raise ConfigError(f"{kind}: more than one default: {defaults}")
    names = [m.name for m in s.word_models + s.sentence_models]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(f"models: names used twice: {sorted(duplicates)}")
