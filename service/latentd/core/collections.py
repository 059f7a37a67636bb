"""The collections of a server, opened at start, created and deleted by request: the
embedded ones one directory each under the data directory, the Milvus ones in the Milvus
of --milvus-uri (by default a Milvus Lite file under the data directory). Above this
module nothing knows which backend holds a collection."""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentd.core.collection import (
    DATABASE,
    STAGING_PREFIX,
    TRASH_PREFIX,
    Collection,
    read_settings,
)
from latentd.core.collection_backends import (
    BACKENDS,
    EMBEDDED,
    MILVUS,
    MILVUS_LITE_FILE,
    MilvusParams,
)
from latentd.core.database_check import check_database, damaged
from latentd.core.documents import CollectionInfo, CollectionSettings, Metric
from latentd.core.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    invalid,
    shown,
)
from latentd.core.hnsw_params import HnswParams
from latentd.core.space import Space

if TYPE_CHECKING:
    from latentd.core.milvus_collection import MilvusCollection

    AnyCollection = Collection | MilvusCollection

log = logging.getLogger(__name__)

# A name is a directory name: never a path, never hidden, never "." or "..".
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
MAX_DIMENSION = 65_536


class Collections:
    def __init__(
        self,
        data_dir: Path,
        sentence_model: Callable[[str], Space],
        hnsw: HnswParams | None = None,
        *,
        backend: str = EMBEDDED,
        milvus: MilvusParams | None = None,
    ) -> None:
        """`sentence_model(name)` returns a loaded sentence model or raises NotFound.
        `backend`: where new collections go unless a create names one."""
        self.data_dir = Path(data_dir)
        self._sentence_model = sentence_model
        self._hnsw = hnsw or HnswParams()
        self.backend = backend
        self._milvus_params = milvus or MilvusParams()
        self._milvus: Any = None  # the MilvusClient, made when first needed
        self._open: dict[str, AnyCollection] = {}
        self._lock = threading.Lock()  # guards the set of collections, not their contents
        # Called with a deleted collection's name: what belongs to it elsewhere goes too
        # (its saved directions), so a new collection of that name starts clean.
        self.on_delete: Callable[[str], None] | None = None

    def open_all(self) -> None:
        """Open every collection under the data directory (after the models are loaded)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for directory in sorted(self.data_dir.iterdir()):
            if directory.is_dir() and directory.name.startswith((STAGING_PREFIX, TRASH_PREFIX)):
                # A create or a delete that a crash cut short: never acknowledged, or
                # acknowledged as gone.
                shutil.rmtree(directory, ignore_errors=True)
                continue
            if not directory.is_dir() or not NAME.fullmatch(directory.name):
                continue
            collection = self._open_checked(directory)
            self._open[collection.name] = collection
        if self._uses_milvus():
            from latentd.core.milvus_collection import open_all

            for milvus_collection in open_all(
                self._milvus_client(), self._sentence_model, self.milvus_uri
            ):
                if milvus_collection.name in self._open:
                    raise FailedPrecondition(
                        f"collection {milvus_collection.name!r} is both in the data directory "
                        f"and in Milvus ({self.milvus_uri}); rename or delete one"
                    )
                self._open[milvus_collection.name] = milvus_collection

    @property
    def milvus_uri(self) -> str:
        uri = self._milvus_params.uri
        if not uri:
            return str(self.data_dir / MILVUS_LITE_FILE)
        if "://" in uri:
            return uri
        return str(Path(uri).expanduser())  # a Milvus Lite file

    def _uses_milvus(self) -> bool:
        """Whether the server keeps collections in Milvus: it is the default backend, a
        URI was given, or an earlier start made collections in the Milvus Lite file."""
        return (
            self.backend == MILVUS
            or bool(self._milvus_params.uri)
            or (self.data_dir / MILVUS_LITE_FILE).exists()
        )

    def _milvus_client(self) -> Any:
        if self._milvus is None:
            from latentd.core.milvus_store import connect

            self._milvus = connect(self.milvus_uri, self._milvus_params.token)
        return self._milvus

    def _open_checked(self, directory: Path) -> Collection:
        """A collection whose file passed SQLite's integrity check; DataLoss, naming the
        file, when it is damaged (core/database_check.py says why that stops the start)."""
        path = directory / DATABASE
        check_database(path)
        try:
            settings = read_settings(directory)
        except InvalidArgument as exc:
            raise damaged(path, str(exc)) from None
        model = self._sentence_model(settings.model) if settings.model else None
        try:
            return Collection(directory, settings, model)
        except sqlite3.DatabaseError as exc:
            raise damaged(path, str(exc)) from None
        except ValueError as exc:  # a row whose vector or metadata cannot be read
            raise damaged(path, f"a document cannot be read: {exc}") from None

    def create(
        self,
        name: str,
        *,
        model: str = "",
        dimension: int = 0,
        metric: Metric = Metric.COSINE,
        m: int | None = None,
        ef_construction: int | None = None,
        exist_ok: bool = False,
        backend: str = "",
    ) -> CollectionInfo:
        backend = backend or self.backend
        if backend not in BACKENDS:
            raise invalid("backend", f"must be {' or '.join(BACKENDS)}, got {shown(backend)}")
        settings, encoder = self._settings(name, model, dimension, metric, m, ef_construction)
        settings = replace(settings, backend=backend)
        with self._lock:
            existing = self._open.get(name)
            if existing is not None:
                if existing.settings != settings:
                    raise AlreadyExists(
                        f"collection {name!r} exists with other settings: "
                        + _differences(existing.settings, settings)
                    )
                if not exist_ok:
                    raise AlreadyExists(
                        f"collection {name!r} exists (set exist_ok to accept "
                        "an existing one with the same settings)"
                    )
                return existing.info()
            self.data_dir.mkdir(parents=True, exist_ok=True)
            collection: AnyCollection
            if backend == MILVUS:
                from latentd.core.milvus_collection import MilvusCollection

                collection = MilvusCollection.create(
                    self._milvus_client(), settings, encoder, self.milvus_uri
                )
            else:
                collection = Collection.create(self.data_dir / name, settings, encoder)
            self._open[name] = collection
            log.info("collection %s created (%s)", name, settings)
            return collection.info()

    def get(self, name: str) -> AnyCollection:
        collection = self._open.get(name)
        if collection is None:
            known = ", ".join(sorted(self._open)) or "none"
            raise NotFound(f"collection: unknown collection {shown(name)}; known: {known}")
        return collection

    def find(self, name: str) -> AnyCollection | None:
        return self._open.get(name)

    def info(self, name: str) -> CollectionInfo:
        return self.get(name).info()

    def list(self) -> list[CollectionInfo]:
        return [c.info() for _, c in sorted(self._open.items())]

    def delete(self, name: str) -> None:
        with self._lock:
            collection = self.get(name)
            del self._open[name]
        collection.destroy()
        log.info("collection %s deleted", name)
        if self.on_delete is not None:
            self.on_delete(name)

    def close(self) -> None:
        for collection in list(self._open.values()):
            collection.close()
        if self._milvus is not None:
            try:
                self._milvus.close()
            except Exception as exc:  # the stop goes on; pymilvus may raise anything here
                log.warning("closing the Milvus client: %s", exc)

    def _settings(
        self,
        name: str,
        model: str,
        dimension: int,
        metric: Metric,
        m: int | None,
        ef_construction: int | None,
    ) -> tuple[CollectionSettings, Space | None]:
        if not NAME.fullmatch(name):
            raise invalid(
                "name",
                f"{shown(name)} is not a collection name: 1 to 64 of "
                "A-Z a-z 0-9 _ . -, not starting with . or -",
            )
        encoder = None
        if model:
            encoder = require_model(self._sentence_model(model))
            if dimension and dimension != encoder.dimension:
                raise invalid(
                    "dimension",
                    f"model {model!r} gives {encoder.dimension} "
                    f"dimensions, not {dimension} (leave it 0)",
                )
            dimension = encoder.dimension
        elif not 1 <= dimension <= MAX_DIMENSION:
            raise invalid(
                "dimension",
                f"a collection without a model needs the dimension of "
                f"its vectors, 1 to {MAX_DIMENSION}; got {dimension}",
            )
        m = self._hnsw.m if m is None else m
        ef_construction = self._hnsw.ef_construction if ef_construction is None else ef_construction
        if not 2 <= m <= 256:
            raise invalid("hnsw.m", f"must be between 2 and 256, got {m}")
        if not 1 <= ef_construction <= 10_000:
            raise invalid(
                "hnsw.ef_construction", f"must be between 1 and 10000, got {ef_construction}"
            )
        return CollectionSettings(name, model, dimension, metric, m, ef_construction), encoder


def _differences(old: CollectionSettings, new: CollectionSettings) -> str:
    fields = ("model", "dimension", "metric", "m", "ef_construction", "backend")
    return "; ".join(
        f"{f} is {getattr(old, f)!r}, not {getattr(new, f)!r}"
        for f in fields
        if getattr(old, f) != getattr(new, f)
    )


def require_model(space: Space) -> Space:
    if space.kind != "sentence":
        raise FailedPrecondition(
            f"model {space.name!r} is a {space.kind} model; a "
            "collection's model is a sentence model"
        )
    return space
