"""The spaces a server answers for, by name, with one default of each kind."""

from __future__ import annotations

from latentd.core.errors import NotFound
from latentd.core.sentence_model import SentenceModel
from latentd.core.word_space import WordSpace

Space = WordSpace | SentenceModel


class Registry:
    def __init__(self) -> None:
        self._spaces: dict[str, Space] = {}
        self._defaults: dict[str, str] = {}

    def add(self, space: Space, default: bool = False) -> None:
        if space.name in self._spaces:
            raise ValueError(f"two models are named {space.name!r}")
        self._spaces[space.name] = space
        if default or space.kind not in self._defaults:
            self._defaults[space.kind] = space.name

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._spaces.values())

    def __len__(self) -> int:
        return len(self._spaces)

    def is_default(self, space: Space) -> bool:
        return self._defaults.get(space.kind) == space.name

    def get(self, name: str, default_kind: str = "word", field: str = "space") -> Space:
        """The named space; an empty name means the default of `default_kind`."""
        if not name:
            name = self._defaults.get(default_kind, "")
            if not name:
                raise NotFound(f"{field}: no {default_kind} model is loaded; name one of: "
                               f"{', '.join(self._spaces) or 'none'}")
        space = self._spaces.get(name)
        if space is None:
            raise NotFound(f"{field}: unknown model {name!r}; known: "
                           f"{', '.join(sorted(self._spaces)) or 'none'}")
        return space
