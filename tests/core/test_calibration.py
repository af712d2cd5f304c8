"""core.calibration: the teaching fit on controlled embeddings (what moves, what stays, how tags follow)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.calibration import (
    KINDS,
    CalibrationError,
    CalibrationParams,
    apply_shifts,
    arousal_step,
    calibrate,
    centred_directions,
    fit_shifts,
    quadrant_lift,
    similarity,
    tag_quadrant_affinity,
)
from core.emotions import TAGS
from core.resources import resource_path


def _library(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two clusters of 10 tracks in a 16-d space, all read as calm (Q4) by a 'model', with random tag scores."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=16)
    emb = np.concatenate([centre + 0.3 * rng.normal(size=(10, 16)), -centre + 0.3 * rng.normal(size=(10, 16))])
    logits = np.tile([-2.0, -2.5, 0.0, 0.7], (20, 1)) + 0.2 * rng.normal(size=(20, 4))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    tags = rng.dirichlet(np.ones(len(TAGS)), size=20)
    return emb.astype(np.float32), probs.astype(np.float32), tags.astype(np.float32)


@pytest.fixture(scope="module")
def affinity() -> np.ndarray:
    return tag_quadrant_affinity(TAGS)


def test_no_corrections_changes_nothing(affinity):
    emb, probs, tags = _library()
    out = calibrate(emb, probs, tags, [], affinity)
    assert not out.shifts.any()
    np.testing.assert_allclose(out.quadrant_probs, probs, atol=1e-6)
    np.testing.assert_allclose(out.tag_scores, tags, atol=1e-6)


def test_quadrant_correction_moves_its_cluster_and_not_the_other(affinity):
    emb, probs, tags = _library()
    out = calibrate(emb, probs, tags, [(0, "Q2")], affinity)
    q = out.quadrant_probs
    assert q[0].argmax() == 1 and q[0, 1] > 0.8  # the corrected track shows what it was taught
    high = q[:, :2].sum(1)
    assert (high[1:10] > 0.5).all(), high[1:10]  # its neighbours follow
    np.testing.assert_allclose(q[10:], probs[10:], atol=0.03)  # the far cluster keeps its values
    assert (q[10:].argmax(1) == probs[10:].argmax(1)).all()
    np.testing.assert_allclose(q.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(out.tag_scores.sum(1), 1, atol=1e-5)


def test_tags_follow_the_quadrants(affinity):
    emb, probs, tags = _library()
    out = calibrate(emb, probs, tags, [(0, "Q2")], affinity)
    exc, quiet = TAGS.index("Excitement"), TAGS.index("Quiet")
    before = tags[:10, exc] / tags[:10, quiet]
    after = out.tag_scores[:10, exc] / out.tag_scores[:10, quiet]
    assert (after > 3 * before).all()  # high-arousal tags gain on calm ones wherever the quadrants moved
    far_before = tags[10:, exc] / tags[10:, quiet]
    far_after = out.tag_scores[10:, exc] / out.tag_scores[10:, quiet]
    np.testing.assert_allclose(far_after, far_before, rtol=0.1)


def test_reteaching_a_track_replaces_its_quadrant(affinity):
    emb, probs, tags = _library()
    out = calibrate(emb, probs, tags, [(0, "Q2"), (0, "Q1")], affinity)
    assert out.quadrant_probs[0].argmax() == 0 and out.quadrant_probs[0, 0] > 0.8
    q2_only = calibrate(emb, probs, tags, [(0, "Q1")], affinity)
    np.testing.assert_allclose(out.shifts, q2_only.shifts, atol=1e-9)  # an absolute label forgets the old one


def test_relative_steps_accumulate_and_reverse(affinity):
    emb, probs, tags = _library()
    high0 = probs[3, :2].sum()
    highs = []
    for n in range(1, 4):
        out = calibrate(emb, probs, tags, [(3, "more_energetic")] * n, affinity)
        highs.append(out.quadrant_probs[3, :2].sum())
    assert high0 < highs[0] < highs[1] < highs[2]
    assert highs[0] > high0 + 0.3 * (1 - high0)  # one step goes a good part of the way (ridge shrinks it a little)
    calmer = calibrate(emb, probs, tags, [(3, "more_energetic"), (3, "calmer")], affinity)
    assert calmer.quadrant_probs[3, :2].sum() < highs[0]


def test_conflicting_neighbours_stay_bounded(affinity):
    emb, probs, tags = _library()
    out = calibrate(emb, probs, tags, [(0, "Q2"), (1, "Q4")], affinity)
    assert out.quadrant_probs[0].argmax() == 1 and out.quadrant_probs[1].argmax() == 3
    assert np.abs(out.shifts).max() < 20  # near-duplicate anchors with opposite labels do not blow up


def test_lift_and_step_hit_their_targets():
    p = np.array([0.1, 0.05, 0.35, 0.5])
    shifted = np.exp(np.log(p) + quadrant_lift(p, 1, 0.9))
    assert shifted[1] / shifted.sum() == pytest.approx(0.9)
    assert not quadrant_lift(np.array([0.0, 0.95, 0.0, 0.05]), 1, 0.9).any()
    up = np.exp(np.log(p) + arousal_step(p, +1, 0.5))
    up /= up.sum()
    assert up[:2].sum() == pytest.approx(0.15 + 0.5 * 0.85)
    assert up[0] / up[1] == pytest.approx(2.0)  # the valence split inside the high half is kept
    down = np.exp(np.log(p) + arousal_step(p, -1, 0.5))
    assert (down / down.sum())[:2].sum() == pytest.approx(0.075)


def test_kernel_is_positive_semidefinite_and_one_on_itself():
    rng = np.random.default_rng(1)
    d = centred_directions(rng.normal(size=(40, 8)))
    k = similarity(d, list(range(40)), power=2.0)
    assert np.allclose(k, k.T) and np.allclose(np.diag(k), 1)
    assert np.linalg.eigvalsh(k).min() > -1e-9
    single = centred_directions(rng.normal(size=(1, 8)))  # a one-track library: the track is its own mean
    assert similarity(single, [0])[0, 0] == 1.0


def test_bad_input_is_refused(affinity):
    emb, probs, tags = _library()
    with pytest.raises(CalibrationError, match="unknown correction kind"):
        fit_shifts(emb, probs, [(0, "Q5")])
    with pytest.raises(CalibrationError, match="outside"):
        fit_shifts(emb, probs, [(20, "Q1")])
    with pytest.raises(CalibrationError, match="embeddings"):
        fit_shifts(emb[:5], probs, [(0, "Q1")])
    with pytest.raises(CalibrationError, match="affinity"):
        apply_shifts(probs, tags, np.zeros((20, 4)), affinity[:5])
    assert KINDS == ("Q1", "Q2", "Q3", "Q4", "more_energetic", "calmer")


def test_stronger_ridge_moves_less(affinity):
    emb, probs, tags = _library()
    soft = calibrate(emb, probs, tags, [(0, "Q2")], affinity, CalibrationParams(ridge=1.0))
    hard = calibrate(emb, probs, tags, [(0, "Q2")], affinity, CalibrationParams(ridge=0.01))
    assert soft.quadrant_probs[5, 1] < hard.quadrant_probs[5, 1]


def test_affinity_table(affinity):
    np.testing.assert_allclose(affinity.sum(1), 1)
    high = affinity[:, :2].sum(1)
    assert high[TAGS.index("Excitement")] > 0.8 and high[TAGS.index("Happiness")] > 0.6
    assert high[TAGS.index("Quiet")] < 0.05 and high[TAGS.index("Sadness")] < 0.15
    unknown = tag_quadrant_affinity(["Excitement", "NotATag"])
    np.testing.assert_allclose(unknown[1], 0.25)


def test_affinity_resource_matches_the_4q_annotations(fourq_dir):
    import importlib.util

    spec = importlib.util.spec_from_file_location("btq", resource_path("..", "scripts", "build_tag_quadrants.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    counts = module.tag_quadrant_counts(fourq_dir)
    table = json.loads(resource_path("tag_quadrants.json").read_text())
    assert {t: list(map(int, row)) for t, row in zip(TAGS, counts)} == table["counts"]
