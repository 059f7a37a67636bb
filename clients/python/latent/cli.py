"""The ``latent`` command: analogies, neighbours and embeddings from a shell.

    latent analogy king - man + woman
    latent nearest frog
    latent interpolate cat dog --steps 5 --path slerp
    latent similarity "a cat sat" "a kitten rested" --space all-minilm-l6-v2
    latent doesnt-match breakfast cereal dinner lunch
    latent encode "a sentence" --model all-minilm-l6-v2
    latent models
    latent direction man:woman he:she king:queen --top 10 --save gender
    latent project --direction man:woman,he:she nurse engineer
    latent navigate king --direction gender --steps 4
    latent nearest doctor --remove gender
    latent weat --targets career.txt family.txt --attributes male.txt female.txt
    latent components cat dog car truck apple banana -n 2
    latent collection create docs --model all-minilm-l6-v2
    latent import docs articles.jsonl
    latent search docs "cheap flights to lisbon" -k 5 --filter 'lang=en' --filter 'year>=2020'
    latent collection list

Each shell argument is one term, in every subcommand (``--text`` sends terms as free
text); the one exception is an argument of ``analogy`` holding a whole expression with
standalone operators, ``"king - man + woman"``.

Output is a small aligned table, or JSON with ``--json``. A failure is one line on
stderr; the exit status is 0 on success, 1 when latentd failed or could not be reached,
2 for bad arguments (the subcommand's usage line, then one error line).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from latent._channel import DEFAULT_TARGET, DEFAULT_TIMEOUT
from latent._cli_security import add_security_options, client_options, connection_hint, in_flags
from latent._records import FORMATS, Fields, RecordError, read_documents, scalar
from latent.errors import DeadlineExceeded, LatentError, NotFound, ServerUnreachable, Unavailable
from latent.types import (
    CallInfo,
    CollectionInfo,
    DirectionMethod,
    Neighbor,
    Pairs,
    Poles,
    ProjectResult,
    ResolvedTerm,
    Text,
)

if TYPE_CHECKING:
    from latent.client import Client

PROG = "latent"
TARGET_ENV = "LATENT_TARGET"

# The command's own -k for interpolate, not the server's: one line a point stays readable.
INTERPOLATE_K = 5

# Exit statuses.
EXIT_OK = 0
EXIT_FAILED = 1  # latentd answered with an error, or could not be reached in time
EXIT_USAGE = 2  # bad arguments (argparse's own status too)

# A standalone + or - (spaces or the ends of the argument on both sides).
_OPERATOR = re.compile(r"(?<!\S)([+-])(?!\S)")

# How latentd's UNAVAILABLE message starts while it loads its models.
_LOADING = "latentd is loading models"

# Server messages name API fields; the command names its flags instead. Leading field
# names ("k: must be between 1 and 1000, got 0") and a few hints inside messages.
_FIELD_FLAGS = {
    "k": "-k",
    "options.ef": "--ef",
    "options.restrict": "--restrict",
    "steps": "--steps",
    "dimensions": "--dimensions",
    "prompt_name": "--prompt-name",
    "dimension": "--dimension",
    "model": "--model",
    "name": "NAME",
    "hnsw.m": "--hnsw-m",
    "hnsw.ef_construction": "--ef-construction",
    "score_threshold": "--score-threshold",
    "documents": "--batch-size",  # "documents: at most N in one request"
    "top": "--top",
    "restrict": "--restrict",
    "step": "--step",
    "target": "--until",
    "permutations": "--permutations",
    "n": "-n",
    "description": "--description",
    "targets_x": "--targets",
    "targets_y": "--targets",
    "attributes_a": "--attributes",
    "attributes_b": "--attributes",
}
# Fields inside a direction: "options.remove[0].name", "direction.pairs[1].b".
_REMOVE_FIELD = re.compile(r"(?:options\.)?remove\[\d+\](?:\.\S+)?")
_DIRECTION_FIELD = re.compile(r"direction(?:\.\S+)?")
_DEFINITION_FIELD = re.compile(
    r"direction\.(?:pairs\[(?P<pair>\d+)\]|poles\.(?P<pole>from|to)_terms\[\d+\])\S*"
)
_HINT_FLAGS = (
    ("set truncate", "pass --truncate"),
    ("send it as text", "pass it with --text"),
    ("send the text as `text`", "pass --text"),
)


class UsageError(Exception):
    """Arguments that parse but make no sense (e.g. a dangling operator)."""


# ---------------------------------------------------------------------------
# Arguments


class _Parser(argparse.ArgumentParser):
    """argparse with error lines that name the option, not argparse's internals."""

    commands: dict[str, argparse.ArgumentParser]  # subcommand name -> its parser

    def error(self, message: str) -> NoReturn:
        # "argument -k: …" -> "-k: …"; usage first, then one line, status 2.
        message = re.sub(r"^argument ", "", message)
        message = re.sub(r"^COMMAND: invalid choice: ", "unknown command ", message)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


# How a direction is written on the command line (--direction, --remove).
SPEC = "a:b pairs separated by commas (man:woman,he:she), or a saved direction's name"
# A saved direction's name, as latentd takes it.
_DIRECTION_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _build_parser() -> _Parser:
    # Option groups shared through parents=: _Parser too, as add_parser expects its own class.
    # Shared options default to SUPPRESS so that they may come before or after the
    # subcommand without the subparser's default overwriting the main parser's value.
    common = _Parser(add_help=False)
    conn = common.add_argument_group("connection and output")
    conn.add_argument(
        "--target",
        metavar="HOST:PORT",
        default=argparse.SUPPRESS,
        help=f"latentd address (env {TARGET_ENV}; default {DEFAULT_TARGET})",
    )
    conn.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        default=argparse.SUPPRESS,
        help=f"deadline of the call, a positive number of seconds (default {DEFAULT_TIMEOUT:g})",
    )
    add_security_options(conn)
    conn.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print machine-readable JSON on stdout",
    )
    conn.add_argument(
        "--timing",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the request id and the server's timing of the (last) call on stderr",
    )

    space = _Parser(add_help=False)
    space.add_argument(
        "--space", metavar="NAME", default="", help="space (model) name; default: the word model"
    )
    # `directions` and its actions: SUPPRESS, as the option may come before the action.
    listed_space = _Parser(add_help=False)
    listed_space.add_argument(
        "--space",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="space (model) name; list: default every space; delete: default the word model",
    )

    removal = _Parser(add_help=False)
    removal.add_argument(
        "--remove",
        action="append",
        default=[],
        metavar="SPEC",
        help=f"a direction projected out of every vector before scoring: {SPEC} "
        "(repeatable); its terms are sent as the command's own: keys, or texts (--text, "
        "and always for encode, similarity and search)",
    )

    search = _Parser(add_help=False)
    opts = search.add_argument_group("search")
    opts.add_argument(
        "-k",
        type=_count,
        metavar="N",
        default=None,
        help=f"neighbours to show (default: the server's; interpolate: {INTERPOLATE_K} a point)",
    )
    opts.add_argument("--exact", action="store_true", help="brute force instead of HNSW")
    opts.add_argument("--ef", type=_count, metavar="N", default=None, help="HNSW search breadth")
    opts.add_argument(
        "--restrict",
        type=_count,
        metavar="N",
        default=None,
        help="only the N most frequent keys are candidates",
    )
    opts.add_argument(
        "--include-inputs", action="store_true", help="keep the input keys in the results"
    )

    text = _Parser(add_help=False)
    text.add_argument(
        "--text",
        action="store_true",
        help="send each term as free text for the space's encoder (a word model averages "
        "its words) instead of as a key",
    )

    parser = _Parser(
        prog=PROG,
        parents=[common],
        description="Query latentd: word and sentence embeddings, analogies, neighbours, "
        "and semantic search over collections of your documents. "
        "Each argument is one term: quote a term with spaces, and pass --text to embed it "
        "as text. Exit status: 0 ok, 1 latentd failed or cannot be reached, 2 bad arguments.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "analogy",
        parents=[common, space, search, text, removal],
        help="vector arithmetic: king - man + woman",
        description="Neighbours of a sum of terms, e.g. `latent analogy king - man + woman`. "
        "Operators + and - are separate arguments (or a prefix after --); the first term is "
        'positive. One quoted argument holding a whole expression, "king - man + woman", '
        "is split at its standalone operators; any other argument is one term.",
    )
    p.add_argument(
        "expression",
        nargs="+",
        metavar="TERM",
        help="terms joined by + and -, or one quoted expression",
    )
    p.add_argument(
        "--method",
        choices=("cosadd", "cosmul"),
        default=None,
        help="cosadd: 3CosAdd, gensim most_similar (the server's default); cosmul: 3CosMul, "
        "gensim most_similar_cosmul",
    )

    p = sub.add_parser(
        "nearest",
        parents=[common, space, search, text, removal],
        help="nearest neighbours of one or more terms",
        description="Neighbours of one term, or of the mean of several. Each argument is "
        "one term: latent nearest \"new york\" looks up the key 'new york'; add --text to "
        "average its words.",
    )
    p.add_argument(
        "words", nargs="+", metavar="TERM", help="one term, or several: their mean is searched"
    )

    p = sub.add_parser(
        "interpolate",
        parents=[common, space, search, text, removal],
        help="walk from one term to another",
        description="Points from START to END (both included) and their neighbours.",
    )
    p.add_argument("start", metavar="START", help="the first term (t = 0)")
    p.add_argument("end", metavar="END", help="the last term (t = 1)")
    p.add_argument(
        "--steps",
        type=_count,
        metavar="N",
        default=None,
        help="points, both ends included (default: the server's)",
    )
    p.add_argument(
        "--path",
        choices=("lerp", "slerp"),
        default=None,
        help="lerp: a straight line (the server's default); slerp: along the sphere",
    )

    p = sub.add_parser(
        "similarity",
        parents=[common, space, removal],
        help="cosine similarity of two texts, or the matrix of several",
        description="Two arguments: their cosine. More: the pairwise matrix. Arguments are "
        "sent as text, so a sentence model works too (--space all-minilm-l6-v2).",
    )
    p.add_argument("texts", nargs="+", metavar="TEXT", help="two or more texts")

    p = sub.add_parser(
        "doesnt-match",
        parents=[common, space, text],
        help="the term that does not belong",
        description="The term furthest from the mean of all of them.",
    )
    p.add_argument("words", nargs="+", metavar="TERM", help="the terms to compare")

    p = sub.add_parser(
        "encode",
        parents=[common, removal],
        help="embed texts and show a preview of the vectors",
        description="Embed texts with a sentence model (or words with a word model).",
    )
    p.add_argument("inputs", nargs="+", metavar="TEXT", help="texts to embed")
    p.add_argument(
        "--model", metavar="NAME", default="", help="model name; default: the sentence model"
    )
    p.add_argument(
        "--dimensions", type=_count, metavar="N", default=None, help="keep the first N dimensions"
    )
    p.add_argument(
        "--no-normalize",
        dest="normalize",
        action="store_false",
        default=None,  # not sent unless given: the server's default applies
        help="do not scale to unit length",
    )
    p.add_argument(
        "--truncate", action="store_true", help="cut inputs over the model's token limit"
    )
    p.add_argument(
        "--prompt-name", metavar="NAME", default=None, help="a prompt from the model's config"
    )

    sub.add_parser(
        "models", parents=[common], help="list the loaded models", description="Loaded models."
    )

    p = sub.add_parser(
        "collection",
        parents=[common],
        help="create, list, inspect or delete collections",
        description="Collections: durable semantic search over your own documents.",
    )
    actions = p.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="create, list, info or delete"
    )
    c = actions.add_parser(
        "create",
        parents=[common],
        help="create a collection",
        description="Create a collection of texts encoded by a sentence model (--model), "
        "or of your own vectors (--dimension).",
    )
    c.add_argument("name", metavar="NAME", help="1 to 64 of A-Z a-z 0-9 _ . -")
    kind = c.add_mutually_exclusive_group(required=True)
    kind.add_argument(
        "--model", metavar="NAME", help="a loaded sentence model, e.g. all-minilm-l6-v2"
    )
    kind.add_argument(
        "--dimension", type=_count, metavar="N", help="no model: your own vectors of N values"
    )
    c.add_argument(
        "--metric",
        choices=("cosine", "dot", "l2"),
        default=None,
        help="how hits are scored (default: cosine)",
    )
    c.add_argument("--hnsw-m", type=_count, metavar="N", default=None, help="HNSW graph degree")
    c.add_argument(
        "--ef-construction", type=_count, metavar="N", default=None, help="HNSW build breadth"
    )
    c.add_argument(
        "--exist-ok",
        action="store_true",
        help="no error if the collection exists with the same settings",
    )
    c.add_argument(
        "--backend",
        choices=("embedded", "milvus"),
        default=None,
        help="where its documents are kept (default: the server's --collections-backend)",
    )
    actions.add_parser(
        "list", parents=[common], help="list the collections", description="Every collection."
    )
    for action, what in (("info", "show a collection"), ("delete", "delete a collection")):
        a = actions.add_parser(action, parents=[common], help=what, description=what.capitalize())
        a.add_argument("name", metavar="NAME", help="the collection")

    p = sub.add_parser(
        "import",
        parents=[common],
        help="upsert documents from a file into a collection",
        description="Upsert every record of a JSON lines (.jsonl), JSON (.json: lines or an "
        "array), CSV (.csv) or Parquet (.parquet) file. The id field and the text field (or "
        "a vector field) make the document; every other field becomes metadata. An existing "
        "id is replaced.",
    )
    p.add_argument("collection", metavar="COLLECTION", help="the collection to fill")
    p.add_argument("file", metavar="FILE", type=Path, help="the file to read")
    p.add_argument("--id-field", metavar="NAME", default="id", help="default: id")
    p.add_argument("--text-field", metavar="NAME", default="text", help="default: text")
    p.add_argument(
        "--vector-field",
        metavar="NAME",
        default=None,
        help="the field that holds each document's vector (collections of your own vectors)",
    )
    p.add_argument(
        "--batch-size",
        type=_count,
        metavar="N",
        default=256,
        help="documents a request (default: 256)",
    )
    p.add_argument(
        "--format", choices=FORMATS, default=None, help="the file's format, if not its suffix"
    )

    p = sub.add_parser(
        "search",
        parents=[common, removal],
        help="semantic search in a collection",
        description="The documents closest to a text (or like --like documents and unlike "
        "--unlike ones). Filters on metadata: key=value, key!=value (or absent), key>=N, key>N, "
        "key<=N, key<N, 'key in a,b,c', key? (present); each --filter must hold. Numbers and "
        'true/false are typed; quote a value to keep it text: year="2020".',
    )
    p.add_argument("collection", metavar="COLLECTION", help="the collection to search")
    p.add_argument("query", metavar="QUERY", nargs="?", default=None, help="the text to search for")
    p.add_argument(
        "-k",
        type=_count,
        metavar="N",
        default=None,
        help="hits to show (default: the server's)",
    )
    p.add_argument(
        "--filter",
        dest="filters",
        action="append",
        default=[],
        metavar="EXPR",
        help="a condition on metadata, e.g. lang=en or year>=2020 (repeatable: all must hold)",
    )
    p.add_argument(
        "--like", action="append", default=[], metavar="ID", help="a document to be like"
    )
    p.add_argument(
        "--unlike", action="append", default=[], metavar="ID", help="a document to be unlike"
    )
    p.add_argument(
        "--score-threshold",
        type=float,
        metavar="X",
        default=None,
        help="only hits that score at least X",
    )
    p.add_argument("--exact", action="store_true", help="brute force instead of HNSW")
    p.add_argument("--ef", type=_count, metavar="N", default=None, help="HNSW search breadth")

    p = sub.add_parser(
        "direction",
        parents=[common, space, text],
        help="define a direction from word pairs or poles (and save it)",
        description="A direction of the space from pairs a:b (it points from each a to its "
        "b), e.g. `latent direction man:woman he:she king:queen`, or from poles, "
        "`latent direction --from bad awful --to good great`. Prints how well the inputs "
        "agree on it: the explained variance and each pair's cosine with the direction "
        "(poles: each term's projection); --top shows the keys at its two ends.",
    )
    p.add_argument(
        "pairs",
        nargs="*",
        metavar="PAIR",
        help="a:b, e.g. man:woman (several in one argument: man:woman,he:she)",
    )
    p.add_argument(
        "--from",
        dest="from_terms",
        nargs="+",
        metavar="TERM",
        default=None,
        help="poles: the terms at the from end (with --to, instead of PAIRs)",
    )
    p.add_argument(
        "--to",
        dest="to_terms",
        nargs="+",
        metavar="TERM",
        default=None,
        help="poles: the terms at the to end",
    )
    p.add_argument(
        "--method",
        choices=("pca", "mean"),
        default=None,
        help="pairs: pca, the first principal component of the differences (the "
        "server's default); mean, the mean difference",
    )
    _add_ends_options(p)
    p.add_argument(
        "--save", metavar="NAME", default=None, help="save the direction under NAME in the space"
    )
    p.add_argument(
        "--description", metavar="TEXT", default=None, help="with --save: what it is for"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="with --save: replace a saved direction of that name",
    )

    p = sub.add_parser(
        "directions",
        parents=[common, listed_space],
        help="list or delete saved directions",
        description="Saved directions: `latent directions` lists them, "
        "`latent directions delete NAME` deletes one.",
    )
    direction_actions = p.add_subparsers(
        dest="action", metavar="ACTION", help="list (the default) or delete"
    )
    direction_actions.add_parser(
        "list",
        parents=[common, listed_space],
        help="list the saved directions",
        description="Saved directions, by space then name.",
    )
    a = direction_actions.add_parser(
        "delete",
        parents=[common, listed_space],
        help="delete a saved direction",
        description="Delete a saved direction (of the default word model unless --space).",
    )
    a.add_argument("name", metavar="NAME", help="the saved direction")

    p = sub.add_parser(
        "project",
        parents=[common, space, text],
        help="project terms on a direction, or show the keys at its ends",
        description="Each term's projection on a direction (the cosine of its vector with "
        "it), e.g. `latent project --direction man:woman,he:she nurse engineer`; --top N "
        "shows the N keys at each end of the space.",
    )
    p.add_argument("terms", nargs="*", metavar="TERM", help="terms to project")
    p.add_argument("--direction", required=True, metavar="SPEC", help=f"the direction: {SPEC}")
    _add_ends_options(p)

    p = sub.add_parser(
        "navigate",
        parents=[common, space, search, text, removal],
        help="walk from a term along a direction",
        description="Points from START along a direction, each with its neighbours: "
        "point i is START + i * step * direction (the start key excluded), e.g. "
        "`latent navigate king --direction man:woman --steps 4`.",
    )
    p.add_argument("start", metavar="START", help="the term to start from")
    p.add_argument("--direction", required=True, metavar="SPEC", help=f"the direction: {SPEC}")
    p.add_argument(
        "--steps",
        type=_count,
        metavar="N",
        default=None,
        help="steps taken; points: N + 1, the start included (default: the server's)",
    )
    walk = p.add_mutually_exclusive_group()
    walk.add_argument(
        "--step",
        type=_number,
        metavar="X",
        default=None,
        help="length of a step in units of the start's norm; negative walks the other way "
        "(default: the server's)",
    )
    walk.add_argument(
        "--until",
        type=_number,
        metavar="X",
        default=None,
        help="instead of --step: walk until the projection on the direction is X",
    )

    p = sub.add_parser(
        "weat",
        parents=[common, space, text],
        help="word embedding association test (WEAT)",
        description="Do the targets X associate with the attributes A (and Y with B) more "
        "than the other way round? Each file holds one term a line; blank lines and # "
        "comments are ignored. Prints the effect size (Cohen's d) and a one-sided p-value "
        "(Caliskan et al., Science 2017).",
    )
    p.add_argument(
        "--targets",
        nargs=2,
        type=Path,
        metavar=("X", "Y"),
        required=True,
        help="two files of target terms (e.g. career words, family words)",
    )
    p.add_argument(
        "--attributes",
        nargs=2,
        type=Path,
        metavar=("A", "B"),
        required=True,
        help="two files of attribute terms (e.g. male names, female names)",
    )
    p.add_argument(
        "--permutations",
        type=_count,
        metavar="N",
        default=None,
        help="partitions sampled for the p-value (default: the server's); exact when there "
        "are no more than N",
    )
    p.add_argument(
        "--seed", type=_count, metavar="N", default=0, help="seed of the sampled partitions"
    )

    p = sub.add_parser(
        "components",
        parents=[common, space, text],
        help="principal axes of a set of terms",
        description="The principal components of the terms' vectors, each with its share "
        "of the variance and the terms at its two ends, e.g. "
        "`latent components cat dog car truck apple banana -n 2`.",
    )
    p.add_argument("terms", nargs="+", metavar="TERM", help="two or more terms")
    p.add_argument(
        "-n", type=_count, metavar="N", default=None, help="components (default: the server's)"
    )

    parser.commands = dict(sub.choices)
    for name, action_parser in actions.choices.items():
        parser.commands[f"collection {name}"] = action_parser
    for name, action_parser in direction_actions.choices.items():
        parser.commands[f"directions {name}"] = action_parser
    return parser


def _add_ends_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--top", type=_count, metavar="N", default=None, help="show the N keys at each end"
    )
    p.add_argument(
        "--restrict",
        type=_count,
        metavar="N",
        default=None,
        help="with --top: only the N most frequent keys",
    )


def parse_expression(
    tokens: Sequence[str], *, as_text: bool = False
) -> tuple[list[str], list[str]]:
    """``["king", "-", "man", "+", "woman"]`` -> ``(["king", "woman"], ["man"])``.

    Each argument is one term. The one exception is an argument holding a whole
    expression, with standalone ``+`` or ``-`` between spaces: it is split at those
    operators, so ``"king - man + woman"`` as one quoted argument works too, and
    ``"new york - usa"`` gives the terms ``new york`` and ``usa``. The rule is the same
    with or without ``as_text`` (kept for callers).
    """
    del as_text  # splitting does not depend on how the terms are sent
    words: list[str] = []
    for token in tokens:
        parts = _OPERATOR.split(token)
        if len(parts) == 1:
            words.append(token)
        else:
            words.extend(part.strip() for part in parts if part.strip())
    positive: list[str] = []
    negative: list[str] = []
    sign: str | None = None
    for word in words:
        if word in ("+", "-"):
            if sign is not None:
                raise UsageError(f"expected a term after {sign!r}, got {word!r}")
            sign = word
            continue
        if sign is None and len(word) > 1 and word[0] in "+-":
            sign, word = word[0], word[1:]  # "+woman" and "-man" (after --)
        (negative if sign == "-" else positive).append(word)
        sign = None
    if sign is not None:
        raise UsageError(f"expected a term after {sign!r}")
    if not positive and not negative:
        raise UsageError("no terms given")
    return positive, negative


# Filter expressions: "key in a,b,c", "key?", and key OP value with these operators
# (the longer first, so that ">=" is not read as ">").
_IN = re.compile(r"^\s*(?P<key>\S.*?)\s+in\s+(?P<values>.+)$")
_COMPARISON = re.compile(r"^\s*(?P<key>[^=!<>]*?)\s*(?P<op>==|!=|>=|<=|=|>|<)\s*(?P<value>.*)$")
_RANGE_OPS = {">=": "gte", ">": "gt", "<=": "lte", "<": "lt"}


def parse_filter(expression: str) -> dict[str, Any]:
    """One ``--filter`` expression in the client's dict form of a filter.

    ``lang=en`` (equals; ``==`` too), ``lang!=en`` (not equal, or absent), ``year>=2020``,
    ``year>2020``, ``year<=2020``, ``year<2020``, ``lang in en,fr`` (one of) and
    ``lang?`` (present). Values that read as numbers or true/false are typed; quote a
    value to keep it text (``code="007"``).
    """
    text = expression.strip()
    if text.endswith("?") and not re.search(r"[=!<>]", text):
        key = text[:-1].strip()
        if key:
            return {key: {"exists": True}}
    match = _IN.match(text)
    if match and not re.search(r"[=!<>]", match["key"]):
        values = [scalar(v.strip()) for v in match["values"].split(",") if v.strip()]
        if not values:
            raise UsageError(f"--filter {expression!r}: no values after 'in'")
        return {match["key"]: {"in": values}}
    match = _COMPARISON.match(text)
    if not match or not match["key"]:
        raise UsageError(
            f"--filter {expression!r}: expected key=value, key!=value, key>=N, key>N, "
            "key<=N, key<N, 'key in a,b,c' or key?"
        )
    key, op, value = match["key"], match["op"], scalar(match["value"])
    if op in _RANGE_OPS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"--filter {expression!r}: {op} needs a number, got {value!r}")
        return {key: {_RANGE_OPS[op]: value}}
    if op == "!=":
        return {"none": [{key: value}]}
    return {key: value}


def parse_filters(expressions: Sequence[str]) -> dict[str, Any] | None:
    """Several ``--filter`` expressions, all of which must hold (None for none)."""
    filters = [parse_filter(e) for e in expressions]
    if not filters:
        return None
    return filters[0] if len(filters) == 1 else {"all": filters}


def parse_pairs(text: str, where: str) -> list[tuple[str, str]]:
    """``"man:woman,he:she"`` -> ``[("man", "woman"), ("he", "she")]``; ``where`` (a flag
    or PAIR) names the argument in the error."""
    pairs = []
    for part in text.split(","):
        a, sep, b = (x.strip() for x in part.partition(":"))
        if not sep or not a or not b or ":" in b:
            raise UsageError(
                f"{where} {text!r}: expected a:b pairs separated by commas, e.g. man:woman,he:she"
            )
        pairs.append((a, b))
    return pairs


def parse_direction(spec: str, flag: str = "--direction") -> str | list[tuple[str, str]]:
    """A direction on the command line: ``a:b`` pairs separated by commas
    (``man:woman,he:she``), or a saved direction's name (no colon)."""
    text = spec.strip()
    if ":" in text:
        return parse_pairs(text, flag)
    if _DIRECTION_NAME.fullmatch(text):
        return text
    raise UsageError(f"{flag} {spec!r}: expected {SPEC}")


def read_terms(path: Path, flag: str) -> list[str]:
    """The terms of a file, one a line; blank lines and # comments are left out."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{flag}: cannot read {str(path)!r}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{flag}: {str(path)!r} is not UTF-8 text") from None
    terms = [re.sub(r"(^|\s)#.*$", "", line).strip() for line in text.splitlines()]
    terms = [t for t in terms if t]
    if not terms:
        raise UsageError(f"{flag}: {str(path)!r} holds no terms")
    return terms


# ---------------------------------------------------------------------------
# Output


def _score(value: float) -> float:
    # The shortest decimal that gives back the same float32: 0.8524, not 0.852400004863739.
    import numpy as np

    return float(str(np.float32(value)))


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, float):
        return _score(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _jsonable(value.tolist())
    return value


def _print_json(value: Any) -> None:
    print(json.dumps(_jsonable(value), ensure_ascii=False, indent=2))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """Columns padded to their widest cell; indices in ``right`` are right-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]
    lines = []
    for row in [headers, *rows]:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append(" " + "  ".join(cells).rstrip())
    return "\n".join(lines)


def _neighbors_table(neighbors: Sequence[Neighbor]) -> str:
    if not neighbors:
        return "(no neighbors)"
    rows = [[str(i), n.key, f"{n.score:.4f}"] for i, n in enumerate(neighbors, 1)]
    return _table(["#", "key", "score"], rows, right={0, 2})


def _short(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _notes(resolved: Sequence[ResolvedTerm]) -> list[str]:
    """Lines saying how inputs were resolved, when that differs from what was typed."""
    lines = []
    for r in resolved:
        if r.key and r.input and r.key != r.input:
            lines.append(f"using {r.key!r} for {r.input!r}")
        if r.unknown_tokens:
            unknown = ", ".join(r.unknown_tokens)
            lines.append(f"unknown tokens in {_short(r.input)!r}: {unknown}")
    return lines


def _print_notes(resolved: Sequence[ResolvedTerm]) -> None:
    for line in _notes(resolved):
        print(f"({line})")


def _preview(vector: Any, n: int = 5) -> str:
    values = [f"{float(x):+.4f}" for x in vector[:n]]
    if len(vector) > n:
        values.append("…")
    return "[" + " ".join(values) + "]"


# ---------------------------------------------------------------------------
# Commands


def _term(word: str, as_text: bool) -> str | Text:
    return Text(word) if as_text else word


def _search_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "k": args.k,
        "space": args.space,
        "exact": args.exact,
        "ef": args.ef,
        "restrict": args.restrict,
        "include_inputs": args.include_inputs,
        "remove": args.remove_values,
    }


def _cmd_analogy(client: Client, args: argparse.Namespace) -> None:
    result = client.analogy(
        [_term(w, args.text) for w in args.positive],
        [_term(w, args.text) for w in args.negative],
        method=args.method,
        **_search_kwargs(args),
    )
    if args.json:
        _print_json(result)
        return
    _print_notes([*result.positive, *result.negative])
    print(_neighbors_table(result.neighbors))


def _cmd_nearest(client: Client, args: argparse.Namespace) -> None:
    result = client.nearest([_term(w, args.text) for w in args.words], **_search_kwargs(args))
    if args.json:
        _print_json(result)
        return
    _print_notes(result.query)
    print(_neighbors_table(result.neighbors))


def _cmd_interpolate(client: Client, args: argparse.Namespace) -> None:
    kwargs = _search_kwargs(args)
    if kwargs["k"] is None:
        kwargs["k"] = INTERPOLATE_K
    result = client.interpolate(
        _term(args.start, args.text),
        _term(args.end, args.text),
        steps=args.steps,
        path=args.path,
        **kwargs,
    )
    if args.json:
        _print_json(result)
        return
    _print_notes([result.start, result.end])
    rows = [
        [f"{p.t:.2f}", "  ".join(f"{n.key} {n.score:.4f}" for n in p.neighbors)]
        for p in result.points
    ]
    print(_table(["t", "neighbors"], rows, right={0}))


def _cmd_similarity(client: Client, args: argparse.Namespace) -> None:
    texts: list[str] = args.texts
    pair = len(texts) == 2
    a = [Text(texts[0])] if pair else [Text(t) for t in texts]
    b = [Text(texts[1])] if pair else a
    result = client.similarity(a, b, space=args.space, remove=args.remove_values)
    if args.json:
        _print_json(result)
        return
    _print_notes(_unique_resolved([*result.a, *result.b]))
    if pair:
        print(f"{result.scores[0, 0]:.4f}  {_short(texts[0])} ~ {_short(texts[1])}")
        return
    labels = [f"[{i}]" for i in range(1, len(texts) + 1)]
    rows = [
        [label, _short(text, 24), *(f"{s:.4f}" for s in result.scores[i])]
        for i, (label, text) in enumerate(zip(labels, texts, strict=True))
    ]
    print(_table(["", "", *labels], rows, right=set(range(2, len(texts) + 2))))


def _unique_resolved(resolved: Sequence[ResolvedTerm]) -> list[ResolvedTerm]:
    seen: set[tuple[str, str]] = set()
    out = []
    for r in resolved:
        if (r.input, r.key) not in seen:
            seen.add((r.input, r.key))
            out.append(r)
    return out


def _cmd_doesnt_match(client: Client, args: argparse.Namespace) -> None:
    result = client.doesnt_match([_term(w, args.text) for w in args.words], space=args.space)
    if args.json:
        _print_json(result)
        return
    _print_notes(result.terms)
    name = result.key or args.words[result.index]
    print(f"{name}  (cosine to the mean {result.score:.4f})")


def _cmd_encode(client: Client, args: argparse.Namespace) -> None:
    result = client.encode_detailed(
        args.inputs,
        args.model,
        normalize=args.normalize,
        dimensions=args.dimensions,
        prompt_name=args.prompt_name,
        truncate=args.truncate,
        remove=args.remove_values,
    )
    if args.json:
        _print_json({"inputs": args.inputs, **_jsonable(result)})
        return
    print(f"model {result.model}  dimension {result.dimension}")
    rows = []
    for i, (text, vector) in enumerate(zip(args.inputs, result.vectors, strict=True), 1):
        rows.append([str(i), _short(text), _preview(vector)])
    print(_table(["#", "input", "vector"], rows, right={0}))
    for i, (cut, unknown) in enumerate(
        zip(result.truncated, result.unknown_tokens, strict=True), 1
    ):
        if cut:
            print(f"(input {i} was truncated to the model's token limit)")
        if unknown:
            print(f"(input {i}: unknown tokens: {', '.join(unknown)})")


def _cmd_models(client: Client, args: argparse.Namespace) -> None:
    models = client.models()
    if args.json:
        _print_json(models)
        return
    if not models:
        print("(no models)")
        return
    rows = [
        [
            m.name + (" *" if m.is_default else ""),
            m.kind,
            str(m.dimension),
            str(m.num_keys) if m.kind == "word" else "-",
            m.index_state or "-",
            m.source,
        ]
        for m in models
    ]
    print(_table(["name", "kind", "dim", "keys", "index", "source"], rows, right={2, 3}))
    print("(* the default model of its kind)")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _print_collection(info: CollectionInfo) -> None:
    rows = [
        ["name", info.name],
        ["model", info.model or "- (your own vectors)"],
        ["dimension", str(info.dimension)],
        ["metric", info.metric],
        ["hnsw", f"m={info.m} ef_construction={info.ef_construction}"],
        ["documents", str(info.count)],
        ["index", info.index_state or "-"],
        ["disk", _size(info.disk_bytes)],
        ["backend", info.backend],
    ]
    print(_table(["", ""], rows, right=set()).split("\n", 1)[1])


def _cmd_collection(client: Client, args: argparse.Namespace) -> None:
    if args.action == "list":
        infos = client.list_collections()
        if args.json:
            _print_json(infos)
        elif not infos:
            print("(no collections)")
        else:
            rows = [
                [
                    i.name,
                    i.model or "-",
                    str(i.dimension),
                    i.metric,
                    str(i.count),
                    i.index_state or "-",
                    _size(i.disk_bytes),
                    i.backend,
                ]
                for i in infos
            ]
            headers = ["name", "model", "dim", "metric", "docs", "index", "disk", "backend"]
            print(_table(headers, rows, right={2, 4, 6}))
        return
    if args.action == "delete":
        client.delete_collection(args.name)
        if args.json:
            _print_json({"deleted": args.name})
        else:
            print(f"deleted collection {args.name}")
        return
    if args.action == "create":
        info = client.create_collection(
            args.name,
            model=args.model,
            dimension=args.dimension,
            metric=args.metric,
            m=args.hnsw_m,
            ef_construction=args.ef_construction,
            exist_ok=args.exist_ok,
            backend=args.backend,
        )
    else:
        info = client.get_collection(args.name)
    if args.json:
        _print_json(info)
    else:
        _print_collection(info)


def _in_file(message: str, name: str, places: Sequence[str], offset: int = 0) -> str:
    """A server message about ``documents[i]`` with the place in the file instead."""

    def place(match: re.Match[str]) -> str:
        i = int(match[1])
        return f"{name} {places[i]}" if i < len(places) else match[0]

    # "documents[3].vector: ..." and "documents[3]: ..." -> "f.jsonl line 5: vector: ...".
    message = re.sub(r"^documents\[(\d+)\](?:\.|: )", lambda m: place(m) + ": ", message)
    return re.sub(r"documents\[(\d+)\]", place, message)


def _cmd_import(client: Client, args: argparse.Namespace) -> None:
    from tqdm import tqdm  # type: ignore[import-untyped]

    documents = args.source.documents
    started = time.monotonic()
    # No bar when stderr is not a terminal (disable=None), e.g. in a pipeline or a log.
    with tqdm(total=len(documents), unit="doc", disable=None, file=sys.stderr) as bar:

        def progress(done: int, total: int | None) -> None:
            bar.update(done - bar.n)

        try:
            imported = client.upsert(
                args.collection, documents, batch_size=args.batch_size, progress=progress
            )
        except LatentError as error:
            message = _in_file(error.message, args.file.name, args.source.places)
            raise type(error)(error.code, message) from error
    seconds = time.monotonic() - started
    rate = imported / seconds if seconds > 0 else 0.0
    if args.json:
        _print_json({"collection": args.collection, "imported": imported, "seconds": seconds})
        return
    print(
        f"imported {imported} documents into {args.collection} in {seconds:.1f} s "
        f"({rate:.0f} docs/s)"
    )


def _cmd_search(client: Client, args: argparse.Namespace) -> None:
    result = client.search(
        args.collection,
        args.query,
        k=args.k,
        filter=args.filter,
        positive=args.like,
        negative=args.unlike,
        exact=args.exact,
        ef=args.ef,
        score_threshold=args.score_threshold,
        remove=args.remove_values,
    )
    if args.json:
        _print_json(result)
        return
    if not result.hits:
        print("(no hits)")
        return
    rows = [
        [str(i), _short(h.id, 24), f"{h.score:.4f}", _short(" ".join(h.text.split()), 60)]
        for i, h in enumerate(result.hits, 1)
    ]
    print(_table(["#", "id", "score", "text"], rows, right={0, 2}))


def _direction_pair_label(a: Any, b: Any) -> str:
    return f"{_term_label(a)}:{_term_label(b)}"


def _term_label(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Text):
        return value.text
    key, text = getattr(value, "key", None), getattr(value, "text", None)
    return key if key is not None else text if text is not None else "(vector)"


def _definition_label(definition: Any) -> str:
    if isinstance(definition, Pairs):
        label = ", ".join(_direction_pair_label(a, b) for a, b in definition.pairs)
        return label + (" (mean)" if definition.method == "mean_difference" else "")
    if isinstance(definition, Poles):
        low = " ".join(_term_label(t) for t in definition.from_terms)
        high = " ".join(_term_label(t) for t in definition.to_terms)
        return f"{low} -> {high}"
    if definition is None:
        return "-"
    return f"vector ({len(definition)})"


def _ends_table(result: ProjectResult) -> str:
    """The keys at the two ends of a direction, side by side."""
    if not result.from_end and not result.to_end:
        return "(no keys)"
    rows = []
    for i in range(max(len(result.from_end), len(result.to_end))):
        low = result.from_end[i] if i < len(result.from_end) else None
        high = result.to_end[i] if i < len(result.to_end) else None
        rows.append(
            [
                str(i + 1),
                low.key if low else "",
                f"{low.score:.4f}" if low else "",
                high.key if high else "",
                f"{high.score:.4f}" if high else "",
            ]
        )
    headers = ["#", "from end", "projection", "to end", "projection"]
    return _table(headers, rows, right={0, 2, 4})


def _cmd_direction(client: Client, args: argparse.Namespace) -> None:
    fit = client.define_direction(args.direction, space=args.space)
    saved = None
    if args.save is not None:
        saved = client.save_direction(
            args.save,
            args.direction,
            space=args.space,
            description=args.description or "",
            overwrite=args.overwrite,
        )
    ends = None
    if args.top is not None:
        ends = client.project(
            args.direction, top=args.top, restrict=args.restrict, space=args.space
        )
    if args.json:
        out = _jsonable(fit)
        if ends is not None:
            out.update(from_end=_jsonable(ends.from_end), to_end=_jsonable(ends.to_end))
        if saved is not None:
            out["saved"] = saved.name
        _print_json(out)
        return
    print(f"explained variance {fit.explained_variance:.4f}")
    if args.pairs_given:
        rows = [
            [f"{a}:{b}", f"{c:.4f}"]
            for (a, b), c in zip(args.pairs_given, fit.pair_cosines, strict=False)
        ]
        print(_table(["pair", "cosine"], rows, right={1}))
    else:
        rows = [
            *(
                ["from", t, f"{p:.4f}"]
                for t, p in zip(args.from_terms, fit.from_projections, strict=False)
            ),
            *(
                ["to", t, f"{p:.4f}"]
                for t, p in zip(args.to_terms, fit.to_projections, strict=False)
            ),
        ]
        print(_table(["pole", "term", "projection"], rows, right={2}))
    if ends is not None:
        print()
        print(_ends_table(ends))
    if saved is not None:
        print(f"saved direction {saved.name} in {saved.space}")


def _cmd_directions(client: Client, args: argparse.Namespace) -> None:
    space = getattr(args, "space", "")
    if args.action == "delete":
        client.delete_direction(args.name, space=space)
        if args.json:
            _print_json({"deleted": args.name})
        else:
            print(f"deleted direction {args.name}")
        return
    saved = client.list_directions(space=space)
    if args.json:
        _print_json(saved)
        return
    if not saved:
        print("(no saved directions)")
        return
    rows = [
        [
            d.space,
            d.name + (" *" if d.from_config else ""),
            _short(_definition_label(d.definition), 40),
            f"{d.explained_variance:.4f}",
            _short(d.description, 40),
        ]
        for d in saved
    ]
    print(_table(["space", "name", "definition", "variance", "description"], rows, right={3}))
    if any(d.from_config for d in saved):
        print("(* from the server's config: cannot be deleted)")


def _cmd_project(client: Client, args: argparse.Namespace) -> None:
    result = client.project(
        args.direction_value,
        [_term(t, args.text) for t in args.terms],
        top=args.top,
        restrict=args.restrict,
        space=args.space,
    )
    if args.json:
        _print_json(result)
        return
    _print_notes([p.term for p in result.projections])
    if result.projections:
        rows = [[p.term.key or p.term.input, f"{p.projection:.4f}"] for p in result.projections]
        print(_table(["term", "projection"], rows, right={1}))
    if args.top is not None:
        if result.projections:
            print()
        print(_ends_table(result))


def _cmd_navigate(client: Client, args: argparse.Namespace) -> None:
    result = client.navigate(
        _term(args.start, args.text),
        args.direction_value,
        steps=args.steps,
        step=args.step,
        target=args.until,
        **_search_kwargs(args),
    )
    if args.json:
        _print_json(result)
        return
    _print_notes([result.start])
    rows = [
        [
            f"{p.offset:.2f}",
            f"{p.projection:.4f}",
            "  ".join(f"{n.key} {n.score:.4f}" for n in p.neighbors),
        ]
        for p in result.points
    ]
    print(_table(["offset", "projection", "neighbors"], rows, right={0, 1}))


def _cmd_weat(client: Client, args: argparse.Namespace) -> None:
    (x, y), (a, b) = args.target_terms, args.attribute_terms
    result = client.associate(
        x, y, a, b, permutations=args.permutations, seed=args.seed, space=args.space
    )
    if args.json:
        _print_json(result)
        return
    if result.exact:
        how = f"exact: {result.partitions:,} partitions"
    elif result.p_value <= 1.5 / (result.partitions + 1):
        # (1 + hits) / (1 + samples) with no hit: the least the samples can show.
        how = f"no hit in {result.partitions:,} sampled partitions: the least they can show"
    else:
        how = f"{result.partitions:,} sampled partitions"
    (fx, fy), (fa, fb) = args.targets, args.attributes
    rows = [
        ["effect size", f"{result.effect_size:.4f}"],
        ["p-value", f"{result.p_value:.2g} ({how})"],
        ["statistic", f"{result.statistic:.4f}"],
        ["targets", f"{fx.name}: {len(x)}, {fy.name}: {len(y)}"],
        ["attributes", f"{fa.name}: {len(a)}, {fb.name}: {len(b)}"],
    ]
    print(_table(["", ""], rows, right=set()).split("\n", 1)[1])


def _cmd_components(client: Client, args: argparse.Namespace) -> None:
    components = client.components(
        [_term(t, args.text) for t in args.terms], args.n, space=args.space
    )
    if args.json:
        _print_json(components)
        return
    for i, c in enumerate(components, 1):
        if i > 1:
            print()
        print(f"component {i}  explained variance {c.explained_variance:.4f}")
        # Centred coordinates: the terms below the mean on one side, above it on the other.
        low = [p for p in c.terms if p.projection < 0]
        high = [p for p in reversed(c.terms) if p.projection >= 0]
        rows = []
        for j in range(max(len(low), len(high))):
            cells = []
            for side in (low, high):
                p = side[j] if j < len(side) else None
                cells += [p.term.key or p.term.input, f"{p.projection:.4f}"] if p else ["", ""]
            rows.append(cells)
        print(_table(["low end", "projection", "high end", "projection"], rows, right={1, 3}))


_COMMANDS: dict[str, Callable[[Client, argparse.Namespace], None]] = {
    "analogy": _cmd_analogy,
    "nearest": _cmd_nearest,
    "interpolate": _cmd_interpolate,
    "similarity": _cmd_similarity,
    "doesnt-match": _cmd_doesnt_match,
    "encode": _cmd_encode,
    "models": _cmd_models,
    "collection": _cmd_collection,
    "import": _cmd_import,
    "search": _cmd_search,
    "direction": _cmd_direction,
    "directions": _cmd_directions,
    "project": _cmd_project,
    "navigate": _cmd_navigate,
    "weat": _cmd_weat,
    "components": _cmd_components,
}


# ---------------------------------------------------------------------------
# Errors


def _prepare(args: argparse.Namespace) -> None:
    """Checks that need no server; raises UsageError."""
    # Direction terms go as the command's own terms: texts where it sends texts.
    as_text = args.command in _TEXT_COMMANDS or getattr(args, "text", False)
    args.remove_values = [
        _sent_direction(parse_direction(s, "--remove"), as_text)
        for s in getattr(args, "remove", [])
    ]
    if args.command in ("project", "navigate"):
        args.direction_value = _sent_direction(parse_direction(args.direction), as_text)
    if args.command == "analogy":
        args.positive, args.negative = parse_expression(args.expression)
    elif args.command == "similarity" and len(args.texts) < 2:
        raise UsageError("similarity takes two or more texts")
    elif args.command == "search":
        args.filter = parse_filters(args.filters)
        if args.query is None and not args.like:
            raise UsageError("give a QUERY to search for, or --like ID")
    elif args.command == "direction":
        _prepare_direction(args)
    elif args.command == "project" and not args.terms and args.top is None:
        raise UsageError("give TERMs to project, or --top N for the keys at each end")
    elif args.command == "weat":
        args.target_terms = [
            [_term(t, args.text) for t in read_terms(f, "--targets")] for f in args.targets
        ]
        args.attribute_terms = [
            [_term(t, args.text) for t in read_terms(f, "--attributes")] for f in args.attributes
        ]
    elif args.command == "components" and len(args.terms) < 2:
        raise UsageError("components takes two or more terms")
    elif args.command == "import":
        if args.batch_size < 1:
            raise UsageError(f"--batch-size: must be 1 or more, got {args.batch_size}")
        fields = Fields(args.id_field, args.text_field, args.vector_field)
        try:  # before connecting: a bad file fails at once
            args.source = read_documents(args.file, fields, args.format)
        except RecordError as error:
            raise UsageError(str(error)) from None


# Commands whose own inputs are texts: the terms of their directions are texts too.
_TEXT_COMMANDS = ("encode", "similarity", "search")


def _sent_direction(
    spec: str | list[tuple[str, str]], as_text: bool
) -> str | list[tuple[str | Text, str | Text]]:
    """A parsed SPEC as sent: a name, or its pairs as keys or (``as_text``) texts."""
    if isinstance(spec, str):
        return spec
    return [(_term(a, as_text), _term(b, as_text)) for a, b in spec]


def _prepare_direction(args: argparse.Namespace) -> None:
    """``latent direction``: PAIRs, or --from and --to; args.direction is what is sent."""
    poles = args.from_terms is not None or args.to_terms is not None
    if args.pairs and poles:
        raise UsageError("give PAIRs (man:woman) or --from and --to, not both")
    if poles:
        if args.from_terms is None or args.to_terms is None:
            raise UsageError("--from and --to go together: --from TERM... --to TERM...")
        if args.method is not None:
            raise UsageError("--method: only for PAIRs, not --from and --to")
        args.pairs_given = []
        args.direction = Poles(
            [_term(t, args.text) for t in args.from_terms],
            [_term(t, args.text) for t in args.to_terms],
        )
    elif args.pairs:
        args.pairs_given = [pair for arg in args.pairs for pair in parse_pairs(arg, "PAIR")]
        method: DirectionMethod = "mean_difference" if args.method == "mean" else "pca"
        sent = [(_term(a, args.text), _term(b, args.text)) for a, b in args.pairs_given]
        args.direction = Pairs(sent, method=method)
    else:
        raise UsageError("give PAIRs (man:woman he:she) or --from TERM... --to TERM...")
    if args.save is None:
        for flag, given in (("--description", args.description), ("--overwrite", args.overwrite)):
            if given:
                raise UsageError(f"{flag}: only with --save NAME")
    if args.restrict is not None and args.top is None:
        raise UsageError("--restrict: only with --top N")


def _sent_keys(args: argparse.Namespace) -> list[str]:
    """The terms that go to latentd as keys (none with --text, or for texts)."""
    if getattr(args, "text", True):
        return []
    if args.command == "analogy":
        return [*args.positive, *args.negative]
    if args.command == "interpolate":
        return [args.start, args.end]
    if args.command == "navigate":
        return [args.start]
    if args.command in ("project", "components"):
        return list(args.terms)
    if args.command == "direction":
        pairs = [t for pair in args.pairs_given for t in pair]
        return [*pairs, *(args.from_terms or ()), *(args.to_terms or ())]
    if args.command == "weat":
        groups = [*args.target_terms, *args.attribute_terms]
        return [t for group in groups for t in group if isinstance(t, str)]
    return list(getattr(args, "words", ()))  # nearest, doesnt-match


def _looks_like_option(arg: str, command: str) -> bool:
    if len(arg) < 2 or arg[0] != "-" or arg[1].isdigit() or arg[1] == ".":
        return False  # "-", or a negative number
    if command == "analogy":
        # "-man" after -- is the negative term man; only --long and -k, -h look like options.
        return arg.startswith("--") or re.fullmatch(r"-[A-Za-z]\d*", arg) is not None
    return True


def _warn_option_like_terms(argv: Sequence[str], command: str) -> None:
    if "--" not in argv:
        return
    for arg in argv[argv.index("--") + 1 :]:
        if _looks_like_option(arg, command):
            print(
                f"{PROG}: warning: {arg!r} looks like an option; taken as a term because it "
                "follows --",
                file=sys.stderr,
            )


def _in_flags(message: str, command: str = "") -> str:
    """A server message with API field names replaced by the command's flags."""
    field, sep, rest = message.partition(": ")
    if sep and field in _FIELD_FLAGS:
        message = f"{_FIELD_FLAGS[field]}: {rest}"
    elif sep and _REMOVE_FIELD.fullmatch(field):
        message = f"--remove: {rest}"
    elif sep and command in ("project", "navigate") and _DIRECTION_FIELD.fullmatch(field):
        message = f"--direction: {rest}"
    elif sep and command == "direction" and (match := _DEFINITION_FIELD.fullmatch(field)):
        pair, pole = match["pair"], match["pole"]
        place = f"PAIR {int(pair) + 1}" if pair is not None else f"--{pole}"
        message = f"{place}: {rest}"
    for api, flag in _HINT_FLAGS:
        message = message.replace(api, flag)
    return message


def _error_line(
    error: LatentError,
    target: str,
    timeout: float,
    keys: Sequence[str] = (),
    command: str = "",
) -> str:
    message = " ".join(error.message.split())  # one line, whatever the server sent
    if isinstance(error, Unavailable) and message.startswith(_LOADING):
        return f"latentd at {target} is starting (loading models); try again in a few seconds"
    if isinstance(error, ServerUnreachable):
        return (
            f"cannot reach latentd at {target} (is it running? set --target or {TARGET_ENV})"
            + connection_hint(message)
        )
    if isinstance(error, DeadlineExceeded):
        return (
            f"no answer from latentd at {target} within {timeout:g}s "
            "(is it running? raise --timeout for slow queries)"
        )
    message = _in_flags(message, command)
    if (
        isinstance(error, NotFound)
        and command in ("import", "search")
        and message.startswith("collection: unknown collection")
    ):
        message += " (create it with: latent collection create NAME --model MODEL)"
    if isinstance(error, NotFound) and "--text" not in message:
        spaced = [k for k in keys if len(k.split()) > 1 and repr(k) in message]
        if spaced:
            message += f" (to average the words of {spaced[0]!r}, pass it with --text)"
    label = error.code.name.lower().replace("_", " ") if error.code is not None else "error"
    return f"{label}: {message}"


def _timing_line(info: CallInfo) -> str:
    parts = [f"request_id {info.request_id}"]
    for name, ms in (
        ("total", info.total_ms),
        ("queue", info.queue_ms),
        ("inference", info.inference_ms),
    ):
        if ms is not None:
            parts.append(f"{name} {ms:.1f} ms")
    return ", ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed). Bad arguments
    raise SystemExit(2) after the subcommand's usage line and one error line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    args, unknown = parser.parse_known_args(argv)
    action = getattr(args, "action", None)
    command = parser.commands[f"{args.command} {action}" if action else args.command]
    if unknown:
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.target = getattr(args, "target", None) or os.environ.get(TARGET_ENV) or DEFAULT_TARGET
    args.timeout = getattr(args, "timeout", DEFAULT_TIMEOUT)
    args.json = getattr(args, "json", False)
    args.timing = getattr(args, "timing", False)
    try:
        _prepare(args)
    except UsageError as error:
        command.error(str(error))
    _warn_option_like_terms(argv, args.command)

    from latent.client import Client  # grpc and numpy only once the arguments are good

    try:
        with Client(args.target, timeout=args.timeout, **client_options(args)) as client:
            try:
                _COMMANDS[args.command](client, args)
            finally:
                if args.timing and client.last_call is not None:
                    print(f"{PROG}: {_timing_line(client.last_call)}", file=sys.stderr)
    except LatentError as error:
        line = _error_line(error, args.target, args.timeout, _sent_keys(args), args.command)
        print(f"{PROG}: {line}", file=sys.stderr)
        return EXIT_FAILED
    except (UsageError, ValueError) as error:  # the client refused an argument
        command.error(in_flags(str(error)))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: no traceback, and no second error when
        # Python flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
