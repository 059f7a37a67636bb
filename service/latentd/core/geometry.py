"""Vector geometry: unit vectors and paths between two of them."""

from __future__ import annotations

import math

import numpy as np

from latentd.core.types import InterpolationPath


def unit(v: np.ndarray) -> np.ndarray:
    # In float64: the squared norm of a finite float32 vector can overflow float32 (values
    # of 1e20 gave a zero "unit" vector) or underflow it (1e-30 gave no direction).
    wide = np.asarray(v, dtype=np.float64)
    norm = np.linalg.norm(wide, axis=-1, keepdims=True)
    return (wide / np.where(norm == 0, 1, norm)).astype(np.float32)


def interpolation_path(
    a: np.ndarray, b: np.ndarray, ts: np.ndarray, path: InterpolationPath
) -> np.ndarray:
    """Unit vectors from unit a to unit b at each t; never NaN, even for b = +-a."""
    dot = float(np.clip(a @ b, -1.0, 1.0))
    if dot < -1 + 1e-6:
        # Opposite vectors: every great circle joins them; take the one through the
        # basis direction least aligned with a, so the answer is deterministic.
        helper = np.zeros_like(a)
        helper[int(np.argmin(np.abs(a)))] = 1.0
        ortho = unit(helper - (helper @ a) * a)
        angles = np.pi * ts[:, None]
        return unit(np.cos(angles) * a + np.sin(angles) * ortho)
    if path is InterpolationPath.LERP:
        return unit((1 - ts)[:, None] * a + ts[:, None] * b)
    omega = math.acos(dot)
    if math.sin(omega) < 1e-6:  # identical directions
        return unit(np.repeat(a[None, :], len(ts), axis=0))
    weights_a = np.sin((1 - ts) * omega) / math.sin(omega)
    weights_b = np.sin(ts * omega) / math.sin(omega)
    return unit(weights_a[:, None] * a + weights_b[:, None] * b)
