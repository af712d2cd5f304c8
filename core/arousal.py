"""A small arousal adjustment that is monotone in loudness, onset density and tempo.

Why: on full-length orchestral music the 4Q-trained models put energetic tracks in the calm half (issue 10):
4Q's high-arousal clips are mostly rock and metal, so the models learn "distorted = energetic" and nothing about
level or pace. A listener's arousal rises with loudness, event density and tempo, whatever the genre, so the
adjustment may only ever push a louder / denser / faster clip towards the high-arousal quadrants (Q1, Q2):

    logit_q += s_q * (sum_i w_i * z_i + b),   s = (+1, +1, -1, -1) / 2,   w_i >= 0

with z the standardised descriptors (core.features.interpretive: rms_level, onset_density, tempo). The weights
are fitted on out-of-fold predictions (class-balanced cross-entropy, L-BFGS-B with w >= 0) and kept only when
nested cross-validation agrees (scripts/train_audio_cv.py --arousal, docs/training.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

FEATURES: tuple[str, ...] = ("rms_level", "onset_density", "tempo")
SIGN = np.array([0.5, 0.5, -0.5, -0.5])  # Q1, Q2 high arousal; Q3, Q4 low
L2 = 1e-2


def feature_columns(names: tuple[str, ...] | None = None) -> list[int]:
    """Columns of FEATURES in the interpretive descriptor vector."""
    if names is None:
        from core.features.interpretive import DESCRIPTOR_NAMES as names
    return [list(names).index(f) for f in FEATURES]


def apply_adjustment(probs: np.ndarray, interpretive: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Adjusted quadrant probabilities (N, 4) from probabilities and the (N, D) interpretive descriptors."""
    cols = spec.get("columns") or feature_columns()
    z = (np.asarray(interpretive, np.float64)[:, cols] - np.asarray(spec["mean"])) / np.asarray(spec["std"])
    shift = z @ np.asarray(spec["weights"], np.float64) + float(spec["bias"])
    logits = np.log(np.clip(np.asarray(probs, np.float64), 1e-9, 1.0)) + shift[:, None] * SIGN[None, :]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def fit_adjustment(probs: np.ndarray, interpretive: np.ndarray, quadrant: np.ndarray) -> dict[str, Any]:
    """Weights (>= 0) and bias minimising class-balanced cross-entropy of the adjusted probabilities."""
    from scipy.optimize import minimize

    cols = feature_columns()
    x = np.asarray(interpretive, np.float64)[:, cols]
    mean, std = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    z = (x - mean) / std
    logp = np.log(np.clip(np.asarray(probs, np.float64), 1e-9, 1.0))
    y = np.asarray(quadrant, np.int64)
    counts = np.bincount(y, minlength=4).astype(np.float64)
    cw = (len(y) / (4 * np.maximum(counts, 1)))[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        shift = z @ w + b
        logits = logp + shift[:, None] * SIGN[None, :]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        nll = -(cw * np.log(p[np.arange(len(y)), y] + 1e-12)).sum() / cw.sum()
        # d nll / d shift = sum_q (p_q - [q == y]) * SIGN_q, weighted
        onehot = np.eye(4)[y]
        dshift = cw * ((p - onehot) @ SIGN) / cw.sum()
        grad = np.concatenate([z.T @ dshift + 2 * L2 * w, [dshift.sum()]])
        return float(nll + L2 * (w**2).sum()), grad

    theta0 = np.zeros(len(cols) + 1)
    bounds = [(0.0, None)] * len(cols) + [(None, None)]
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds)
    return {
        "features": list(FEATURES),
        "columns": cols,
        "mean": mean.tolist(),
        "std": std.tolist(),
        "weights": res.x[:-1].tolist(),
        "bias": float(res.x[-1]),
    }


def nested_cv_gain(train: Any, oof_probs: np.ndarray, folds: int, seed: int) -> dict[str, Any]:
    """Macro-F1 of OOF predictions before and after an adjustment fitted on the other folds' OOF predictions."""
    from core.datasets import stratified_folds
    from core.metrics import macro_f1

    fold_id = stratified_folds(train.quadrant, folds, seed)
    adjusted = np.zeros_like(oof_probs)
    weights = []
    for k in range(folds):
        fit_rows, held = np.flatnonzero(fold_id != k), np.flatnonzero(fold_id == k)
        spec = fit_adjustment(oof_probs[fit_rows], train.interpretive[fit_rows], train.quadrant[fit_rows])
        adjusted[held] = apply_adjustment(oof_probs[held], train.interpretive[held], spec)
        weights.append(spec["weights"])
    before, per_before = macro_f1(train.quadrant, oof_probs.argmax(1), 4)
    after, per_after = macro_f1(train.quadrant, adjusted.argmax(1), 4)
    return {
        "macro_f1_before": before,
        "macro_f1_after": after,
        "per_class_before": per_before.tolist(),
        "per_class_after": per_after.tolist(),
        "weights": np.mean(weights, axis=0).tolist(),
    }


__all__ = ["FEATURES", "apply_adjustment", "feature_columns", "fit_adjustment", "nested_cv_gain"]
