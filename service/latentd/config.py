"""Settings: defaults < TOML file (--config) < LATENT_* environment < flags.
One frozen object, built once at start."""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from latentd.core.index import HnswParams
from latentd.core.limits import Limits
from latentd.core.loaders import FORMATS

DEFAULT_WORD_MODEL = "glove-6b-50d"
DEFAULT_SENTENCE_MODEL = "all-minilm-l6-v2"


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


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 50051
    cache_dir: Path = field(default_factory=default_cache_dir)
    workers: int = 16
    device: str = "cpu"
    log_level: str = "info"
    default_models: bool = True
    allow_pickle: bool = False
    index: bool = True
    max_message_mb: int = 64
    word_models: tuple[ModelSpec, ...] = ()
    sentence_models: tuple[ModelSpec, ...] = ()
    hnsw: HnswParams = field(default_factory=HnswParams)
    limits: Limits = field(default_factory=Limits)


# name, type, help. Each is a flag --name-with-dashes and an env twin LATENT_NAME.
_SCALARS: list[tuple[str, Callable[[str], Any], str]] = [
    ("host", str, "address to listen on"),
    ("port", int, "port to listen on (0: any free port)"),
    ("cache_dir", Path, "where HNSW indexes are cached"),
    ("workers", int, "gRPC worker threads"),
    ("device", str, "torch device for sentence models (cpu, cuda, cuda:1, mps)"),
    ("log_level", str, "debug, info, warning or error"),
    ("max_message_mb", int, "largest gRPC message in MiB"),
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
_LIMITS: list[tuple[str, str]] = [(f.name, f"limit: {f.name.replace('_', ' ')}")
                                  for f in fields(Limits)]


def _env_name(name: str) -> str:
    return "LATENT_" + name.upper()


def _parse_bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


def parse_model(text: str, flag: str) -> ModelSpec:
    """NAME=PATH[:FORMAT]"""
    name, sep, rest = text.partition("=")
    if not sep or not name or not rest:
        raise ConfigError(f"{flag}: expected NAME=PATH[:FORMAT], got {text!r}")
    path, colon, fmt = rest.rpartition(":")
    if not colon or fmt not in FORMATS:
        path, fmt = rest, ""
    return ModelSpec(name=name, path=path, format=fmt)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML settings file (env LATENT_CONFIG)")
    for name, kind, help_text in _SCALARS:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind,
                            help=f"{help_text} (env {_env_name(name)})")
    for name, help_text in _SWITCHES:
        parser.add_argument("--" + name.replace("_", "-"), dest=name,
                            action=argparse.BooleanOptionalAction,
                            help=f"{help_text} (env {_env_name(name)})")
    for name, help_text in _HNSW:
        parser.add_argument("--hnsw-" + name.replace("_", "-"), dest="hnsw_" + name, type=int,
                            help=f"{help_text} (env {_env_name('hnsw_' + name)})")
    for name, help_text in _LIMITS:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=int,
                            help=f"{help_text} (env {_env_name(name)})")
    parser.add_argument("--word-model", dest="word_model", action="append", metavar="NAME=PATH",
                        help="load a word model: NAME=PATH[:FORMAT], repeatable "
                             "(env LATENT_WORD_MODELS, comma-separated)")
    parser.add_argument("--sentence-model", dest="sentence_model", action="append",
                        metavar="NAME=PATH", help="load a sentence-transformers directory, "
                        "repeatable (env LATENT_SENTENCE_MODELS, comma-separated)")


def _models(entries: Any, where: str) -> tuple[ModelSpec, ...]:
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: expected a list of tables")
    known = {f.name for f in fields(ModelSpec)}
    specs = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "name" not in entry or "path" not in entry:
            raise ConfigError(f"{where}[{i}]: needs name and path")
        unknown = set(entry) - known
        if unknown:
            raise ConfigError(f"{where}[{i}]: unknown keys {sorted(unknown)}")
        specs.append(ModelSpec(**entry))
    return tuple(specs)


def load_settings(args: argparse.Namespace | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    hnsw: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    config_path = getattr(args, "config", None) or environ.get("LATENT_CONFIG")
    if config_path:
        values, hnsw, limits = _from_toml(Path(config_path))

    def pick(name: str, kind: Callable[[str], Any], target: dict[str, Any], key: str) -> None:
        env = environ.get(_env_name(name))
        if env is not None and env != "":
            try:
                target[key] = kind(env)
            except ValueError as exc:
                raise ConfigError(f"{_env_name(name)}: {exc}") from exc
        flag = getattr(args, name, None) if args is not None else None
        if flag is not None:
            target[key] = flag

    for name, kind, _ in _SCALARS:
        pick(name, kind, values, name)
    for name, _ in _SWITCHES:
        pick(name, lambda v, n=name: _parse_bool(v, _env_name(n)), values, name)
    for name, _ in _HNSW:
        pick("hnsw_" + name, int, hnsw, name)
    for name, _ in _LIMITS:
        pick(name, int, limits, name)
    for kind in ("word", "sentence"):
        listed: Sequence[str] = getattr(args, f"{kind}_model", None) or [
            x for x in environ.get(_env_name(f"{kind}_models"), "").split(",") if x.strip()
        ]
        if listed:
            values[f"{kind}_models"] = values.get(f"{kind}_models", ()) + tuple(
                parse_model(x.strip(), f"--{kind}-model") for x in listed)
    settings = Settings(**values)
    settings = replace(settings, hnsw=replace(settings.hnsw, **hnsw),
                       limits=replace(settings.limits, **limits))
    _validate(settings)
    return settings


def _from_toml(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"--config {path}: {exc}") from exc
    hnsw = data.pop("hnsw", {})
    limits = data.pop("limits", {})
    known = {f.name for f in fields(Settings)} - {"hnsw", "limits"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"--config {path}: unknown settings {sorted(unknown)}")
    for key in ("word_models", "sentence_models"):
        if key in data:
            data[key] = _models(data[key], f"{path}: {key}")
    if "cache_dir" in data:
        data["cache_dir"] = Path(data["cache_dir"])
    for section, names, where in ((hnsw, {f.name for f in fields(HnswParams)}, "hnsw"),
                                  (limits, {f.name for f in fields(Limits)}, "limits")):
        bad = set(section) - names
        if bad:
            raise ConfigError(f"--config {path}: unknown [{where}] settings {sorted(bad)}")
    return data, hnsw, limits


def _validate(s: Settings) -> None:
    if not 0 <= s.port <= 65535:
        raise ConfigError(f"port: must be between 0 and 65535, got {s.port}")
    if s.workers < 1:
        raise ConfigError(f"workers: must be at least 1, got {s.workers}")
    for f in fields(Limits):
        if getattr(s.limits, f.name) < 1:
            raise ConfigError(f"{f.name}: must be at least 1")
    if s.hnsw.m < 2 or s.hnsw.ef_construction < 1 or s.hnsw.ef < 1:
        raise ConfigError("hnsw: m must be >= 2, ef and ef_construction >= 1")
    names = [m.name for m in s.word_models + s.sentence_models]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(f"models: names used twice: {sorted(duplicates)}")
