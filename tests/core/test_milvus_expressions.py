"""Filters as Milvus expressions mean what `filters.matches` means: the same documents,
checked against a real Milvus (Milvus Lite from PyPI, in a file) for hand-picked cases
(bools are not numbers, lists contain, missing keys under `none`, quotes, backslashes
and newlines in keys and values: no expression injection) and for 400 random filters."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from latentd.core.documents import Condition, Filter, Range
from latentd.core.filters import check_filter, matches
from latentd.core.milvus_expressions import (
    FIELD,
    MATCH_ALL,
    expression,
    string_literal,
    typed_metadata,
)

pymilvus = pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip: pymilvus)")
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed (pip: milvus-lite)")

INJECTION = 'x" or 1 == 1 or "'
DOCUMENTS: list[dict[str, Any]] = [
    {"lang": "en", "year": 2020, "tags": ["a", "b"], "flag": True, "q": INJECTION},
    {"lang": "fr", "year": 2021.5, "tags": ["b"], "flag": False, "n": 1},
    {"lang": "en", "year": "2022", "tags": [], "q": "back\\slash"},
    {"year": 1, "flag": 1, "lang": ["en", "de"]},
    {"lang": "de", "n": True, "q": "new\nline é", 'we"ird': "k"},
    {},
    {"tags": ["a", "3", "b:true"], "n": 0, "year": -3.5},  # lists hold strings only
    {"lang": "", "q": "s:x", "n": "1", "it's": "o'clock"},
]


def condition(**test: Any) -> Filter:
    return Filter(condition=Condition(**test))


@pytest.fixture(scope="module")
def milvus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # it logs refused queries
    path: Path = tmp_path_factory.mktemp("milvus") / "filters.db"
    client = pymilvus.MilvusClient(str(path))
    schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", pymilvus.DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field(FIELD, pymilvus.DataType.JSON)
    schema.add_field("vector", pymilvus.DataType.FLOAT_VECTOR, dim=2)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="COSINE")
    client.create_collection("docs", schema=schema, index_params=index, consistency_level="Strong")
    client.insert(
        "docs",
        [
            {"id": str(i), FIELD: typed_metadata(m), "vector": [1.0, float(i)]}
            for i, m in enumerate(DOCUMENTS)
        ],
    )
    yield client
    client.close()


def found(client: Any, filter: Filter) -> list[str]:
    rows = client.query("docs", filter=expression(filter), output_fields=["id"], limit=100)
    return sorted(row["id"] for row in rows)


def expected(filter: Filter) -> list[str]:
    return sorted(str(i) for i, metadata in enumerate(DOCUMENTS) if matches(filter, metadata))


CASES = [
    condition(key="lang", equals="en"),
    condition(key="flag", equals=True),
    condition(key="flag", equals=1),  # a bool is not 1
    condition(key="n", equals=1),
    condition(key="n", equals="1"),
    condition(key="tags", equals="b"),
    condition(key="tags", equals=True),
    condition(key="lang", any_of=("fr", "de")),
    condition(key="flag", any_of=(False, 1)),
    condition(key="year", range=Range(gte=2020)),
    condition(key="year", range=Range(lt=5)),  # not "2022", not a bool
    condition(key="n", range=Range(gte=0, lte=1)),
    condition(key="q", exists=True),
    condition(key="q", exists=False),
    condition(key="q", equals=INJECTION),
    condition(key="q", equals="back\\slash"),
    condition(key="q", equals="new\nline é"),
    condition(key="q", equals="x"),  # the stored "s:x" is not the typed form of "x"
    condition(key='we"ird', equals="k"),
    condition(key="it's", equals="o'clock"),  # apostrophes in keys and values
    condition(key="it's", exists=True),
    condition(key='lang"] == "en" or exists metadata["q', exists=True),
    condition(key="lang", equals=""),
    Filter(none=(condition(key="lang", equals="en"),)),  # a missing key is not "en"
    Filter(none=(condition(key="year", range=Range(gt=0)),)),
    Filter(any=(condition(key="lang", equals="fr"), condition(key="n", equals=True))),
    Filter(all=(condition(key="lang", equals="en"), condition(key="year", range=Range(gt=2019.5)))),
    Filter(condition=Condition(key="tags", exists=True), none=(condition(key="tags", equals="a"),)),
]


@pytest.mark.parametrize("filter", CASES, ids=[expression(f)[:60] for f in CASES])
def test_the_same_documents_as_matches(milvus: Any, filter: Filter) -> None:
    check_filter(filter)
    assert found(milvus, filter) == expected(filter)


def test_an_injected_value_matches_only_itself(milvus: Any) -> None:
    assert found(milvus, condition(key="q", equals=INJECTION)) == ["0"]
    assert INJECTION not in expression(condition(key="q", equals=INJECTION))  # escaped


def random_filter(rng: random.Random, depth: int = 0) -> Filter:
    keys = ["lang", "year", "tags", "flag", "n", "q", "missing"]
    values: list[Any] = ["en", "fr", "de", "b", "a", "", 1, 0, 2020, 3, True, False, -3.5]
    if depth < 2 and rng.random() < 0.35:
        parts = tuple(random_filter(rng, depth + 1) for _ in range(rng.randint(1, 3)))
        return Filter(**{rng.choice(["all", "any", "none"]): parts})
    key = rng.choice(keys)
    test = rng.choice(["equals", "in", "range", "exists"])
    if test == "equals":
        return condition(key=key, equals=rng.choice(values))
    if test == "in":
        return condition(key=key, any_of=tuple(rng.sample(values, rng.randint(1, 3))))
    if test == "exists":
        return condition(key=key, exists=rng.random() < 0.5)
    bounds = {rng.choice(["gt", "gte", "lt", "lte"]): rng.choice([-5, 0, 1, 2020, 2021.5])}
    return condition(key=key, range=Range(**bounds))


def test_random_filters_mean_what_matches_means(milvus: Any) -> None:
    rng = random.Random(11)
    for _ in range(400):
        filter = random_filter(rng)
        check_filter(filter)
        assert found(milvus, filter) == expected(filter), expression(filter)


def test_no_filter_is_the_empty_expression() -> None:
    assert expression(None) == MATCH_ALL
    assert string_literal('a"b\\c\n') == '"a\\"b\\\\c\\n"'
