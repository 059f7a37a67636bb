// Latent Explorer: a single page over latentd's HTTP/JSON API (POST /v1/<Service>/<Method>,
// proto3 JSON in and out). Plain JavaScript and SVG: no library, no build step, no network
// access beyond the server that serves the page.
"use strict";

// ---------------------------------------------------------------------------------------
// The API

const API_KEY_STORAGE = "latent.explorer.apiKey";

/** An error to show on the page: a gRPC status name (or NETWORK / PAGE) and a message. */
class ApiError extends Error {
  constructor(code, message, status = 0) {
    super(message);
    this.code = code;
    this.status = status;
  }
  toString() {
    return `${this.code}: ${this.message}`;
  }
}

function authHeaders() {
  const key = document.getElementById("api-key").value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/**
 * Calls one RPC: POST /v1/<service>/<method> with `body` as proto3 JSON. Resolves to the
 * response message; rejects with an ApiError carrying the server's {code, message}, or
 * code NETWORK when the server could not be reached.
 */
async function rpc(service, method, body = {}) {
  let response;
  try {
    response = await fetch(`/v1/${service}/${method}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError("NETWORK", `could not reach latentd (${err.message || err})`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = (data && data.code) || `HTTP ${response.status}`;
    const message = (data && data.message) || text.slice(0, 300) || response.statusText;
    throw new ApiError(code, message, response.status);
  }
  if (data === null) {
    throw new ApiError("PAGE", `the server answered ${service}.${method} with something that is not JSON`);
  }
  return data;
}

// ---------------------------------------------------------------------------------------
// Small DOM helpers (text always goes through textContent: nothing from the server is
// parsed as HTML)

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  if (parent) parent.append(node);
  return node;
}

function showError(box, err) {
  const text = err instanceof ApiError ? err.toString() : `PAGE: ${err && err.message ? err.message : err}`;
  box.replaceChildren(el("strong", { text: text.split(":")[0] }), document.createTextNode(text.slice(text.indexOf(":"))));
  const hint = hintFor(err);
  if (hint) box.append(el("div", { class: "hint", text: hint }));
  box.hidden = false;
  if (!(err instanceof ApiError)) console.warn(err); // a bug of the page, not of the query
}

function hintFor(err) {
  if (!(err instanceof ApiError)) return "";
  if (err.code === "UNAUTHENTICATED") return "This server needs an API key: enter it at the top right.";
  if (err.code === "PERMISSION_DENIED") return "This API key may not call this method.";
  if (err.code === "NETWORK") return "Is latentd still running?";
  if (err.code === "UNAVAILABLE") return "The server is busy or still loading; try again in a few seconds.";
  return "";
}

function clearError(box) {
  box.hidden = true;
  box.replaceChildren();
}

/**
 * Runs `work` with the form's button disabled and errors shown in `errorBox`. The
 * `outputs` of the last run are emptied first, so that an error never sits beside the
 * results of an earlier query.
 */
async function guarded(button, errorBox, outputs, work) {
  clearError(errorBox);
  for (const output of outputs) {
    if (output.tagName === "TABLE") output.hidden = true;
    else output.replaceChildren();
  }
  button.disabled = true;
  document.body.classList.add("busy");
  try {
    await work();
  } catch (err) {
    showError(errorBox, err);
  } finally {
    button.disabled = false;
    document.body.classList.remove("busy");
  }
}

const fmt = (x, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const splitList = (text) => text.split(/[,;\n]/).map((s) => s.trim()).filter(Boolean);

function intValue(input, fallback) {
  const n = Number.parseInt(input.value, 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** A bar proportional to a score in [-1, 1] (cosine), with the number beside it. */
function scoreCell(score, max = 1) {
  const width = Math.max(0, Math.min(1, Math.abs(score) / (max || 1))) * 100;
  return el(
    "td",
    { class: "score-col" },
    el("span", { class: `bar${score < 0 ? " negative" : ""}` }, el("span", { style: `width:${width.toFixed(1)}%` })),
    el("span", { class: "score", "data-testid": "score", text: fmt(score) }),
  );
}

// ---------------------------------------------------------------------------------------
// Spaces: word models, sentence models and collections

const state = {
  spaces: new Map(), // name -> {name, kind: "WORD" | "SENTENCE" | "COLLECTION", info}
  directions: [], // saved directions of every space
};

function currentSpace() {
  return state.spaces.get($("space-select").value) || null;
}

/** How a user's word becomes a Term in the current space: a key in a word space (and in a
 * collection of your own vectors, whose keys are document ids), a text elsewhere. */
function term(text, space = currentSpace()) {
  const byKey = !space || space.kind === "WORD" || (space.kind === "COLLECTION" && !space.info.model);
  return byKey ? { key: text } : { text };
}

async function loadSpaces() {
  const box = $("global-error");
  clearError(box);
  const [models, collections, directions] = await Promise.allSettled([
    rpc("Models", "ListModels"),
    rpc("Collections", "ListCollections"),
    rpc("Directions", "List"),
  ]);
  const previous = $("space-select").value;
  state.spaces.clear();
  const failures = [models, collections, directions].filter((r) => r.status === "rejected");
  if (failures.length) showError(box, failures[0].reason);
  for (const info of models.status === "fulfilled" ? models.value.models || [] : []) {
    state.spaces.set(info.name, { name: info.name, kind: info.kind, info });
  }
  for (const info of collections.status === "fulfilled" ? collections.value.collections || [] : []) {
    if (!state.spaces.has(info.name)) state.spaces.set(info.name, { name: info.name, kind: "COLLECTION", info });
  }
  state.directions = directions.status === "fulfilled" ? directions.value.directions || [] : [];
  fillSpaceSelect(previous);
  fillCollectionSelect();
  showSpaceInfo();
}

function fillSpaceSelect(previous) {
  const select = $("space-select");
  const groups = [
    ["WORD", "Word models"],
    ["SENTENCE", "Sentence models"],
    ["COLLECTION", "Collections"],
  ];
  select.replaceChildren();
  for (const [kind, label] of groups) {
    const spaces = [...state.spaces.values()].filter((s) => s.kind === kind);
    if (!spaces.length) continue;
    spaces.sort((a, b) => Number(!!b.info.isDefault) - Number(!!a.info.isDefault) || a.name.localeCompare(b.name));
    const group = el("optgroup", { label });
    for (const space of spaces) group.append(el("option", { value: space.name, text: space.name }));
    select.append(group);
  }
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("space");
  const wanted = [previous, fromHash].find((name) => name && state.spaces.has(name));
  if (wanted) select.value = wanted;
  else {
    // The default word model when there is one: every view works there.
    const word = [...state.spaces.values()].find((s) => s.kind === "WORD" && s.info.isDefault);
    if (word) select.value = word.name;
  }
}

function fillCollectionSelect() {
  const select = $("coll-select");
  const previous = select.value;
  const collections = [...state.spaces.values()].filter((s) => s.kind === "COLLECTION");
  select.replaceChildren(
    ...collections.map((c) => el("option", { value: c.name, text: c.name })),
  );
  if (!collections.length) select.append(el("option", { value: "", text: "(no collection)" }));
  const space = currentSpace();
  if (space && space.kind === "COLLECTION") select.value = space.name;
  else if (previous && state.spaces.has(previous)) select.value = previous;
  showCollectionInfo();
}

const KIND_NAMES = { WORD: "word model", SENTENCE: "sentence model", COLLECTION: "collection" };
const INDEX_NAMES = {
  INDEX_STATE_UNSPECIFIED: "none (no keys)",
  EXACT: "exact",
  BUILDING: "exact (HNSW building)",
  HNSW: "HNSW",
};

function infoRows(space) {
  const i = space.info;
  const rows = [["kind", KIND_NAMES[space.kind] || space.kind], ["dimension", String(i.dimension)]];
  if (space.kind === "COLLECTION") {
    rows.push(["documents", Number(i.count || 0).toLocaleString("en")]);
    rows.push(["model", i.model || "(own vectors)"]);
    rows.push(["metric", i.metric || "COSINE"]);
    rows.push(["index", INDEX_NAMES[i.indexState] || i.indexState]);
    rows.push(["on disk", `${(Number(i.diskBytes || 0) / 1024).toFixed(0)} KiB`]);
  } else {
    if (space.kind === "WORD") {
      rows.push(["vocabulary", Number(i.numKeys || 0).toLocaleString("en")]);
      rows.push(["index", INDEX_NAMES[i.indexState] || i.indexState]);
      if (i.hasSubwords) rows.push(["subwords", "yes (fastText)"]);
    } else {
      rows.push(["max tokens", String(i.maxTokens)]);
      if ((i.promptNames || []).length) rows.push(["prompts", i.promptNames.join(", ")]);
    }
    if (i.isDefault) rows.push(["default", "yes"]);
    rows.push(["source", i.source || "–"]);
  }
  return rows;
}

function fillInfo(dl, space) {
  dl.replaceChildren();
  if (!space) return;
  for (const [name, value] of infoRows(space)) {
    dl.append(el("div", { "data-field": name }, el("dt", { text: name }), el("dd", { text: value, title: value })));
  }
}

function showSpaceInfo() {
  const space = currentSpace();
  fillInfo($("space-info"), space);
  fillSavedDirections();
  if (space) {
    const params = new URLSearchParams(location.hash.slice(1));
    params.set("space", space.name);
    history.replaceState(null, "", `#${params}`);
  }
}

function showCollectionInfo() {
  fillInfo($("coll-info"), state.spaces.get($("coll-select").value) || null);
}

// ---------------------------------------------------------------------------------------
// Tabs

const VIEWS = ["neighbours", "interpolation", "directions", "collections"];

function showView(view) {
  if (!VIEWS.includes(view)) view = "neighbours";
  for (const name of VIEWS) {
    $(`view-${name}`).hidden = name !== view;
    $(`tab-${name}`).setAttribute("aria-selected", String(name === view));
  }
  const params = new URLSearchParams(location.hash.slice(1));
  params.set("view", view);
  history.replaceState(null, "", `#${params}`);
}

// ---------------------------------------------------------------------------------------
// Neighbours

/**
 * Parses "king - man + woman" into positive and negative operands. `+` always separates;
 * `-` separates at the start or when a space stands beside it, so that hyphenated keys
 * ("well-known") stay whole. Returns {positive, negative, isExpression}.
 */
function parseExpression(text) {
  const positive = [];
  const negative = [];
  let sign = +1;
  let current = "";
  let operators = 0;
  const flush = () => {
    const word = current.trim();
    if (word) (sign > 0 ? positive : negative).push(word);
    current = "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const atStart = current.trim() === "";
    const spaced = /\s/.test(text[i - 1] || " ") || /\s/.test(text[i + 1] || " ");
    if (c === "+" || (c === "-" && (atStart || spaced))) {
      if (!atStart) flush();
      sign = c === "+" ? +1 : -1;
      operators++;
    } else {
      current += c;
    }
  }
  flush();
  return { positive, negative, isExpression: operators > 0 };
}

async function runNeighbours() {
  const space = currentSpace();
  const query = $("neighbours-query").value.trim();
  if (!query) throw new ApiError("PAGE", "type a query first: a key, a text or an expression like king - man + woman");
  const k = intValue($("neighbours-k"), 10);
  const parsed = parseExpression(query);
  const spaceName = space ? space.name : "";
  const started = performance.now();
  let response;
  let label;
  if (parsed.isExpression) {
    if (!parsed.positive.length) throw new ApiError("PAGE", "an analogy needs at least one positive term");
    response = await rpc("Arithmetic", "Analogy", {
      space: spaceName,
      positive: parsed.positive.map((w) => term(w, space)),
      negative: parsed.negative.map((w) => term(w, space)),
      k,
      method: $("neighbours-method").value,
    });
    label = `Analogy “${query.replace(/\s+-\s+/g, " − ")}”`;
  } else {
    response = await rpc("Arithmetic", "Nearest", { space: spaceName, query: [term(query, space)], k });
    label = `Nearest to “${query}”`;
  }
  const ms = performance.now() - started;
  renderNeighbours(response, label, ms);
}

function renderNeighbours(response, label, ms) {
  const neighbours = response.neighbors || [];
  const resolved = [...(response.positive || []), ...(response.negative || []), ...(response.query || [])];
  const unknown = resolved.flatMap((r) => r.unknownTokens || []);
  const parts = [
    `${label} in ${response.space}`,
    plural(neighbours.length, "neighbour"),
    `searched with ${INDEX_NAMES[response.searchedWith] || response.searchedWith}`,
    `${ms.toFixed(0)} ms`,
  ];
  if (unknown.length) parts.push(`unknown tokens left out: ${unknown.join(", ")}`);
  $("neighbours-summary").textContent = parts.join(" · ");

  const table = $("neighbours-results");
  const body = table.tBodies[0];
  body.replaceChildren();
  const max = Math.max(...neighbours.map((n) => Math.abs(n.score)), 1e-9);
  neighbours.forEach((n, i) => {
    // A key is a link to its own neighbours.
    const key = el("button", { type: "button", class: "link", "data-testid": "neighbour-key", text: n.key, title: `Nearest to ${n.key}` });
    key.addEventListener("click", () => {
      $("neighbours-query").value = n.key;
      $("neighbours-form").requestSubmit();
    });
    body.append(
      el(
        "tr",
        { "data-testid": "neighbour-row", "data-key": n.key },
        el("td", { class: "num", text: String(i + 1) }),
        el("td", {}, key),
        scoreCell(n.score, max > 1 ? max : 1),
      ),
    );
  });
  table.hidden = false;
}

// ---------------------------------------------------------------------------------------
// PCA: the two principal components of a few dozen vectors, by power iteration

const dot = (a, b) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/**
 * Projects `rows` (arrays of equal length) on their first two principal components.
 * The rows are centred; each component is found by power iteration on X^T X (computed as
 * X^T (X v), never forming the d x d matrix), the second kept orthogonal to the first.
 * Returns {coords: [[x, y], ...], explained: [share1, share2]}.
 */
function pca2(rows) {
  const n = rows.length;
  const d = rows[0].length;
  const mean = new Float64Array(d);
  for (const row of rows) for (let j = 0; j < d; j++) mean[j] += row[j] / n;
  const X = rows.map((row) => Float64Array.from(row, (v, j) => v - mean[j]));
  const total = X.reduce((s, r) => s + dot(r, r), 0);
  const components = [];
  const explained = [];
  for (let c = 0; c < 2; c++) {
    const orthogonalise = (v) => {
      for (const p of components) {
        const along = dot(v, p);
        for (let j = 0; j < d; j++) v[j] -= along * p[j];
      }
      const norm = Math.sqrt(dot(v, v));
      if (norm < 1e-12) return null;
      for (let j = 0; j < d; j++) v[j] /= norm;
      return v;
    };
    // Start from the row with the most variance left (deterministic: no random start).
    let v = null;
    let best = -1;
    for (const row of X) {
      const candidate = orthogonalise(Float64Array.from(row));
      if (!candidate) continue;
      const score = X.reduce((s, r) => s + dot(r, candidate) ** 2, 0);
      if (score > best) [best, v] = [score, candidate];
    }
    if (!v) {
      components.push(new Float64Array(d));
      explained.push(0);
      continue;
    }
    for (let iter = 0; iter < 500; iter++) {
      const w = new Float64Array(d);
      for (const row of X) {
        const a = dot(row, v);
        for (let j = 0; j < d; j++) w[j] += a * row[j];
      }
      const next = orthogonalise(w);
      if (!next) break;
      const change = 1 - Math.abs(dot(next, v));
      v = next;
      if (change < 1e-12) break;
    }
    components.push(v);
    explained.push(total > 0 ? X.reduce((s, r) => s + dot(r, v) ** 2, 0) / total : 0);
  }
  return { coords: X.map((r) => [dot(r, components[0]), dot(r, components[1])]), explained };
}

// ---------------------------------------------------------------------------------------
// Plots: SVG scatter with labels placed to avoid overlaps (greedy, cheap)

let measureContext = null;

/** The width in px of `text` in the plot's font. */
function textWidth(text, size) {
  measureContext ??= document.createElement("canvas").getContext("2d");
  measureContext.font = `${size}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
  return measureContext.measureText(text).width;
}

const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Places labels next to their points, in order (put the important ones first): the first
 * candidate position that overlaps no label placed so far and no point, inside `bounds`.
 * Each item: {x, y, text, size, r}. Adds {lx, ly, anchor, crowded} to each.
 */
function placeLabels(items, bounds, points) {
  const placed = [];
  const dots = points.map((p) => ({ x: p.x - p.r, y: p.y - p.r, w: 2 * p.r, h: 2 * p.r }));
  for (const item of items) {
    const w = textWidth(item.text, item.size) + 2;
    const h = item.size + 2;
    const gap = item.r + 3;
    const candidates = [
      [gap, h / 3, "start"],
      [-gap, h / 3, "end"],
      [0, -gap - 2, "middle"],
      [0, gap + h - 2, "middle"],
      [gap, -gap, "start"],
      [-gap, -gap, "end"],
      [gap, gap + h / 2, "start"],
      [-gap, gap + h / 2, "end"],
      [0, -gap - h - 2, "middle"],
      [0, gap + 2 * h - 2, "middle"],
    ];
    let chosen = null;
    for (const [dx, dy, anchor] of candidates) {
      const left = anchor === "start" ? item.x + dx : anchor === "end" ? item.x + dx - w : item.x + dx - w / 2;
      const box = { x: left, y: item.y + dy - h + 2, w, h };
      const inside = box.x >= bounds.x && box.y >= bounds.y && box.x + box.w <= bounds.x + bounds.w && box.y + box.h <= bounds.y + bounds.h;
      if (!inside) continue;
      if (placed.some((p) => overlaps(p, box)) || dots.some((p) => overlaps(p, box))) continue;
      chosen = { dx, dy, anchor, box };
      break;
    }
    if (!chosen) {
      const [dx, dy, anchor] = candidates[0];
      chosen = { dx, dy, anchor, box: null, crowded: true };
    }
    if (chosen.box) placed.push(chosen.box);
    Object.assign(item, { lx: item.x + chosen.dx, ly: item.y + chosen.dy, anchor: chosen.anchor, crowded: !!chosen.crowded });
  }
}

/** A linear scale from [d0, d1] to [r0, r1]. */
const scale = (d0, d1, r0, r1) => (v) => (d1 === d0 ? (r0 + r1) / 2 : r0 + ((v - d0) / (d1 - d0)) * (r1 - r0));

/** "Nice" tick values over [lo, hi]. */
function ticks(lo, hi, count = 8) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Math.abs(v) < 1e-12 ? 0 : v);
  return out;
}

function newPlot(container, width, height, title) {
  container.replaceChildren();
  const svg = svgEl("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": title,
    "font-family": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  });
  svgEl("title", { text: title }, svg);
  container.append(svg);
  return svg;
}

// ---------------------------------------------------------------------------------------
// Interpolation

/** Unit vectors of `keys` in `space`: Encode for a model, Get (with vectors) for a collection. */
async function vectorsOf(space, keys) {
  if (!keys.length) return new Map();
  if (space.kind === "COLLECTION") {
    const got = await rpc("Collections", "Get", { collection: space.name, ids: keys, withVector: true, vectorFormat: "FLOATS" });
    return new Map((got.documents || []).map((doc) => [doc.id, unit(doc.vector.values || [])]));
  }
  const encoded = await rpc("Embeddings", "Encode", { model: space.name, inputs: keys, vectorFormat: "FLOATS" });
  const out = new Map();
  keys.forEach((key, i) => {
    const values = encoded.embeddings[i].vector.values || [];
    if (values.some((v) => v !== 0)) out.set(key, unit(values));
  });
  return out;
}

function unit(values) {
  const norm = Math.sqrt(dot(values, values)) || 1;
  return values.map((v) => v / norm);
}

async function runInterpolation() {
  const space = currentSpace();
  if (!space) throw new ApiError("PAGE", "no space to work in: pick one at the top");
  const start = $("interp-start").value.trim();
  const end = $("interp-end").value.trim();
  if (!start || !end) throw new ApiError("PAGE", "give both ends of the path");
  const steps = intValue($("interp-steps"), 5);
  const k = intValue($("interp-k"), 4);
  const response = await rpc("Arithmetic", "Interpolate", {
    space: space.name,
    start: term(start, space),
    end: term(end, space),
    steps,
    k,
    path: $("interp-path").value,
    // With the inputs kept, the first and last points are labelled by their own keys.
    options: { includeInputs: true },
    vectorFormat: "FLOATS",
  });
  const points = (response.points || []).map((p) => ({
    t: p.t || 0,
    vector: p.vector.values || [],
    neighbours: p.neighbors || [],
  }));
  if (!points.length || !points[0].vector.length) throw new ApiError("PAGE", "the server sent no path vectors");
  // Each point is labelled with its nearest key; the other neighbours are drawn as dots.
  for (const p of points) p.label = p.neighbours.length ? p.neighbours[0].key : "";
  const labels = new Set(points.map((p) => p.label));
  const others = [...new Set(points.flatMap((p) => p.neighbours.map((n) => n.key)))].filter((key) => !labels.has(key));
  const vectors = await vectorsOf(space, others);
  const neighbours = others.filter((key) => vectors.has(key)).map((key) => ({ key, vector: vectors.get(key) }));

  const { coords, explained } = pca2([...points.map((p) => p.vector), ...neighbours.map((n) => n.vector)]);
  // Orient the first component so that the path runs left to right.
  const flip = coords[points.length - 1][0] < coords[0][0] ? -1 : 1;
  const xy = coords.map(([x, y]) => [x * flip, y]);
  points.forEach((p, i) => ([p.px, p.py] = xy[i]));
  neighbours.forEach((n, i) => ([n.px, n.py] = xy[points.length + i]));

  $("interp-summary").textContent = [
    `${start} → ${end} in ${response.space}`,
    `${plural(points.length, "point")} (${$("interp-path").value.toLowerCase()})`,
    `${plural(neighbours.length, "other neighbour")}`,
    `PCA: ${(100 * (explained[0] + explained[1])).toFixed(0)}% of the variance shown`,
  ].join(" · ");
  drawInterpolation(points, neighbours, explained, `${start} → ${end}`);
  renderInterpolationTable(points);
}

function drawInterpolation(points, neighbours, explained, title) {
  const width = 1000;
  const height = 500;
  const pad = { left: 40, right: 40, top: 24, bottom: 40 };
  const svg = newPlot($("interp-plot"), width, height, `Interpolation ${title}, projected by PCA`);
  const all = [...points, ...neighbours];
  const xs = all.map((p) => p.px);
  const ys = all.map((p) => p.py);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  // The same scale on both axes, so that distances on screen are faithful.
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const unitPx = Math.min(plotW / (x1 - x0 || 1), plotH / (y1 - y0 || 1)) * 0.86;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const X = (v) => pad.left + plotW / 2 + (v - cx) * unitPx;
  const Y = (v) => pad.top + plotH / 2 - (v - cy) * unitPx;

  svgEl("rect", { x: pad.left, y: pad.top, width: plotW, height: plotH, class: "frame" }, svg);
  svgEl("text", { x: pad.left + plotW, y: height - 12, "text-anchor": "end", class: "axis-label", text: `PC1 (${(100 * explained[0]).toFixed(0)}% of variance) →` }, svg);
  svgEl("text", { x: 14, y: pad.top + plotH / 2, class: "axis-label", transform: `rotate(-90 14 ${pad.top + plotH / 2})`, "text-anchor": "middle", text: `PC2 (${(100 * explained[1]).toFixed(0)}%)` }, svg);

  const defs = svgEl("defs", {}, svg);
  const marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  svgEl("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow-head" }, marker);

  const nodes = [
    ...points.map((p, i) => ({ x: X(p.px), y: Y(p.py), r: 7, text: p.label || "?", size: 14, kind: "path", i, p })),
    ...neighbours.map((n) => ({ x: X(n.px), y: Y(n.py), r: 3.5, text: n.key, size: 11.5, kind: "neighbour", n })),
  ];
  placeLabels(nodes, { x: pad.left, y: pad.top, w: plotW, h: plotH }, nodes);

  // Neighbours first (underneath), then the path and its points.
  const neighbourLayer = svgEl("g", { class: "neighbours" }, svg);
  for (const node of nodes.filter((n) => n.kind === "neighbour")) {
    const g = svgEl("g", { class: `neighbour${node.crowded ? " crowded" : ""}`, "data-testid": "neighbour-dot", "data-key": node.n.key }, neighbourLayer);
    svgEl("title", { text: node.n.key }, g);
    svgEl("circle", { cx: node.x, cy: node.y, r: node.r }, g);
    svgEl("text", { x: node.lx, y: node.ly, "text-anchor": node.anchor, class: "label", text: node.text }, g);
  }
  const pathNodes = nodes.filter((n) => n.kind === "path");
  const line = pathNodes.map((n) => [n.x, n.y]);
  if (line.length > 1) {
    // End the arrow at the edge of the last point rather than under it.
    const [[ax, ay], [bx, by]] = line.slice(-2);
    const length = Math.hypot(bx - ax, by - ay);
    const cut = Math.min(length / 2, pathNodes.at(-1).r + 3);
    if (length > 0) line[line.length - 1] = [bx - ((bx - ax) / length) * cut, by - ((by - ay) / length) * cut];
  }
  svgEl("polyline", { points: line.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "), class: "path-line", "marker-end": "url(#arrow)" }, svg);
  const pathLayer = svgEl("g", { class: "path-points" }, svg);
  const colour = (t) => `hsl(${(215 - 190 * t).toFixed(0)} 70% 45%)`; // blue at the start, orange at the end
  for (const node of pathNodes) {
    const { p } = node;
    const g = svgEl("g", { class: "path-point", "data-testid": "path-point", "data-key": p.label, "data-t": fmt(p.t, 3) }, pathLayer);
    svgEl("title", { text: `t = ${fmt(p.t, 2)}: ${p.neighbours.map((n) => `${n.key} ${fmt(n.score, 2)}`).join(", ")}` }, g);
    svgEl("circle", { cx: node.x, cy: node.y, r: node.r, fill: colour(p.t) }, g);
    svgEl("text", { x: node.lx, y: node.ly, "text-anchor": node.anchor, class: "label", "data-testid": "path-label", text: node.text }, g);
  }
}

function renderInterpolationTable(points) {
  const table = $("interp-table");
  table.tBodies[0].replaceChildren(
    ...points.map((p) =>
      el(
        "tr",
        {},
        el("td", { class: "num", text: fmt(p.t, 2) }),
        el("td", { text: p.neighbours.map((n) => `${n.key} (${fmt(n.score, 2)})`).join(", ") }),
      ),
    ),
  );
  table.hidden = false;
}

// ---------------------------------------------------------------------------------------
// Directions

function fillSavedDirections() {
  const space = currentSpace();
  const saved = state.directions.filter((d) => !space || d.space === space.name);
  for (const select of document.querySelectorAll(".saved-list")) {
    const previous = select.value;
    select.replaceChildren(
      ...saved.map((d) => el("option", { value: d.name, text: d.description ? `${d.name} — ${d.description}` : d.name })),
    );
    if (!saved.length) select.append(el("option", { value: "", text: "(none saved in this space)" }));
    if (previous && saved.some((d) => d.name === previous)) select.value = previous;
  }
}

function showAxisMode(fieldset) {
  const mode = fieldset.querySelector(".axis-mode").value;
  for (const name of ["poles", "pairs", "saved"]) {
    fieldset.querySelector(`.mode-${name}`).hidden = mode !== name;
  }
}

/** "man → woman, he → she" (also "->", ">", ":") as TermPairs. */
function parsePairs(text, space) {
  return splitList(text).map((item) => {
    const parts = item.split(/\s*(?:→|->|=>|>|:)\s*/).filter(Boolean);
    if (parts.length !== 2) throw new ApiError("PAGE", `pairs: “${item}” is not a pair like man → woman`);
    return { a: term(parts[0], space), b: term(parts[1], space) };
  });
}

/** The two ends of a saved direction's definition, as text: {from, to} or null. */
function directionEnds(definition) {
  const show = (t) => (t ? (t.key ?? t.text ?? "a vector") : "?");
  if (definition.poles) {
    return {
      from: (definition.poles.fromTerms || []).map(show).join(", "),
      to: (definition.poles.toTerms || []).map(show).join(", "),
    };
  }
  if (definition.pairs) {
    const pairs = definition.pairs.pairs || [];
    return { from: pairs.map((p) => show(p.a)).join(", "), to: pairs.map((p) => show(p.b)).join(", ") };
  }
  return null;
}

/** The Direction message of an axis and its two end labels, or null for "none". */
function axisDirection(axis, space) {
  const mode = $(`dir-${axis}-mode`).value;
  if (mode === "none") return null;
  if (mode === "saved") {
    const name = $(`dir-${axis}-saved`).value;
    if (!name) throw new ApiError("PAGE", `${axis} axis: no saved direction in this space; define one by poles or pairs`);
    const saved = state.directions.find((d) => d.space === space.name && d.name === name);
    const ends = saved ? directionEnds(saved.definition || {}) : null;
    return { direction: { name }, from: ends ? ends.from : `−${name}`, to: ends ? `${ends.to} (${name})` : name };
  }
  if (mode === "pairs") {
    const pairs = parsePairs($(`dir-${axis}-pairs`).value, space);
    if (!pairs.length) throw new ApiError("PAGE", `${axis} axis: give at least one pair, like man → woman`);
    const a = pairs.map((p) => p.a.key ?? p.a.text);
    const b = pairs.map((p) => p.b.key ?? p.b.text);
    return { direction: { pairs: { pairs, method: $(`dir-${axis}-method`).value } }, from: a.join(", "), to: b.join(", ") };
  }
  const from = splitList($(`dir-${axis}-from`).value);
  const to = splitList($(`dir-${axis}-to`).value);
  if (!from.length || !to.length) throw new ApiError("PAGE", `${axis} axis: give terms at both poles`);
  return {
    direction: { poles: { fromTerms: from.map((w) => term(w, space)), toTerms: to.map((w) => term(w, space)) } },
    from: from.join(", "),
    to: to.join(", "),
  };
}

async function runDirections() {
  const space = currentSpace();
  if (!space) throw new ApiError("PAGE", "no space to work in: pick one at the top");
  const words = splitList($("dir-terms").value);
  if (!words.length) throw new ApiError("PAGE", "give the terms to project, separated by commas");
  const axes = [axisDirection("x", space), axisDirection("y", space)];
  // One Project call per axis, both at once.
  const answers = await Promise.all(
    axes.map((axis) =>
      axis
        ? rpc("Directions", "Project", { space: space.name, direction: axis.direction, terms: words.map((w) => term(w, space)) })
        : null,
    ),
  );
  const values = answers.map((answer) => (answer ? (answer.projections || []).map((p) => p.projection || 0) : null));
  const items = words.map((word, i) => ({ word, x: values[0][i], y: values[1] ? values[1][i] : null }));
  $("dir-summary").textContent = [
    `${plural(words.length, "term")} in ${space.name}`,
    `x: ${axes[0].from} → ${axes[0].to}`,
    axes[1] ? `y: ${axes[1].from} → ${axes[1].to}` : "one axis",
    "projection = cosine with the direction",
  ].join(" · ");
  drawDirections(items, axes[0], axes[1]);
}

function drawDirections(items, xAxis, yAxis) {
  const width = 1000;
  const twoAxes = yAxis !== null;
  const height = twoAxes ? 560 : 240;
  const pad = { left: twoAxes ? 70 : 40, right: 40, top: 30, bottom: 56 };
  const svg = newPlot($("dir-plot"), width, height, `Projections on ${xAxis.to}${twoAxes ? ` and ${yAxis.to}` : ""}`);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const range = (vs) => {
    const lo = Math.min(0, ...vs);
    const hi = Math.max(0, ...vs);
    const margin = (hi - lo || 0.2) * 0.08;
    return [lo - margin, hi + margin];
  };
  const [x0, x1] = range(items.map((d) => d.x));
  const X = scale(x0, x1, pad.left, pad.left + plotW);
  svgEl("rect", { x: pad.left, y: pad.top, width: plotW, height: plotH, class: "frame" }, svg);

  let Y;
  if (twoAxes) {
    const [y0, y1] = range(items.map((d) => d.y));
    Y = scale(y0, y1, pad.top + plotH, pad.top);
    for (const v of ticks(y0, y1)) {
      svgEl("line", { x1: pad.left, x2: pad.left + plotW, y1: Y(v), y2: Y(v), class: v === 0 ? "zero" : "grid" }, svg);
      svgEl("text", { x: pad.left - 6, y: Y(v) + 4, "text-anchor": "end", class: "tick", text: fmt(v, 2) }, svg);
    }
    svgEl("text", { x: 16, y: pad.top + plotH, class: "axis-label", transform: `rotate(-90 16 ${pad.top + plotH})`, "text-anchor": "start", text: `← ${yAxis.from}` }, svg);
    svgEl("text", { x: 16, y: pad.top, class: "axis-label", transform: `rotate(-90 16 ${pad.top})`, "text-anchor": "end", text: `${yAxis.to} →` }, svg);
  } else {
    // One axis: the points on the line y = 0 in the middle of the plot.
    Y = () => pad.top + plotH / 2;
    svgEl("line", { x1: pad.left, x2: pad.left + plotW, y1: Y(0), y2: Y(0), class: "zero" }, svg);
  }
  for (const v of ticks(x0, x1)) {
    svgEl("line", { x1: X(v), x2: X(v), y1: pad.top, y2: pad.top + plotH, class: v === 0 ? "zero" : "grid" }, svg);
    svgEl("text", { x: X(v), y: pad.top + plotH + 16, "text-anchor": "middle", class: "tick", text: fmt(v, 2) }, svg);
  }
  svgEl("text", { x: pad.left, y: height - 10, class: "axis-label", text: `← ${xAxis.from}` }, svg);
  svgEl("text", { x: pad.left + plotW, y: height - 10, "text-anchor": "end", class: "axis-label", text: `${xAxis.to} →` }, svg);

  const nodes = items.map((d) => ({ x: X(d.x), y: Y(d.y ?? 0), r: 5, text: d.word, size: 13, d }));
  const bounds = { x: pad.left, y: pad.top, w: plotW, h: plotH };
  if (twoAxes) placeLabels(nodes, bounds, nodes);
  else stackLabels(nodes, bounds);

  const layer = svgEl("g", { class: "terms" }, svg);
  for (const node of nodes) {
    const { d } = node;
    const g = svgEl("g", {
      class: "term-point",
      "data-testid": "term-point",
      "data-key": d.word,
      "data-x": String(d.x),
      "data-y": d.y === null ? "" : String(d.y),
    }, layer);
    svgEl("title", { text: `${d.word}: x ${fmt(d.x)}${d.y === null ? "" : `, y ${fmt(d.y)}`}` }, g);
    if (node.leader) svgEl("line", { x1: node.x, y1: node.y, x2: node.x, y2: node.leader, class: "leader" }, g);
    svgEl("circle", { cx: node.x, cy: node.y, r: node.r, fill: colourOf(d.x, x0, x1) }, g);
    svgEl("text", { x: node.lx, y: node.ly, "text-anchor": node.anchor, class: "label", "data-testid": "term-label", text: node.text }, g);
  }
}

/** Blue for the "from" end, orange for the "to" end. */
function colourOf(v, lo, hi) {
  const t = hi === lo ? 0.5 : (v - lo) / (hi - lo);
  return `hsl(${(215 - 190 * t).toFixed(0)} 70% 45%)`;
}

/**
 * One axis: labels in rows above and below the line (above 1, below 1, above 2, ...),
 * each in the first row where it overlaps no other label, joined to its point by a leader.
 */
function stackLabels(nodes, bounds) {
  const rowHeight = 18;
  const rows = [];
  const order = [...nodes].sort((a, b) => a.x - b.x);
  for (const node of order) {
    const w = textWidth(node.text, node.size) + 6;
    const left = Math.min(Math.max(node.x - w / 2, bounds.x), bounds.x + bounds.w - w);
    let level = 0;
    while (rows[level] !== undefined && rows[level] > left) level++;
    rows[level] = left + w;
    const above = level % 2 === 0;
    const depth = Math.floor(level / 2) + 1;
    const y = above ? node.y - 10 - (depth - 1) * rowHeight - 4 : node.y + 10 + (depth - 1) * rowHeight + node.size;
    Object.assign(node, {
      lx: left + w / 2,
      ly: y,
      anchor: "middle",
      leader: depth > 1 ? (above ? y + 4 : y - node.size) : null,
    });
  }
}

// ---------------------------------------------------------------------------------------
// Collections

function parseFilter() {
  const text = $("coll-filter").value.trim();
  if (!text) return null;
  try {
    const filter = JSON.parse(text);
    if (typeof filter !== "object" || filter === null || Array.isArray(filter)) throw new Error("a Filter is a JSON object");
    return filter;
  } catch (err) {
    throw new ApiError("INVALID_ARGUMENT", `filter: not valid JSON (${err.message}); e.g. {"condition": {"key": "lang", "equals": "en"}}`);
  }
}

async function runCollectionSearch() {
  const name = $("coll-select").value;
  if (!name) throw new ApiError("PAGE", "no collection: create one with Collections.CreateCollection, then reload (↻)");
  const query = $("coll-query").value.trim();
  if (!query) throw new ApiError("PAGE", "type a query");
  const request = {
    collection: name,
    query: $("coll-query-kind").value === "id" ? { id: query } : { text: query },
    k: intValue($("coll-k"), 10),
    withText: true,
    withMetadata: true,
  };
  const filter = parseFilter();
  if (filter) request.filter = filter;
  const started = performance.now();
  const response = await rpc("Collections", "Search", request);
  renderHits(response, filter, performance.now() - started);
}

function renderHits(response, filter, ms) {
  const hits = response.hits || [];
  $("coll-summary").textContent = [
    `${plural(hits.length, "hit")} in ${response.collection}`,
    filter ? "filtered" : "no filter",
    `searched with ${INDEX_NAMES[response.searchedWith] || response.searchedWith}`,
    `${ms.toFixed(0)} ms`,
  ].join(" · ");
  const table = $("coll-results");
  const max = Math.max(...hits.map((h) => Math.abs(h.score)), 1e-9);
  table.tBodies[0].replaceChildren(
    ...hits.map((hit, i) =>
      el(
        "tr",
        { "data-testid": "hit-row", "data-id": hit.id },
        el("td", { class: "num", text: String(i + 1) }),
        el("td", { class: "id", "data-testid": "hit-id", text: hit.id }),
        scoreCell(hit.score, max > 1 ? max : 1),
        el("td", { class: "text", "data-testid": "hit-text", text: hit.text || "" }),
        el("td", { class: "metadata", "data-testid": "hit-metadata" }, ...metadataChips(hit.metadata || {})),
      ),
    ),
  );
  table.hidden = false;
}

function metadataChips(metadata) {
  return Object.entries(metadata).map(([key, value]) =>
    el("span", { class: "chip", text: `${key}: ${Array.isArray(value) ? value.join(", ") : String(value)}` }),
  );
}

// ---------------------------------------------------------------------------------------
// Start

async function checkHealth() {
  const badge = $("health");
  try {
    const response = await fetch("/health");
    const body = await response.json().catch(() => ({}));
    badge.textContent = body.status || `HTTP ${response.status}`;
    badge.className = `badge ${response.ok ? "ok" : "bad"}`;
  } catch {
    badge.textContent = "unreachable";
    badge.className = "badge bad";
  }
}

function wire(view, work, outputs) {
  const form = $(`${view}-form`);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded($(`${view}-run`), $(`${view}-error`), outputs.map($), work);
  });
}

function start() {
  const key = $("api-key");
  key.value = sessionStorage.getItem(API_KEY_STORAGE) || "";
  $("api-key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    key.dispatchEvent(new Event("change"));
  });
  key.addEventListener("change", () => {
    if (key.value.trim()) sessionStorage.setItem(API_KEY_STORAGE, key.value.trim());
    else sessionStorage.removeItem(API_KEY_STORAGE);
    loadSpaces().catch((err) => showError($("global-error"), err));
  });

  for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  showView(new URLSearchParams(location.hash.slice(1)).get("view") || "neighbours");

  $("space-select").addEventListener("change", () => {
    showSpaceInfo();
    const space = currentSpace();
    if (space && space.kind === "COLLECTION") {
      $("coll-select").value = space.name;
      showCollectionInfo();
    }
  });
  $("coll-select").addEventListener("change", showCollectionInfo);
  $("reload-spaces").addEventListener("click", () => loadSpaces().catch((err) => showError($("global-error"), err)));
  for (const fieldset of document.querySelectorAll("fieldset.axis")) {
    fieldset.querySelector(".axis-mode").addEventListener("change", () => showAxisMode(fieldset));
    showAxisMode(fieldset);
  }

  wire("neighbours", runNeighbours, ["neighbours-summary", "neighbours-results"]);
  wire("interp", runInterpolation, ["interp-summary", "interp-plot", "interp-table"]);
  wire("dir", runDirections, ["dir-summary", "dir-plot"]);
  wire("coll", runCollectionSearch, ["coll-summary", "coll-results"]);

  checkHealth();
  // Tests wait for data-ready: the lists of spaces are in the page.
  loadSpaces()
    .catch((err) => showError($("global-error"), err))
    .finally(() => document.body.setAttribute("data-ready", "true"));
}

document.addEventListener("DOMContentLoaded", start);
