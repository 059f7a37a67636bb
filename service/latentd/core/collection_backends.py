"""Where a collection's documents are kept: the settings of the two backends, plain
values (the settings module reads them without loading numpy)."""

from __future__ import annotations

from dataclasses import dataclass

EMBEDDED = "embedded"  # SQLite + hnswlib under the data directory (core/collection.py)
MILVUS = "milvus"  # a Milvus Lite file or a Milvus server (core/milvus_collection.py)
BACKENDS = (EMBEDDED, MILVUS)
# The Milvus Lite database under the data directory when no --milvus-uri is given (a
# directory; its leading dot keeps it apart from collections' directories).
MILVUS_LITE_FILE = ".milvus-lite.db"


@dataclass(frozen=True)
class MilvusParams:
    uri: str = ""  # "": a Milvus Lite file under the data directory; or http://host:19530
    token: str = ""  # "user:password" or an API key, for a server that needs one
