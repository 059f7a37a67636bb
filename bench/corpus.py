"""A real English corpus from this machine's package registry: the Debian package
descriptions apt knows after `apt-get update`.

`apt-cache dumpavail` prints one RFC822-style stanza per package (name, section,
priority, sizes and the one-line synopsis). Since Debian moved long descriptions out of
the Packages index, the long description lives in the same mirror's
`i18n/Translation-en` index, which apt fetches when `Acquire::Languages` includes `en`
(Docker images often set it to "none"); `apt-get update -o Acquire::Languages=en` fetches
it from the same registry, and it is read with `apt-helper cat-file` (apt's own
decompression). Each package is joined to its long description by (name,
Description-md5); without the translation index a document is its synopsis only.

A document: id = Package (the first stanza of a name wins), text = the synopsis (a full
stop added) and the long description (paragraph dots dropped, whitespace collapsed, cut
at a word boundary under 1,000 characters), metadata = {"section", "priority", "size"}
(size: Installed-Size in KiB, else Size in bytes / 1024). The documents are written in a
seeded random order (so that any prefix is a uniform sample of the archive) to
bench/out/debian-packages.jsonl (git-ignored) and reused from there.

    .venv/bin/python bench/corpus.py [--refresh] [--no-update]
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
CORPUS_PATH = OUT_DIR / "debian-packages.jsonl"
APT_LISTS = Path("/var/lib/apt/lists")
MAX_CHARS = 1000
SHUFFLE_SEED = 20240601
APT_LANG = ("-o", "Acquire::Languages=en")


# ---------------------------------------------------------------------------
# RFC822-style stanzas


def parse_stanzas(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """Each stanza as {field: value}; continuation lines (leading space or tab) are
    appended to the field's value after a newline, as they are (the leading space kept)."""
    stanza: dict[str, str] = {}
    last = ""
    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            if stanza:
                yield stanza
            stanza, last = {}, ""
        elif line[0] in " \t":
            if last:
                stanza[last] += "\n" + line
        else:
            name, _, value = line.partition(":")
            last = name.strip()
            stanza[last] = value.strip()
    if stanza:
        yield stanza


def long_description_text(value: str, max_chars: int = MAX_CHARS) -> str:
    """Synopsis + long description as one line of prose: the ' .' paragraph separators
    dropped, whitespace collapsed, cut at the last word boundary within max_chars."""
    synopsis, _, rest = value.partition("\n")
    synopsis = synopsis.strip()
    parts = [synopsis + ("." if rest.strip() and synopsis[-1:] not in ".!?:" else "")]
    for line in rest.splitlines():
        stripped = line.strip()
        if stripped and stripped != ".":
            parts.append(stripped)
    text = re.sub(r"\s+", " ", " ".join(parts)).strip()
    if len(text) > max_chars:
        cut = text[:max_chars]
        space = cut.rfind(" ")
        text = (cut[:space] if space > max_chars // 2 else cut).rstrip(" ,;:")
    return text


def package_size(stanza: dict[str, str]) -> int:
    """Installed-Size (KiB), else the .deb's Size in KiB; 0 when neither is a number."""
    for name, divisor in (("Installed-Size", 1), ("Size", 1024)):
        value = stanza.get(name, "")
        if value.isdigit():
            return int(value) // divisor
    return 0


# ---------------------------------------------------------------------------
# apt


def run_apt_update() -> None:
    print("running apt-get update -o Acquire::Languages=en ...", flush=True)
    subprocess.run(["apt-get", "update", *APT_LANG], check=True, stdout=subprocess.DEVNULL)


def translation_files() -> list[Path]:
    return sorted(Path(p) for p in glob.glob(str(APT_LISTS / "*_i18n_Translation-en*")))


def read_apt_file(path: Path) -> str:
    """A file of /var/lib/apt/lists, decompressed by apt itself."""
    return subprocess.run(
        ["/usr/lib/apt/apt-helper", "cat-file", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def long_descriptions() -> dict[tuple[str, str], str]:
    """(Package, Description-md5) -> Description-en, from every Translation-en index."""
    found: dict[tuple[str, str], str] = {}
    for path in translation_files():
        for stanza in parse_stanzas(read_apt_file(path).splitlines()):
            key = (stanza.get("Package", ""), stanza.get("Description-md5", ""))
            if key[0] and "Description-en" in stanza:
                found.setdefault(key, stanza["Description-en"])
    return found


def dumpavail() -> str:
    return subprocess.run(
        ["apt-cache", *APT_LANG, "dumpavail"], check=True, capture_output=True, text=True
    ).stdout


def build_documents(update: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every package of `apt-cache dumpavail` as a document (first stanza of a name
    wins), and a summary of how they were made."""
    if update and (not translation_files() or not any(APT_LISTS.glob("*_Packages*"))):
        run_apt_update()
    translations = long_descriptions()
    documents: list[dict[str, Any]] = []
    seen: set[str] = set()
    stanzas = with_long = 0
    for stanza in parse_stanzas(dumpavail().splitlines()):
        stanzas += 1
        name = stanza.get("Package", "")
        if not name or name in seen:
            continue
        seen.add(name)
        description = stanza.get("Description", "")
        if "\n" not in description:  # the Packages index holds only the synopsis
            full = translations.get((name, stanza.get("Description-md5", "")))
            if full is not None:
                description = full
        with_long += "\n" in description
        text = long_description_text(description)
        if not text:
            continue
        documents.append(
            {
                "id": name,
                "text": text,
                "metadata": {
                    "section": stanza.get("Section", ""),
                    "priority": stanza.get("Priority", ""),
                    "size": package_size(stanza),
                },
            }
        )
    random.Random(SHUFFLE_SEED).shuffle(documents)
    summary = {
        "stanzas": stanzas,
        "documents": len(documents),
        "with_long_description": with_long,
        "translation_files": [p.name for p in translation_files()],
        "max_chars": MAX_CHARS,
        "shuffle_seed": SHUFFLE_SEED,
    }
    return documents, summary


def write_corpus(path: Path = CORPUS_PATH, update: bool = True) -> dict[str, Any]:
    start = time.perf_counter()
    documents, summary = build_documents(update)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for doc in documents:
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    tmp.replace(path)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    path.with_suffix(".summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def load_corpus(n: int | None = None, path: Path = CORPUS_PATH) -> list[dict[str, Any]]:
    """The first n documents of the corpus (all when None), built first if missing.
    ValueError when the corpus holds fewer than n."""
    if not path.exists():
        write_corpus(path)
    documents: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if n is not None and len(documents) >= n:
                break
            documents.append(json.loads(line))
    if n is not None and len(documents) < n:
        raise ValueError(f"{path} holds {len(documents):,} documents, fewer than {n:,}")
    return documents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", action="store_true", help="rebuild even if cached")
    parser.add_argument("--no-update", action="store_true", help="never run apt-get update")
    args = parser.parse_args(argv)
    if args.refresh or not CORPUS_PATH.exists():
        summary = write_corpus(update=not args.no_update)
        print(json.dumps(summary, indent=2))
    docs = load_corpus()
    sections: dict[str, int] = {}
    for doc in docs:
        sections[doc["metadata"]["section"]] = sections.get(doc["metadata"]["section"], 0) + 1
    lengths = sorted(len(d["text"]) for d in docs)
    print(f"{CORPUS_PATH}: {len(docs):,} documents, {len(sections)} sections")
    print(
        f"text length: median {lengths[len(lengths) // 2]}, "
        f"mean {sum(lengths) / len(lengths):.0f}, max {lengths[-1]} characters"
    )
    top = sorted(sections.items(), key=lambda kv: -kv[1])[:12]
    print("largest sections: " + ", ".join(f"{s} {c:,}" for s, c in top))
    return 0 if len(docs) >= 10_000 else 1


if __name__ == "__main__":
    sys.exit(main())
