"""A real server in this process, on a free port, for tests and examples."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from latentd.app import default_sentence_dir
from latentd.config import DEFAULT_SENTENCE_MODEL, Settings
from latentd.core.index import HnswParams
from latentd.core.registry import Registry
from latentd.core.word_space import WordSpace


@contextmanager
def start_test_server(
    kv: Any,
    cache_dir: Path | None = None,
    *,
    name: str = "tiny",
    sentence_model: bool = True,
    settings: Settings | None = None,
) -> Iterator[str]:
    """Serve gensim KeyedVectors `kv` as the word space `name` (HNSW index built before the
    server starts) and, unless told otherwise, the default sentence model. Yields the
    target "127.0.0.1:PORT"."""
    from latentd.api.server import create_server
    from latentd.core.sentence_model import SentenceModel

    settings = settings or Settings()
    registry = Registry()
    space = WordSpace(name, list(kv.index_to_key), kv.vectors, source="test")
    space.start_index(HnswParams(m=16, ef_construction=100, ef=64), cache_dir,
                      background=False)
    registry.add(space, default=True)
    if sentence_model:
        registry.add(SentenceModel(DEFAULT_SENTENCE_MODEL, default_sentence_dir()),
                     default=True)
    running = create_server(registry, host="127.0.0.1", port=0, workers=8,
                            max_message_bytes=settings.max_message_mb * 1024 * 1024,
                            limits=settings.limits)
    try:
        yield f"127.0.0.1:{running.port}"
    finally:
        running.stop(grace=None)
