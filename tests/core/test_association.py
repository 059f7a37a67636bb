"""WEAT (core/association.py): the statistic and effect size against plain numpy, the
exact p-value against a brute-force enumeration, sampled p-values, the argument errors,
and effect sizes against wefe's on GloVe 6B 50d (weat_reference.json, written by
make_weat_reference.py)."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from latentd.core.association import (
    DEFAULT_PERMUTATIONS,
    MAX_PERMUTATIONS,
    WeatResult,
    weat,
)
from latentd.core.errors import InvalidArgument
from latentd.core.loaders import default_glove_dir, load_word_space
from latentd.core.word_space import WordSpace

REFERENCE = Path(__file__).resolve().parent / "weat_reference.json"
DIM = 12


def vectors(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    return (rng.normal(0, 1, (n, DIM)) + shift).astype(np.float32)


def same(one: WeatResult, other: WeatResult) -> bool:
    """Equal results (the dataclass's == does not compare arrays)."""
    return all(
        np.array_equal(getattr(one, f.name), getattr(other, f.name)) for f in fields(WeatResult)
    )


def plain_associations(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    def cos(u: np.ndarray, v: np.ndarray) -> float:
        u, v = u.astype(np.float64), v.astype(np.float64)
        return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))

    return np.array([np.mean([cos(v, x) for x in a]) - np.mean([cos(v, x) for x in b]) for v in w])


def brute_force_p(s: np.ndarray, n: int) -> float:
    """One-sided p over every choice of the X-part, statistic computed from scratch."""
    observed = s[:n].sum() - s[n:].sum()
    hits = total = 0
    for part in itertools.combinations(range(2 * n), n):
        rest = [i for i in range(2 * n) if i not in part]
        total += 1
        hits += s[list(part)].sum() - s[rest].sum() >= observed - 1e-12
    return hits / total


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


# -- statistic and effect size -----------------------------------------------------------


def test_effect_size_and_statistic_match_numpy(rng: np.random.Generator) -> None:
    x, y, a, b = vectors(rng, 7), vectors(rng, 7), vectors(rng, 9), vectors(rng, 4)
    result = weat(x, y, a, b)
    sx, sy = plain_associations(x, a, b), plain_associations(y, a, b)
    np.testing.assert_allclose(result.x_associations, sx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.y_associations, sy, rtol=1e-9, atol=1e-12)
    assert result.statistic == pytest.approx(sx.sum() - sy.sum(), abs=1e-12)
    both = np.concatenate([sx, sy])
    # ddof=0, as wefe.
    assert result.effect_size == pytest.approx((sx.mean() - sy.mean()) / both.std(), rel=1e-9)
    assert result.effect_size != pytest.approx((sx.mean() - sy.mean()) / both.std(ddof=1))


def test_cosines_ignore_length(rng: np.random.Generator) -> None:
    x, y, a, b = vectors(rng, 5), vectors(rng, 5), vectors(rng, 6), vectors(rng, 6)
    scale = rng.uniform(0.1, 10, (5, 1)).astype(np.float32)
    one, other = weat(x, y, a, b), weat(x * scale, y, a * 3, b)
    assert one.effect_size == pytest.approx(other.effect_size, rel=1e-6)
    assert one.p_value == other.p_value


def test_swapping_attributes_flips_the_sign(rng: np.random.Generator) -> None:
    x, y, a, b = vectors(rng, 6), vectors(rng, 6), vectors(rng, 5), vectors(rng, 5)
    one, other = weat(x, y, a, b), weat(x, y, b, a)
    assert other.effect_size == pytest.approx(-one.effect_size)
    assert other.statistic == pytest.approx(-one.statistic)


# -- p-values -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_p_value_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y, a, b = vectors(rng, 5, 0.2), vectors(rng, 5), vectors(rng, 6, 0.2), vectors(rng, 6)
    result = weat(x, y, a, b)
    assert result.exact and result.partitions == math.comb(10, 5) == 252
    s = np.concatenate([result.x_associations, result.y_associations])
    assert result.p_value == brute_force_p(s, 5)


def test_ties_count_as_hits() -> None:
    """Identical targets: every partition ties with the observed one, so p = 1."""
    rng = np.random.default_rng(3)
    w = vectors(rng, 1)
    x = y = np.repeat(w, 4, axis=0)
    result = weat(x, y, vectors(rng, 3), vectors(rng, 3))
    assert result.exact and result.p_value == 1.0 and result.effect_size == 0.0


def test_separated_sets_get_a_small_p_and_alike_sets_do_not(rng: np.random.Generator) -> None:
    a, b = vectors(rng, 8, 1.0), vectors(rng, 8, -1.0)
    apart = weat(vectors(rng, 8, 1.0), vectors(rng, 8, -1.0), a, b, permutations=20_000)
    assert apart.exact and apart.partitions == math.comb(16, 8)
    # Only the observed partition (it counts itself) reaches the observed statistic.
    assert apart.p_value == 1 / math.comb(16, 8)
    assert apart.effect_size > 1.5
    alike = weat(vectors(rng, 8), vectors(rng, 8), a, b, permutations=20_000)
    assert alike.p_value > 0.05


def test_sampled_p_value_is_reproducible_and_near_the_exact_one(rng: np.random.Generator) -> None:
    x, y = vectors(rng, 8, 0.15), vectors(rng, 8)
    a, b = vectors(rng, 10, 0.15), vectors(rng, 10)
    exact = weat(x, y, a, b, permutations=MAX_PERMUTATIONS)
    assert exact.exact and exact.partitions == 12_870
    assert 0.01 < exact.p_value < 0.99  # a p-value worth estimating
    sampled = weat(x, y, a, b, permutations=5_000, seed=4)
    assert not sampled.exact and sampled.partitions == 5_000
    assert same(sampled, weat(x, y, a, b, permutations=5_000, seed=4))
    assert sampled.effect_size == exact.effect_size
    # Binomial standard error at 5,000 samples is at most 0.007.
    assert sampled.p_value == pytest.approx(exact.p_value, abs=0.03)
    assert weat(x, y, a, b, permutations=5_000, seed=5).p_value != sampled.p_value


def test_sampled_p_value_is_never_zero(rng: np.random.Generator) -> None:
    a, b = vectors(rng, 20, 1.0), vectors(rng, 20, -1.0)
    result = weat(vectors(rng, 20, 1.0), vectors(rng, 20, -1.0), a, b, permutations=1_000)
    assert not result.exact
    assert result.p_value == 1 / 1_001  # Phipson & Smyth: (1 + 0) / (1 + 1,000)


def test_default_permutations() -> None:
    rng = np.random.default_rng(5)
    args = vectors(rng, 10), vectors(rng, 10), vectors(rng, 4), vectors(rng, 4)
    default = weat(*args)
    assert default.partitions == DEFAULT_PERMUTATIONS and not default.exact  # C(20,10) > 10k
    assert same(weat(*args, permutations=0), default)


def test_exact_at_the_limit_is_fast_enough() -> None:
    """C(22, 11) = 705,432 partitions enumerated, chunk by chunk."""
    rng = np.random.default_rng(6)
    x, y, a, b = vectors(rng, 11), vectors(rng, 11), vectors(rng, 5), vectors(rng, 5)
    result = weat(x, y, a, b, permutations=MAX_PERMUTATIONS)
    assert result.exact and result.partitions == 705_432
    assert 0 < result.p_value <= 1


# -- errors --------------------------------------------------------------------------------


def test_targets_of_different_sizes(rng: np.random.Generator) -> None:
    with pytest.raises(InvalidArgument, match=r"^targets_y: .*same size.* 4 and 5"):
        weat(vectors(rng, 4), vectors(rng, 5), vectors(rng, 3), vectors(rng, 3))


@pytest.mark.parametrize("field", ["targets_x", "targets_y", "attributes_a", "attributes_b"])
def test_empty_sets(rng: np.random.Generator, field: str) -> None:
    sets = {f: vectors(rng, 3) for f in ("targets_x", "targets_y", "attributes_a", "attributes_b")}
    sets[field] = np.zeros((0, DIM), np.float32)
    with pytest.raises(InvalidArgument, match=rf"^{field}: must hold at least one vector"):
        weat(*sets.values())
    sets[field] = np.array([])
    with pytest.raises(InvalidArgument, match=rf"^{field}: must hold at least one vector"):
        weat(*sets.values())


@pytest.mark.parametrize("permutations", [-1, MAX_PERMUTATIONS + 1])
def test_permutations_out_of_range(rng: np.random.Generator, permutations: int) -> None:
    with pytest.raises(InvalidArgument, match=r"^permutations: "):
        weat(*(vectors(rng, 3) for _ in range(4)), permutations=permutations)


def test_bad_vectors(rng: np.random.Generator) -> None:
    x, y, a = vectors(rng, 3), vectors(rng, 3), vectors(rng, 3)
    with pytest.raises(InvalidArgument, match=r"^attributes_b: .*same dimension"):
        weat(x, y, a, rng.normal(size=(3, DIM + 1)))
    bad = a.copy()
    bad[1, 2] = np.nan
    with pytest.raises(InvalidArgument, match=r"^attributes_a: vector 1 is not finite"):
        weat(x, y, bad, a)
    with pytest.raises(InvalidArgument, match=r"^targets_x: must be a matrix"):
        weat(x[0], y, a, a)


# -- against wefe on GloVe 6B 50d ----------------------------------------------------------


@pytest.fixture(scope="module")
def glove() -> WordSpace:
    return load_word_space("glove-6b-50d", default_glove_dir())


def reference_tests() -> list[dict]:
    return json.loads(REFERENCE.read_text())["tests"]


def test_reference_file() -> None:
    reference = json.loads(REFERENCE.read_text())
    assert reference["wefe_version"] == "1.0.1"
    names = [t["name"] for t in reference["tests"]]
    assert names[:2] == ["weat1_flowers_insects", "weat2_instruments_weapons"]
    for test in reference["tests"]:
        assert len(test["x"]) == len(test["y"]) > 0


@pytest.mark.parametrize("test", reference_tests(), ids=lambda t: t["name"])
def test_effect_size_equals_wefe(glove: WordSpace, test: dict) -> None:
    def lookup(words: list[str]) -> np.ndarray:
        hits = [glove.lookup(w) for w in words]
        assert all(h is not None and h.key == w for h, w in zip(hits, words, strict=True))
        return np.stack([h.vector for h in hits if h is not None])

    result: WeatResult = weat(*(lookup(test[s]) for s in ("x", "y", "a", "b")))
    assert result.effect_size == pytest.approx(test["wefe_effect_size"], abs=1e-4)
    assert result.statistic == pytest.approx(test["wefe_statistic"], abs=1e-4)
