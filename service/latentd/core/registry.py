"""The spaces a server answers for, by name, with one default of each kind.

A registry made for a starting server is `loading` until `ready()`: every lookup then
raises NotReady, so the server can listen (and say NOT_SERVING) while models load."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from latentd.core.direction_book import DirectionBook
from latentd.core.errors import NotFound, NotReady, shown
from latentd.core.space import Space

if TYPE_CHECKING:
    from latentd.core.collections import Collections

LOADING_MESSAGE = "latentd is loading models; try again in a few seconds"


class Registry:
    def __init__(self, loading: bool = False) -> None:
        self._spaces: dict[str, Space] = {}
        self._defaults: dict[str, str] = {}
        self._loading = loading
        # The server's collections: spaces too, found by name after the models.
        self.collections: Collections | None = None
        # Saved directions by space; kept in memory only unless the server names a data
        # directory (build_registry does), where saving then fails with a clear error.
        self.directions = DirectionBook(None)

    @property
    def loading(self) -> bool:
        return self._loading

    def ready(self) -> None:
        """Every model is loaded: lookups answer from now on."""
        self._loading = False

    def add(self, space: Space, default: bool = False) -> None:
        if space.name in self._spaces:
            raise ValueError(f"two models are named {space.name!r}")
        self._spaces[space.name] = space
        if default or space.kind not in self._defaults:
            self._defaults[space.kind] = space.name

    def close(self) -> None:
        """At shutdown, once no call runs: flush the collections (snapshots, so the next
        start replays little), then stop the models' threads (a sentence model's thread
        still inside torch when the interpreter exits aborts the process)."""
        if self.collections is not None:
            self.collections.close()
        for space in self._spaces.values():
            close = getattr(space, "close", None)  # sentence models own a thread
            if callable(close):
                close()

    def spaces(self) -> list[Space]:
        """Every space, in the order they were added."""
        self._check_ready()
        return list(self._spaces.values())

    def __iter__(self) -> Iterator[Space]:
        return iter(self.spaces())

    def __len__(self) -> int:
        return len(self._spaces)

    def is_default(self, space: Space) -> bool:
        return self._defaults.get(space.kind) == space.name

    def get(self, name: str, default_kind: str = "word", field: str = "space") -> Space:
        """The named space; an empty name means the default of `default_kind`."""
        self._check_ready()
        if not name:
            name = self._defaults.get(default_kind, "")
            if not name:
                raise NotFound(
                    f"{field}: no {default_kind} model is loaded; name one of: "
                    f"{', '.join(self._spaces) or 'none'}"
                )
        space: Space | None = self._spaces.get(name)
        if space is None and self.collections is not None:
            space = self.collections.find(name)
        if space is None:
            raise NotFound(
                f"{field}: unknown model {shown(name)}; known: "
                f"{', '.join(sorted(self._spaces)) or 'none'}"
            )
        return space

    def model(self, name: str) -> Space:
        """A loaded model by name, also while loading (collections open before ready)."""
        space = self._spaces.get(name)
        if space is None:
            known = ", ".join(sorted(self._spaces)) or "none"
            raise NotFound(f"model: unknown model {shown(name)}; known: {known}")
        return space

    def collections_or_fail(self) -> Collections:
        """The collections, once the server is ready."""
        self._check_ready()
        if self.collections is None:
            raise NotFound("collections are not enabled on this server")
        return self.collections

    def check_ready(self) -> None:
        """NotReady while the server loads."""
        self._check_ready()

    def _check_ready(self) -> None:
        if self._loading:
            raise NotReady(LOADING_MESSAGE)
