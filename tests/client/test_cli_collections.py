"""`latent collection`, `latent import` and `latent search`, run in-process with
`main([...])` against a real latentd (`collections_target`: once per backend); the
filter mini-language and the file readers need no server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from latent._records import Fields, RecordError, read_documents
from latent.cli import UsageError, main, parse_filter, parse_filters

SENTENCE = "all-minilm-l6-v2"

ROWS = [
    {"id": "j1", "text": "A kitten is sleeping on the sofa.", "lang": "en", "year": 2021},
    {"id": "j2", "text": "My dog loves long walks in the park.", "lang": "en", "year": 2019},
    {"id": "j3", "text": "Le chat dort sur le canapé.", "lang": "fr", "year": 2022},
    {"id": "j4", "text": "The central bank raised interest rates.", "lang": "en", "year": 2023},
]
CSV = (
    "id,text,lang,year,draft\n"
    'c1,"Cats like to nap in warm, sunny spots.",en,2020,false\n'
    "c2,A recipe for crusty sourdough bread.,en,2024,true\n"
    "c3,Cheap flights to Lisbon this summer.,pt,,\n"
)
IMPORTED = re.compile(r"^imported (\d+) documents into (\S+) in \d+\.\d s \(\d+ docs/s\)$")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit:  # argparse's usage errors
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def imported(collections_target: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The collection `cli-docs`: ROWS from JSON lines and CSV's three rows."""
    directory = tmp_path_factory.mktemp("import")
    jsonl = write_jsonl(directory / "docs.jsonl", ROWS)
    csv = directory / "docs.csv"
    csv.write_text(CSV, encoding="utf-8")
    target = ["--target", collections_target]
    assert main(["collection", "create", "cli-docs", "--model", SENTENCE, *target]) == 0
    assert main(["import", "cli-docs", str(jsonl), *target]) == 0
    assert main(["import", "cli-docs", str(csv), "--batch-size", "2", *target]) == 0
    return "cli-docs"


def test_collection_create_info_list_delete(
    collections_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ("--target", collections_target)
    code, out, err = run(
        capsys, "collection", "create", "cli-life", "--dimension", "3", "--metric", "l2", *target
    )
    assert (code, err) == (0, "")
    fields = dict(line.split(None, 1) for line in out.splitlines())
    assert fields["name"] == "cli-life"
    assert fields["dimension"] == "3" and fields["metric"] == "l2"
    assert fields["documents"] == "0"
    assert fields["model"].startswith("-")

    code, out, _ = run(capsys, "collection", "info", "cli-life", "--json", *target)
    info = json.loads(out)
    assert (code, info["name"], info["dimension"], info["metric"]) == (0, "cli-life", 3, "l2")

    backend = json.loads(run(capsys, "collection", "info", "cli-life", "--json", *target)[1])[
        "backend"
    ]
    assert backend in ("embedded", "milvus")
    code, out, _ = run(capsys, "collection", "list", *target)
    lines = out.splitlines()
    assert code == 0
    headers = ["name", "model", "dim", "metric", "docs", "index", "disk", "backend"]
    assert lines[0].split() == headers
    assert any(line.split()[:4] == ["cli-life", "-", "3", "l2"] for line in lines[1:])
    assert any(line.split()[0] == "cli-life" and line.endswith(backend) for line in lines[1:])

    code, out, _ = run(capsys, "collection", "delete", "cli-life", *target)
    assert (code, out) == (0, "deleted collection cli-life\n")
    code, _, err = run(capsys, "collection", "info", "cli-life", *target)
    assert code == 1
    assert err.startswith("latent: not found: collection: unknown collection 'cli-life'")


def test_collection_create_errors(
    collections_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ("--target", collections_target)
    code, _, err = run(capsys, "collection", "create", "cli-x", *target)
    assert code == 2
    assert "one of the arguments --model --dimension is required" in err
    args = ("collection", "create", "cli-twice", "--dimension", "2", *target)
    assert run(capsys, *args)[0] == 0
    code, _, err = run(capsys, *args)
    assert code == 1
    assert err.startswith("latent: already exists: collection 'cli-twice' exists")
    assert run(capsys, *args, "--exist-ok")[0] == 0
    code, _, err = run(capsys, "collection", "create", "../up", "--dimension", "2", *target)
    assert code == 1
    assert err.startswith("latent: invalid argument: NAME: '../up' is not a collection name")


def test_import_prints_a_summary(
    collections_target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ("--target", collections_target)
    assert run(capsys, "collection", "create", "cli-summary", "--model", SENTENCE, *target)[0] == 0
    path = write_jsonl(tmp_path / "few.jsonl", ROWS[:3])
    code, out, err = run(capsys, "import", "cli-summary", str(path), *target)
    assert (code, err) == (0, "")  # no progress bar when stderr is not a terminal
    match = IMPORTED.match(out.strip())
    assert match, out
    assert match.groups() == ("3", "cli-summary")


def test_imported_documents_and_metadata(
    collections_target: str, imported: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import latent

    with latent.Client(collections_target) as client:
        assert client.count(imported) == 7
        found = client.get(imported, ["j3", "c1", "c3"]).documents
    assert found[0].metadata == {"lang": "fr", "year": 2022}
    # CSV cells that read as numbers or bools are typed; empty cells are left out.
    assert found[1].text == "Cats like to nap in warm, sunny spots."
    assert found[1].metadata == {"lang": "en", "year": 2020, "draft": False}
    assert found[2].metadata == {"lang": "pt"}


def test_search_table_and_filters(
    collections_target: str, imported: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ("--target", collections_target)
    code, out, err = run(
        capsys, "search", imported, "a kitten asleep on the sofa", "-k", "3", *target
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["#", "id", "score", "text"]
    assert lines[1].split()[:2] == ["1", "j1"]
    assert len(lines) == 4

    code, out, _ = run(
        capsys,
        "search",
        imported,
        "a sleepy cat",
        "-k",
        "10",
        "--filter",
        "lang=en",
        "--filter",
        "year>=2021",
        "--json",
        *target,
    )
    result = json.loads(out)
    ids = {h["id"] for h in result["hits"]}
    assert code == 0 and ids == {"j1", "j4", "c2"}
    assert all(h["metadata"]["lang"] == "en" for h in result["hits"])

    def search_ids(*filters: str) -> set[str]:
        argv = ["search", imported, "anything", "-k", "10", "--json", *target]
        for f in filters:
            argv += ["--filter", f]
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        return {h["id"] for h in json.loads(out)["hits"]}

    assert search_ids("lang in fr,pt") == {"j3", "c3"}
    assert search_ids("lang!=en") == {"j3", "c3"}
    assert search_ids("draft?") == {"c1", "c2"}
    assert search_ids("draft=true") == {"c2"}
    assert search_ids("year<2020") == {"j2"}
    assert search_ids("year>2022", "lang=en") == {"j4", "c2"}


def test_search_like_and_threshold(
    collections_target: str, imported: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ("--target", collections_target)
    code, out, _ = run(capsys, "search", imported, "--like", "j1", "-k", "1", *target)
    assert code == 0
    assert out.splitlines()[1].split()[:2] == ["1", "c1"]  # the other cat nap
    code, out, _ = run(
        capsys, "search", imported, "interest rates", "--score-threshold", "0.99", *target
    )
    assert (code, out) == (0, "(no hits)\n")
    code, _, err = run(capsys, "search", imported, *target)
    assert code == 2
    assert "give a QUERY to search for, or --like ID" in err


def test_unknown_collection_says_how_to_create_it(
    collections_target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "search", "cli-nope", "x", "--target", collections_target)
    assert code == 1
    assert "unknown collection 'cli-nope'" in err
    assert "latent collection create NAME --model MODEL" in err
    path = write_jsonl(tmp_path / "one.jsonl", ROWS[:1])
    code, _, err = run(capsys, "import", "cli-nope", str(path), "--target", collections_target)
    assert code == 1 and "unknown collection 'cli-nope'" in err


def test_import_vectors_and_errors_name_the_line(
    collections_target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ("--target", collections_target)
    assert run(capsys, "collection", "create", "cli-vec", "--dimension", "3", *target)[0] == 0
    good = write_jsonl(
        tmp_path / "good.jsonl",
        [{"doc": "a", "emb": [1, 0, 0], "tag": "x"}, {"doc": "b", "emb": [0, 1, 0]}],
    )
    argv = ("import", "cli-vec", str(good), "--id-field", "doc", "--vector-field", "emb")
    code, out, _ = run(capsys, *argv, *target)
    assert code == 0 and IMPORTED.match(out.strip())

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc": "c", "emb": [1, 1, 0]}\n\n{"doc": "d", "emb": [1, 2]}\n')
    code, _, err = run(
        capsys, "import", "cli-vec", str(bad), "--id-field", "doc", "--vector-field", "emb", *target
    )
    assert code == 1
    assert err == "latent: invalid argument: bad.jsonl line 3: vector: expected 3 values, got 2\n"

    code, _, err = run(capsys, "import", "cli-vec", str(good), *target)  # id field "id"
    assert code == 2
    assert "good.jsonl line 1: no 'id' field (choose the id field with --id-field)" in err
    code, _, err = run(capsys, "import", "cli-vec", str(tmp_path / "missing.jsonl"), *target)
    assert code == 2 and "missing.jsonl" in err


def test_import_parquet(
    collections_target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "id": ["p1", "p2"],
            "text": ["A kitten is sleeping on the sofa.", "Stock markets fell on Monday."],
            "year": [2021, None],
            "tags": [["pets"], ["finance", "news"]],
        }
    )
    path = tmp_path / "docs.parquet"
    pq.write_table(table, path)
    target = ("--target", collections_target)
    assert run(capsys, "collection", "create", "cli-parquet", "--model", SENTENCE, *target)[0] == 0
    code, out, err = run(capsys, "import", "cli-parquet", str(path), *target)
    assert (code, err) == (0, "")
    assert IMPORTED.match(out.strip())
    code, out, _ = run(
        capsys, "search", "cli-parquet", "news", "--filter", "tags=news", "--json", *target
    )
    [hit] = json.loads(out)["hits"]
    assert (hit["id"], hit["metadata"]) == ("p2", {"tags": ["finance", "news"]})


# -- no server --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("lang=en", {"lang": "en"}),
        ("lang == en", {"lang": "en"}),
        ("year=2020", {"year": 2020}),
        ('code="007"', {"code": "007"}),
        ("draft=true", {"draft": True}),
        ("lang!=en", {"none": [{"lang": "en"}]}),
        ("year>=2020", {"year": {"gte": 2020}}),
        ("year > 2020", {"year": {"gt": 2020}}),
        ("score<=0.5", {"score": {"lte": 0.5}}),
        ("score<1e3", {"score": {"lt": 1000.0}}),
        ("lang in en, fr,de", {"lang": {"in": ["en", "fr", "de"]}}),
        ("year in 2020,2021", {"year": {"in": [2020, 2021]}}),
        ("summary?", {"summary": {"exists": True}}),
        ("title=what?", {"title": "what?"}),
        ("note=a=b", {"note": "a=b"}),
    ],
)
def test_parse_filter(expression: str, expected: dict[str, object]) -> None:
    assert parse_filter(expression) == expected


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("year>=abc", ">= needs a number"),
        ("lang", "expected key=value"),
        ("=en", "expected key=value"),
        ("lang in ,", "no values after 'in'"),
        ("draft>true", "> needs a number"),
    ],
)
def test_parse_filter_errors(expression: str, problem: str) -> None:
    with pytest.raises(UsageError, match=re.escape(problem)):
        parse_filter(expression)


def test_parse_filters_all_must_hold() -> None:
    assert parse_filters([]) is None
    assert parse_filters(["a=1"]) == {"a": 1}
    assert parse_filters(["a=1", "b>2"]) == {"all": [{"a": 1}, {"b": {"gt": 2}}]}


def test_read_documents_forms(tmp_path: Path) -> None:
    array = tmp_path / "array.json"
    array.write_text(json.dumps([{"id": 1, "body": "x", "n": None, "k": [1, 2]}]))
    with pytest.raises(RecordError, match="item 1: 'k': metadata values are strings"):
        read_documents(array, Fields(text="body"))
    array.write_text(json.dumps([{"id": 1, "body": "x", "n": None, "k": ["a"]}]))
    source = read_documents(array, Fields(text="body"))
    assert source.documents == [{"id": "1", "text": "x", "metadata": {"k": ["a"]}}]
    assert source.places == ["item 1"]
    csv = tmp_path / "v.csv"
    csv.write_text('id,vec,n\n007,"[1, 2]",1.5\n008,3 4,x\n')
    source = read_documents(csv, Fields(vector="vec"))
    assert [d["id"] for d in source.documents] == ["007", "008"]  # ids stay as written
    assert [d["vector"] for d in source.documents] == [[1.0, 2.0], [3.0, 4.0]]
    assert [d["metadata"] for d in source.documents] == [{"n": 1.5}, {"n": "x"}]
    assert source.places == ["row 1", "row 2"]
    with pytest.raises(RecordError, match=r"unknown file type '\.txt'"):
        read_documents(tmp_path / "notes.txt", Fields())
    lines = tmp_path / "d.jsonl"
    lines.write_text('{"id": "a"}\n[1]\n')
    with pytest.raises(RecordError, match=r"d\.jsonl line 2: expected a JSON object, got list"):
        read_documents(lines, Fields())
