"""Per-library calibration from a few corrections ("teach it"): pure numpy, no storage, no Qt.

A person says a track is in quadrant Qn, or is more energetic / calmer than shown. Each correction becomes a target
*shift of that track's quadrant logits* (log-probabilities). The shifts are spread to the rest of the library by
kernel ridge regression over how the tracks *sound* (the library-standardised interpretive descriptors,
`teaching_space`), so tracks that sound like the corrected one move with it and the others keep their values. Why
these choices (docs/teaching.md has the numbers):

- **Descriptors, not the model's embedding.** A correction says the model is wrong about a kind of sound; spreading
  it through the model's own embedding would spread it along the model's mistake. With the MusiCNN default, battle
  music sits next to the slow sad themes in the embedding (cosine 0.49) and opposite the frantic one (-0.81), while
  their loudness, onset density and spectral complexity put battle next to frantic (0.56) and far from sad (-0.37).

- **Shifts on logits, not new labels.** The model's order inside a library is mostly right and its absolute level is
  what fails on unfamiliar music (orchestral battle music read as calm), so a shift keeps what the model knows.
- **Library-centred cosine kernel** `k = ((1 + cos) / 2) ** power` on embeddings minus the library mean. Centring
  makes "similar" mean "similar within this library" (raw embeddings of one model share a large common direction, so
  raw cosines are all high), and the kernel is positive semi-definite (a power of a constant-plus-linear kernel), so
  the ridge system is always well posed. Tracks on the far side of the library get weights near 0.
- **Ridge** (`ridge`) keeps the fit smooth: near-duplicate corrections with conflicting labels are blended, never
  amplified, and a single correction reaches 1 / (1 + ridge) of its target on its own track.
- **Strong enough from one correction:** a quadrant correction lifts that quadrant's logit until it holds
  `quadrant_target` of the track's probability; a relative one moves P(high arousal) `step` of the way to 1 (more
  energetic) or to 0 (calmer), from what is shown at that time.
- **Tags follow the quadrants** by Jeffrey's rule: each tag's score is reweighted by the quadrant probability ratios
  (calibrated / raw), mixed by P(quadrant | tag) from annotated clips (resources/tag_quadrants.json).

Corrections are replayed in the order they were made, so "calmer" means calmer than what the person saw then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

QUADRANT_KINDS: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4")
RELATIVE_KINDS: tuple[str, ...] = ("more_energetic", "calmer")
KINDS: tuple[str, ...] = QUADRANT_KINDS + RELATIVE_KINDS
# +1 for the high-arousal quadrants (Q1 happy/excited, Q2 angry/tense), -1 for Q3/Q4
AROUSAL_SIGN = np.array([1.0, 1.0, -1.0, -1.0])


class CalibrationError(ValueError):
    """Inputs that cannot be calibrated: unknown kind, row out of range, mismatched shapes."""


@dataclass(frozen=True)
class CalibrationParams:
    power: float = 2.5  # kernel sharpness: higher = more local
    ridge: float = 0.1  # regularisation of the kernel ridge fit
    quadrant_target: float = 0.97  # a taught quadrant is lifted to at least this probability (before ridge shrink)
    step: float = 0.5  # relative kinds move P(high arousal) this fraction of the way to 1 (or 0)
    floor: float = 1e-6  # probabilities are clipped here before taking logs


@dataclass
class Calibrated:
    quadrant_probs: np.ndarray  # (N, 4) float32
    tag_scores: np.ndarray  # (N, T) float32
    shifts: np.ndarray  # (N, 4) float64 logit shifts applied to each track


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def teaching_space(descriptors: np.ndarray) -> np.ndarray:
    """Per-library z-scores of the descriptors (constant columns stay 0): the space corrections spread in.

    Standardising within the library makes each descriptor count alike whatever its unit (BPM, dB, ratios).
    """
    d = np.asarray(descriptors, dtype=np.float64)
    if d.ndim != 2:
        raise CalibrationError(f"descriptors must be (N, D), got {d.shape}")
    std = d.std(axis=0)
    return ((d - d.mean(axis=0)) / np.where(std > 1e-9, std, 1.0)).astype(np.float32)


def centred_directions(embeddings: np.ndarray) -> np.ndarray:
    """Unit rows of (embedding - library mean); a row at the mean stays zero (cosine 0 with everything).

    float32 (the embeddings' own precision): half the memory traffic of float64 on large libraries.
    """
    e = np.asarray(embeddings, dtype=np.float32)
    u = e - e.mean(axis=0, dtype=np.float64).astype(np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", u, u))[:, None]
    return np.divide(u, norms, out=np.zeros_like(u), where=norms > 1e-12)


def similarity(
    directions: np.ndarray, rows: Sequence[int], power: float = 2.0, query: Sequence[int] | None = None
) -> np.ndarray:
    """Kernel between the tracks `query` (all when None) and the tracks `rows`: ((1 + cos) / 2) ** power.

    A track's similarity to itself is exactly 1, also for a track at the library mean (zero direction).
    """
    idx = np.asarray(rows, dtype=np.int64)
    q = np.arange(directions.shape[0]) if query is None else np.asarray(query, dtype=np.int64)
    cos = np.clip((directions if query is None else directions[q]) @ directions[idx].T, -1.0, 1.0)
    cos[q[:, None] == idx[None, :]] = 1.0
    return ((1.0 + cos.astype(np.float64)) / 2.0) ** power


def quadrant_lift(probs: np.ndarray, quadrant: int, target: float) -> np.ndarray:
    """The logit shift that raises `quadrant` alone to probability `target` (zero when it is already there)."""
    p = float(np.clip(probs[quadrant], 1e-9, 1 - 1e-9))
    shift = np.zeros(4)
    if p < target:
        shift[quadrant] = np.log(target * (1 - p) / (p * (1 - target)))
    return shift


def arousal_step(probs: np.ndarray, direction: int, step: float) -> np.ndarray:
    """The logit shift that moves P(Q1 or Q2) `step` of the way to 1 (direction +1) or 0 (direction -1).

    Half the log-odds change goes up on Q1/Q2 and half down on Q3/Q4, so the valence split inside each half stays.
    """
    high = float(np.clip(probs[0] + probs[1], 1e-6, 1 - 1e-6))
    new = high + step * (1 - high) if direction > 0 else high * (1 - step)
    new = float(np.clip(new, 1e-6, 1 - 1e-6))
    delta = np.log(new / (1 - new)) - np.log(high / (1 - high))
    return AROUSAL_SIGN * delta / 2


def _validate(embeddings: np.ndarray, quadrant_probs: np.ndarray, corrections: Sequence[tuple[int, str]]) -> None:
    n = quadrant_probs.shape[0]
    if quadrant_probs.ndim != 2 or quadrant_probs.shape[1] != 4:
        raise CalibrationError(f"quadrant_probs must be (N, 4), got {quadrant_probs.shape}")
    if embeddings.ndim != 2 or embeddings.shape[0] != n:
        raise CalibrationError(f"embeddings must be (N, D) with N = {n}, got {embeddings.shape}")
    for row, kind in corrections:
        if kind not in KINDS:
            raise CalibrationError(f"unknown correction kind {kind!r}; expected one of {', '.join(KINDS)}")
        if not 0 <= int(row) < n:
            raise CalibrationError(f"correction row {row} is outside the library's {n} tracks")


class _Fit:
    """Kernel ridge regression of target logit shifts at anchor rows (anchors kept in first-taught order)."""

    def __init__(self, directions: np.ndarray, params: CalibrationParams) -> None:
        self.directions = directions
        self.params = params
        self.targets: dict[int, np.ndarray] = {}

    def _alpha(self, rows: list[int]) -> np.ndarray:
        gram = similarity(self.directions, rows, self.params.power, query=rows)
        values = np.stack([self.targets[r] for r in rows])
        return np.linalg.solve(gram + self.params.ridge * np.eye(len(rows)), values)

    def predict(self, query: Sequence[int] | None = None, *, without: int | None = None) -> np.ndarray:
        """Shifts at `query` rows (all tracks when None), optionally leaving the anchor `without` out of the fit."""
        rows = [r for r in self.targets if r != without]
        n_out = self.directions.shape[0] if query is None else len(query)
        if not rows:
            return np.zeros((n_out, 4))
        return similarity(self.directions, rows, self.params.power, query=query) @ self._alpha(rows)


def fit_shifts(
    embeddings: np.ndarray,
    quadrant_probs: np.ndarray,
    corrections: Sequence[tuple[int, str]],
    params: CalibrationParams | None = None,
) -> np.ndarray:
    """(N, 4) logit shifts for every track from `corrections` = [(row, kind), ...] in the order they were made."""
    params = params or CalibrationParams()
    emb = np.asarray(embeddings)
    probs = np.asarray(quadrant_probs, dtype=np.float64)
    _validate(emb, probs, corrections)
    if not corrections:
        return np.zeros((probs.shape[0], 4))
    logits = np.log(np.clip(probs, params.floor, 1.0))
    fit = _Fit(centred_directions(emb), params)
    for row, kind in corrections:
        row = int(row)
        if kind in QUADRANT_KINDS:  # absolute: replaces what this track was taught before
            base = fit.predict([row], without=row)[0]
            shown = _softmax(logits[row] + base)
            fit.targets.pop(row, None)
            fit.targets[row] = base + quadrant_lift(shown, QUADRANT_KINDS.index(kind), params.quadrant_target)
        else:  # relative: a step from what is shown now, added to what this track was taught before
            shown = _softmax(logits[row] + fit.predict([row])[0])
            base = fit.targets.get(row)
            if base is None:
                base = fit.predict([row], without=row)[0]
            direction = 1 if kind == "more_energetic" else -1
            fit.targets[row] = base + arousal_step(shown, direction, params.step)
    return fit.predict()


def apply_shifts(
    quadrant_probs: np.ndarray, tag_scores: np.ndarray, shifts: np.ndarray, affinity: np.ndarray, floor: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated (quadrant_probs, tag_scores): softmax(log p + shift), and tags by Jeffrey's rule.

    `affinity` is (T, 4) P(quadrant | tag); a tag's new score is its old one times the affinity-weighted ratio of
    calibrated to raw quadrant probabilities, renormalised over tags.
    """
    raw_q = np.clip(np.asarray(quadrant_probs, dtype=np.float64), floor, 1.0)
    new_q = _softmax(np.log(raw_q) + shifts)
    tags = np.asarray(tag_scores, dtype=np.float64)
    if affinity.shape != (tags.shape[1], 4):
        raise CalibrationError(f"affinity must be ({tags.shape[1]}, 4), got {affinity.shape}")
    new_t = tags * ((new_q / raw_q) @ affinity.T)
    totals = new_t.sum(axis=1, keepdims=True)
    new_t = np.divide(new_t, totals, out=tags.copy(), where=totals > 0)
    return new_q.astype(np.float32), new_t.astype(np.float32)


def tag_quadrant_affinity(tag_names: Sequence[str]) -> np.ndarray:
    """(T, 4) P(quadrant | tag) from resources/tag_quadrants.json, add-one smoothed, rows in `tag_names` order.

    A tag the table does not know (a model trained on another vocabulary) gets a uniform row: its score then only
    changes by renormalisation.
    """
    from core.resources import load_json_resource

    table = load_json_resource("tag_quadrants.json")
    if list(table["quadrants"]) != list(QUADRANT_KINDS):
        raise CalibrationError(f"tag_quadrants.json lists quadrants {table['quadrants']}, expected Q1..Q4")
    counts = np.array([table["counts"].get(t, [0, 0, 0, 0]) for t in tag_names], dtype=np.float64) + 1.0
    return counts / counts.sum(axis=1, keepdims=True)


def calibrate(
    embeddings: np.ndarray,
    quadrant_probs: np.ndarray,
    tag_scores: np.ndarray,
    corrections: Sequence[tuple[int, str]],
    affinity: np.ndarray,
    params: CalibrationParams | None = None,
) -> Calibrated:
    """Fit the corrections and apply them to every track (one call for the cache's load path)."""
    params = params or CalibrationParams()
    shifts = fit_shifts(embeddings, quadrant_probs, corrections, params)
    q, t = apply_shifts(quadrant_probs, tag_scores, shifts, affinity, params.floor)
    return Calibrated(quadrant_probs=q, tag_scores=t, shifts=shifts)
