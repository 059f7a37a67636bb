"""The Explorer page in a real browser (Debian's Chromium through Playwright) against the
session's real `latentd serve` with the default models: every view, errors, the API key
header, and no console error. Screenshots of each view go to test-output/explorer/."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser import VIEWPORT, ConsoleLog, chromium, require_chromium

from latentd.testing import (
    child_env,
    latentd_command,
    read_serving_line,
    serving_http_url,
    stop_process,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-output" / "explorer"
GLOVE = "glove-6b-50d"
SENTENCE = "all-minilm-l6-v2"
WAIT_MS = 30_000  # every expect() waits up to this long: no test relies on timing luck


# -- the server ----------------------------------------------------------------------------


def call(base: str, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST /v1/<Service>/<Method> with a JSON body; the JSON answer (HTTPError if not 2xx)."""
    request = urllib.request.Request(
        f"{base}/v1/{method}",
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer: dict[str, Any] = json.loads(response.read() or b"{}")
        return answer


# -- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with chromium() as launched:
        yield launched


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def blank_page(browser: Browser, console: ConsoleLog) -> Iterator[Page]:
    """A fresh page (its own context: no sessionStorage shared). At teardown: no console
    error or page error beyond those the test expected."""
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    console.attach(page)
    yield page
    context.close()
    unexpected = console.unexpected()
    assert not unexpected, "errors in the browser console:\n" + "\n".join(unexpected)


@pytest.fixture
def page(blank_page: Page, default_http: str) -> Page:
    """The Explorer of the session's server, with the lists of spaces loaded."""
    from playwright.sync_api import expect

    blank_page.goto(f"{default_http}/")
    expect(blank_page.locator("body")).to_have_attribute("data-ready", "true")
    expect(blank_page.get_by_test_id("global-error")).to_be_hidden()
    return blank_page


def screenshot(page: Page, view: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{view}.png"), full_page=True)


def pick_space(page: Page, name: str) -> None:
    page.get_by_test_id("space-select").select_option(name)


def run_query(page: Page, query: str) -> None:
    page.get_by_test_id("neighbours-query").fill(query)
    page.get_by_test_id("neighbours-run").click()


# -- the views -----------------------------------------------------------------------------


def test_analogy_puts_queen_first(page: Page) -> None:
    from playwright.sync_api import expect

    pick_space(page, GLOVE)
    info = page.get_by_test_id("space-info")
    expect(info).to_contain_text("word model")
    expect(info.locator("[data-field=dimension] dd")).to_have_text("50")
    expect(info.locator("[data-field=vocabulary] dd")).to_have_text("400,000")

    run_query(page, "king - man + woman")
    keys = page.get_by_test_id("neighbour-key")
    expect(keys.first).to_have_text("queen")
    expect(keys).to_have_count(10)
    # Each neighbour has its score (a cosine) beside its bar; best first.
    scores = [float(s) for s in page.get_by_test_id("score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    assert 0 < scores[0] <= 1
    expect(page.get_by_test_id("neighbours-summary")).to_contain_text("Analogy")
    # A plain word asks for its nearest keys.
    run_query(page, "ocean")
    expect(page.get_by_test_id("neighbours-summary")).to_contain_text("Nearest")
    expect(keys.first).not_to_have_text("ocean")
    expect(keys).to_have_count(10)
    run_query(page, "king - man + woman")
    expect(keys.first).to_have_text("queen")
    expect(page.get_by_test_id("neighbours-error")).to_be_hidden()
    screenshot(page, "neighbours")


def test_interpolation_draws_the_path_and_its_neighbours(page: Page) -> None:
    from playwright.sync_api import expect

    pick_space(page, GLOVE)
    page.get_by_role("tab", name="Interpolation").click()
    page.get_by_test_id("interp-start").fill("king")
    page.get_by_test_id("interp-end").fill("queen")
    page.get_by_test_id("interp-steps").fill("5")
    page.get_by_test_id("interp-run").click()

    plot = page.get_by_test_id("interp-plot")
    points = plot.get_by_test_id("path-point")
    expect(points).to_have_count(5)
    labels = plot.get_by_test_id("path-label").all_text_contents()
    assert len(labels) == 5 and all(labels), labels
    # The ends are the inputs themselves (their own nearest keys).
    assert (labels[0], labels[-1]) == ("king", "queen")
    ts = [float(p.get_attribute("data-t") or "nan") for p in points.all()]
    assert ts == pytest.approx([0, 0.25, 0.5, 0.75, 1], abs=1e-3)
    # Five distinct positions, joined by one line.
    centres = {
        (c.get_attribute("cx"), c.get_attribute("cy")) for c in points.locator("circle").all()
    }
    assert len(centres) == 5
    expect(plot.locator("polyline.path-line")).to_have_count(1)
    # The other neighbours of the points as smaller labelled dots.
    dots = plot.get_by_test_id("neighbour-dot")
    expect(dots.first).to_be_visible()
    keys = [d.get_attribute("data-key") for d in dots.all()]
    assert keys and all(keys) and not set(keys) & set(labels), (keys, labels)
    assert dots.locator("text").all_text_contents() == keys
    expect(page.get_by_test_id("interp-summary")).to_contain_text("PCA")
    expect(page.get_by_test_id("interp-error")).to_be_hidden()
    screenshot(page, "interpolation")


def projections(page: Page) -> dict[str, tuple[float, float | None]]:
    """{term: (x, y or None)} of the points drawn in the Directions view."""
    out: dict[str, tuple[float, float | None]] = {}
    for point in page.get_by_test_id("dir-plot").get_by_test_id("term-point").all():
        y = point.get_attribute("data-y")
        out[point.get_attribute("data-key") or ""] = (
            float(point.get_attribute("data-x") or "nan"),
            float(y) if y else None,
        )
    return out


def test_directions_one_axis_by_poles(page: Page) -> None:
    from playwright.sync_api import expect

    pick_space(page, GLOVE)
    page.get_by_role("tab", name="Directions").click()
    page.get_by_test_id("dir-x-mode").select_option("poles")
    page.get_by_test_id("dir-x-from").fill("man")
    page.get_by_test_id("dir-x-to").fill("woman")
    page.get_by_test_id("dir-y-mode").select_option("none")
    terms = ["king", "queen", "man", "woman", "prince", "princess"]
    page.get_by_test_id("dir-terms").fill(", ".join(terms))
    page.get_by_test_id("dir-run").click()

    plot = page.get_by_test_id("dir-plot")
    points = plot.get_by_test_id("term-point")
    expect(points).to_have_count(len(terms))
    assert sorted(plot.get_by_test_id("term-label").all_text_contents()) == sorted(terms)
    drawn = projections(page)
    assert set(drawn) == set(terms)
    assert all(y is None for _, y in drawn.values())  # one axis
    assert drawn["queen"][0] > drawn["king"][0]
    assert drawn["princess"][0] > drawn["prince"][0]
    assert drawn["woman"][0] > drawn["man"][0]
    # On screen too: queen to the right of king, every point on one line.
    circle = {
        key: points.filter(has=page.locator(f'text="{key}"')).locator("circle")
        for key in ("king", "queen")
    }
    assert float(circle["queen"].get_attribute("cx") or 0) > float(
        circle["king"].get_attribute("cx") or 0
    )
    assert len({c.get_attribute("cy") for c in points.locator("circle").all()}) == 1
    screenshot(page, "directions")


def test_directions_two_axes_pairs_and_saved(page: Page, default_http: str) -> None:
    """x from pairs, y a direction saved over HTTP (listed after a reload of the spaces)."""
    from playwright.sync_api import expect

    name = f"explorer-royalty-{uuid.uuid4().hex[:8]}"
    call(
        default_http,
        "Directions/Save",
        {
            "space": GLOVE,
            "name": name,
            "description": "commoner to royal",
            "direction": {
                "poles": {
                    "fromTerms": [{"key": "man"}, {"key": "woman"}],
                    "toTerms": [{"key": "king"}, {"key": "queen"}],
                }
            },
        },
    )
    try:
        pick_space(page, GLOVE)
        page.get_by_role("button", name="↻").click()
        page.get_by_role("tab", name="Directions").click()
        page.get_by_test_id("dir-x-mode").select_option("pairs")
        page.get_by_test_id("dir-x-pairs").fill("man → woman, he -> she, boy:girl")
        page.get_by_test_id("dir-y-mode").select_option("saved")
        expect(page.get_by_test_id("dir-y-saved").locator(f'option[value="{name}"]')).to_have_count(
            1
        )
        page.get_by_test_id("dir-y-saved").select_option(name)
        page.get_by_test_id("dir-terms").fill("king, queen, man, woman")
        page.get_by_test_id("dir-run").click()

        expect(page.get_by_test_id("dir-plot").get_by_test_id("term-point")).to_have_count(4)
        drawn = projections(page)
        assert drawn["queen"][0] > drawn["king"][0]
        assert drawn["woman"][0] > drawn["man"][0]
        ys = {key: y for key, (_, y) in drawn.items()}
        assert all(y is not None for y in ys.values())
        assert min(ys["king"] or 0, ys["queen"] or 0) > max(ys["man"] or 0, ys["woman"] or 0)
        expect(page.get_by_test_id("dir-summary")).to_contain_text(name)
        screenshot(page, "directions-2d")
    finally:
        call(default_http, "Directions/Delete", {"space": GLOVE, "name": name})


DOCUMENTS = [
    (
        "whales",
        "Whales and dolphins swim in the deep ocean.",
        {"status": "published", "year": 2023},
    ),
    (
        "sea-draft",
        "The deep sea is full of whales, sharks and fish.",
        {"status": "draft", "year": 2024},
    ),
    ("bread", "How to bake sourdough bread at home.", {"status": "published", "year": 2021}),
    ("hiking", "Hiking in the mountains in spring.", {"status": "published", "year": 2022}),
]


@pytest.fixture
def collection(default_http: str) -> Iterator[str]:
    """A collection over the default sentence model with DOCUMENTS, deleted afterwards."""
    name = f"explorer-{uuid.uuid4().hex[:8]}"
    call(default_http, "Collections/CreateCollection", {"name": name, "model": SENTENCE})
    try:
        call(
            default_http,
            "Collections/Upsert",
            {
                "collection": name,
                "documents": [
                    {"id": id_, "text": text, "metadata": metadata}
                    for id_, text, metadata in DOCUMENTS
                ],
            },
        )
        yield name
    finally:
        call(default_http, "Collections/DeleteCollection", {"name": name})


def test_collection_search_with_a_filter(page: Page, collection: str) -> None:
    from playwright.sync_api import expect

    # The collection was made after the page loaded: reload the lists.
    page.get_by_role("button", name="↻").click()
    page.get_by_role("tab", name="Collections").click()
    page.get_by_test_id("coll-select").select_option(collection)
    info = page.get_by_test_id("coll-info")
    expect(info.locator("[data-field=documents] dd")).to_have_text(str(len(DOCUMENTS)))
    expect(info.locator("[data-field=model] dd")).to_have_text(SENTENCE)

    page.get_by_test_id("coll-query").fill("creatures of the deep sea")
    page.get_by_test_id("coll-filter").fill("")
    page.get_by_test_id("coll-run").click()
    hits = page.get_by_test_id("hit-row")
    expect(hits).to_have_count(len(DOCUMENTS))
    ids = page.get_by_test_id("hit-id").all_inner_texts()
    assert set(ids[:2]) == {"whales", "sea-draft"}, ids

    # Only published documents: the draft about the sea is gone.
    page.get_by_test_id("coll-filter").fill(
        '{"condition": {"key": "status", "equals": "published"}}'
    )
    page.get_by_test_id("coll-run").click()
    expect(hits).to_have_count(3)
    expect(page.get_by_test_id("hit-id").first).to_have_text("whales")
    expect(page.locator('[data-testid=hit-row][data-id="sea-draft"]')).to_have_count(0)
    first = hits.first
    expect(first.get_by_test_id("hit-text")).to_have_text(DOCUMENTS[0][1])
    expect(first.get_by_test_id("hit-metadata")).to_contain_text("status: published")
    expect(first.get_by_test_id("hit-metadata")).to_contain_text("year: 2023")
    expect(page.get_by_test_id("coll-summary")).to_contain_text("filtered")
    screenshot(page, "collections")

    # A filter that is not JSON is named on the page, before any request.
    page.get_by_test_id("coll-filter").fill("{status: published")
    page.get_by_test_id("coll-run").click()
    expect(page.get_by_test_id("coll-error")).to_contain_text("filter: not valid JSON")

    # The collection is a space too: its documents are the neighbours of a text.
    pick_space(page, collection)
    expect(page.get_by_test_id("space-info")).to_contain_text("collection")
    page.get_by_role("tab", name="Neighbours").click()
    run_query(page, "baking bread")
    expect(page.get_by_test_id("neighbour-key").first).to_have_text("bread")
    # ... and a path between two texts runs among its documents (vectors from Get).
    page.get_by_role("tab", name="Interpolation").click()
    page.get_by_test_id("interp-start").fill("whales in the sea")
    page.get_by_test_id("interp-end").fill("baking bread")
    page.get_by_test_id("interp-run").click()
    plot = page.get_by_test_id("interp-plot")
    expect(plot.get_by_test_id("path-point")).to_have_count(5)
    labels = plot.get_by_test_id("path-label").all_text_contents()
    assert labels[0] in {"whales", "sea-draft"} and labels[-1] == "bread", labels
    dots = {d.get_attribute("data-key") for d in plot.get_by_test_id("neighbour-dot").all()}
    assert dots == {doc[0] for doc in DOCUMENTS} - set(labels)


def test_errors_are_shown_and_the_page_keeps_working(page: Page, console: ConsoleLog) -> None:
    from playwright.sync_api import expect

    # Chromium logs each failed request; these are the ones provoked here.
    console.expect(r"status of (404|400) ")
    pick_space(page, GLOVE)
    run_query(page, "qwertyuiopzz - man + woman")
    error = page.get_by_test_id("neighbours-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("NOT_FOUND")
    expect(error).to_contain_text("qwertyuiopzz")
    expect(page.get_by_test_id("neighbours-results")).to_be_hidden()
    screenshot(page, "error")

    run_query(page, "king - man + woman")
    expect(page.get_by_test_id("neighbour-key").first).to_have_text("queen")
    expect(error).to_be_hidden()

    # A sentence model has no keys to search: the server's reason is shown.
    pick_space(page, SENTENCE)
    info = page.get_by_test_id("space-info")
    expect(info).to_contain_text("sentence model")
    expect(info.locator("[data-field=dimension] dd")).to_have_text("384")
    run_query(page, "a walk by the ocean")
    expect(error).to_contain_text("FAILED_PRECONDITION")
    expect(error).to_contain_text("no keys")


def test_api_key_header_and_network_failure(page: Page, console: ConsoleLog) -> None:
    from playwright.sync_api import Route, expect

    pick_space(page, GLOVE)
    key = page.get_by_test_id("api-key")
    key.fill("explorer-test-key")
    key.press("Enter")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    assert page.evaluate("sessionStorage.getItem('latent.explorer.apiKey')") == "explorer-test-key"
    with page.expect_request("**/v1/Arithmetic/Analogy") as sent:
        run_query(page, "king - man + woman")
    assert sent.value.headers.get("authorization") == "Bearer explorer-test-key"
    expect(page.get_by_test_id("neighbour-key").first).to_have_text("queen")
    key.fill("")
    key.press("Enter")
    with page.expect_request("**/v1/Arithmetic/Nearest") as sent:
        run_query(page, "ocean")
    assert "authorization" not in sent.value.headers

    # The server cannot be reached: a message, not a blank page.
    console.expect(r"net::ERR_FAILED")

    def fail(route: Route) -> None:
        route.abort()

    page.route("**/v1/Arithmetic/**", fail)
    run_query(page, "paris - france + italy")
    error = page.get_by_test_id("neighbours-error")
    expect(error).to_contain_text("NETWORK")
    expect(error).to_contain_text("could not reach latentd")
    page.unroute("**/v1/Arithmetic/**", fail)
    run_query(page, "king - man + woman")
    expect(page.get_by_test_id("neighbour-key").first).to_have_text("queen")
    expect(error).to_be_hidden()


def test_page_and_static_files_are_served(default_http: str) -> None:
    """Without a key and without any external URL: the page works offline."""
    page = urllib.request.urlopen(f"{default_http}/", timeout=30).read().decode()
    for path in ("/explorer/explorer.js", "/explorer/explorer.css"):
        assert path in page
        with urllib.request.urlopen(f"{default_http}{path}", timeout=30) as response:
            assert response.status == 200
    explorer = REPO / "service" / "latentd" / "http" / "explorer"
    for file in explorer.iterdir():
        text = file.read_text()
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), file.name
        assert not re.search(r"url\((https?:)?//|@import", text), file.name
    with pytest.raises(urllib.error.HTTPError) as failed:
        call(default_http, "Arithmetic/Analogy", {"positive": [{"key": "qwertyuiopzz"}]})
    assert failed.value.code == 404


@pytest.fixture
def keyed_http(tmp_path: Path) -> Iterator[str]:
    """A `latentd serve` without models (it starts in a second) that needs an API key."""
    process = subprocess.Popen(
        [
            *latentd_command(),
            "serve",
            "--port",
            "0",
            "--http-port",
            "0",
            "--no-default-models",
            "--api-key",
            "explorer-secret",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(drop_latent=True),
    )
    try:
        yield serving_http_url(read_serving_line(process, timeout=120))
    finally:
        stop_process(process)


def test_a_server_with_keys_asks_for_one(
    blank_page: Page, keyed_http: str, console: ConsoleLog
) -> None:
    """The page itself loads without a key; the API answers 401 until the key is given."""
    from playwright.sync_api import expect

    console.expect(r"status of 401 ")
    page = blank_page
    page.goto(f"{keyed_http}/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    error = page.get_by_test_id("global-error")
    expect(error).to_contain_text("UNAUTHENTICATED")
    expect(error).to_contain_text("API key")
    key = page.get_by_test_id("api-key")
    key.fill("explorer-secret")
    key.press("Enter")
    expect(error).to_be_hidden()
    # No model and no collection on this server: an empty list, and a message on use.
    page.get_by_role("tab", name="Collections").click()
    page.get_by_test_id("coll-query").fill("anything")
    page.get_by_test_id("coll-run").click()
    expect(page.get_by_test_id("coll-error")).to_contain_text("no collection")
