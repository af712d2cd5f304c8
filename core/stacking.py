"""Small heads applied after the network's quadrant vote, stored in a checkpoint's "inference" block.

* "probe": a logistic regression on the standardised MusiCNN features (the issue's 71 % probe). Its quadrant
  probabilities are averaged with the network's, `weight` for the probe: two views of the same embedding with
  different biases (a linear read-out vs. a fused network with genre and low-level inputs), so the mean is
  steadier than either (scripts/train_audio_cv.py measures it by cross-validation).
* "arousal": the monotone loudness/onset-density/tempo adjustment of core.arousal, applied last, only when the
  recipe search kept it.
* "tag_probe": the same kind of read-out for the 12 ranked emotion tags, over the MusiCNN vector and the 8 low-level
  descriptors (`tag_probe_features`), fitted with each clip's tag relevances as soft targets.
  Its tag distribution is mixed with the network's ListNet scores, `weight` for the probe: by cross-validation on
  4Q's split=train it lifts out-of-fold nDCG@3 by 0.01-0.02 in both protocols (scripts/tag_probe.py).

All are plain numbers in config.json (a 4 x 250 probe is 1000 floats), so loading runs no code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

PROBE_KEYS = ("weight", "mean", "std", "coef", "intercept")
HEAD_NAMES = ("probe", "arousal", "tag_probe")  # the blocks of a checkpoint's "inference" section applied here


class StackingError(ValueError):
    """A probe/arousal block that does not fit the model (wrong widths, non-finite numbers)."""


def _finite(values: Any) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in np.ravel(np.asarray(values, dtype=object)))


def check_probe(spec: Any, width: int, n_classes: int = 4, name: str = "probe") -> None:
    """Raise StackingError unless `spec` is a probe over `width` features with `n_classes` outputs; messages name
    the block as `inference.<name>`."""
    block = f"inference.{name}"
    if not isinstance(spec, dict) or any(k not in spec for k in PROBE_KEYS):
        raise StackingError(f"{block} needs {list(PROBE_KEYS)}")
    w = spec["weight"]
    if not isinstance(w, (int, float)) or not 0.0 <= w <= 1.0:
        raise StackingError(f"{block}.weight must be in [0, 1]")
    shapes = {"mean": (width,), "std": (width,), "coef": (n_classes, width), "intercept": (n_classes,)}
    for key, shape in shapes.items():
        try:
            arr = np.asarray(spec[key], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise StackingError(f"{block}.{key} must hold numbers") from exc
        if arr.shape != shape or not np.isfinite(arr).all():
            raise StackingError(f"{block}.{key} must be {shape} finite numbers, got {arr.shape}")
    if (np.asarray(spec["std"], dtype=np.float64) <= 0).any():
        raise StackingError(f"{block}.std must be positive")


def probe_probs(spec: dict[str, Any], features: np.ndarray) -> np.ndarray:
    """Softmax of the probe's logits for (N, width) features."""
    z = (np.asarray(features, np.float64) - np.asarray(spec["mean"])) / np.asarray(spec["std"])
    logits = z @ np.asarray(spec["coef"], np.float64).T + np.asarray(spec["intercept"], np.float64)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def probe_from_sklearn(pipeline: Any, weight: float) -> dict[str, Any]:
    """The JSON block of a fitted `make_pipeline(StandardScaler(), LogisticRegression())`."""
    scaler, clf = pipeline[0], pipeline[-1]
    return {
        "weight": float(weight),
        "mean": scaler.mean_.tolist(),
        "std": np.maximum(scaler.scale_, 1e-12).tolist(),
        "coef": clf.coef_.tolist(),
        "intercept": clf.intercept_.tolist(),
    }


def tag_probe_features(pretrained: np.ndarray, lowlevel: np.ndarray) -> np.ndarray:
    """(N, width) input of the tag probe: the pretrained vector, then the raw low-level descriptors. Both reach
    every prediction already (the interpretive ones added ~0.003 nDCG@3 out of fold, not worth a new input)."""
    return np.concatenate([np.asarray(a, np.float64) for a in (pretrained, lowlevel)], axis=1)


def apply_tag_probe(tag_scores: np.ndarray, spec: dict[str, Any], features: np.ndarray) -> np.ndarray:
    """The network's tag distribution mixed with the tag probe's (both sum to 1 per clip, so the mix does too)."""
    w = float(spec["weight"])
    net = np.asarray(tag_scores, np.float64)
    net = net / np.maximum(net.sum(axis=1, keepdims=True), 1e-12)
    return np.asarray((1.0 - w) * net + w * probe_probs(spec, features), np.float32)


def apply_heads(
    quadrant_probs: np.ndarray, spec: dict[str, Any], pretrained: np.ndarray | None, interpretive: np.ndarray | None
) -> np.ndarray:
    """The network's quadrant probabilities after the probe mix and the arousal adjustment named in `spec`."""
    out = np.asarray(quadrant_probs, np.float64)
    probe = spec.get("probe")
    if probe:
        if pretrained is None:
            raise StackingError("this model's probe needs the pretrained embedding")
        w = float(probe["weight"])
        out = (1.0 - w) * out + w * probe_probs(probe, pretrained)
    arousal = spec.get("arousal")
    if arousal:
        if interpretive is None:
            raise StackingError("this model's arousal adjustment needs the interpretive descriptors")
        from core.arousal import apply_adjustment

        out = apply_adjustment(out, interpretive, arousal)
    return np.asarray(out, np.float32)


def apply_tag_heads(
    tag_scores: np.ndarray, spec: dict[str, Any], pretrained: np.ndarray | None, lowlevel: np.ndarray | None
) -> np.ndarray:
    """The network's tag scores after the tag probe named in `spec` (unchanged without one)."""
    tag_probe = spec.get("tag_probe")
    if not tag_probe:
        return tag_scores
    if pretrained is None or lowlevel is None:
        raise StackingError("this model's tag probe needs the pretrained and low-level inputs")
    return apply_tag_probe(tag_scores, tag_probe, tag_probe_features(pretrained, lowlevel))


__all__ = [
    "HEAD_NAMES",
    "StackingError",
    "apply_heads",
    "apply_tag_heads",
    "apply_tag_probe",
    "check_probe",
    "probe_from_sklearn",
    "probe_probs",
    "tag_probe_features",
]
