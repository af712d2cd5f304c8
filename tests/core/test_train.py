"""Tiny end-to-end training on real clips (the demo as a 4Q-style folder everywhere; the 4Q data set as an extra
layer): checkpoint saved, reloaded in a fresh process, ranks demo tracks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


def _balanced_clips(folder, split: str, per_quadrant: int):
    from core.data.fourq import read_fourq

    clips = read_fourq(folder, split)
    picked = []
    for q in ("Q1", "Q2", "Q3", "Q4"):
        picked += [c for c in clips if c.quadrant == q and c.has_tags][:per_quadrant]
    return picked


def _short_mels(arrays, frames: int):
    """Crop the stored 30 s mels so CPU training stays fast (the model learns its mel length from the data)."""
    arrays.mel = np.ascontiguousarray(arrays.mel[:, :, :frames])
    arrays.mel_lengths = np.minimum(arrays.mel_lengths, frames)
    return arrays


@pytest.fixture(scope="module")
def tiny_arrays(labelled_dir, tmp_path_factory):
    from core.datasets import build_arrays
    from core.feature_cache import FeatureCache

    cache = FeatureCache(tmp_path_factory.mktemp("features"))
    clips = _balanced_clips(labelled_dir, "train", 4)
    return _short_mels(build_arrays(clips, cache, show_bar=False), 160), cache


def test_stratified_split_holds_out_each_quadrant():
    from core.datasets import stratified_split

    quadrant = np.repeat(np.arange(4), 10)
    keep, held = stratified_split(quadrant, 0.2, seed=3)
    assert len(held) == 8 and np.bincount(quadrant[held]).tolist() == [2, 2, 2, 2]
    assert not set(keep) & set(held) and len(keep) + len(held) == 40
    assert not np.array_equal(held, stratified_split(quadrant, 0.2, seed=4)[1])


def test_feature_cache_never_extracts_twice(tiny_arrays, labelled_dir):
    from core.feature_cache import FeatureCache

    _, cache = tiny_arrays
    clip = _balanced_clips(labelled_dir, "train", 1)[0]
    calls = []

    def no_extract(path, muq):
        calls.append(path)
        raise AssertionError("should have come from the cache")

    again = FeatureCache(cache.cache_dir, extract=no_extract).get(clip.audio_path)
    assert not calls and again.mel.shape[0] == 48 and again.lowlevel.shape == (8,)
    assert cache.entry_path(clip.audio_path).name.endswith(f"-{cache.version}.npz")
    # a different extractor version is a different entry
    assert FeatureCache(cache.cache_dir, version="other", extract=no_extract).lookup(clip.audio_path) is None


def test_packed_round_trip(tiny_arrays, tmp_path):
    from core.datasets import load_packed, save_packed

    arrays, _ = tiny_arrays
    save_packed(arrays, tmp_path / "p.npz", splits={"train": np.arange(4)}, levels=127, xz=True)
    back, splits = load_packed(tmp_path / "p.npz")
    span = arrays.mel.max() - arrays.mel.min()
    assert np.abs(back.mel - arrays.mel).max() <= span / 127
    assert back.song_ids == arrays.song_ids and np.array_equal(back.relevance, arrays.relevance)
    assert splits["train"].tolist() == [0, 1, 2, 3]


def test_tiny_training_checkpoint_loads_elsewhere_and_ranks_demo(tiny_arrays, tmp_path, demo_files):
    from core.checkpoint import save_checkpoint
    from core.train import TrainConfig, checkpoint_meta, fit

    arrays, _ = tiny_arrays
    cfg = TrainConfig(task="joint", max_epochs=2, crop_frames=96, device="cpu", seed=1)
    result = fit(arrays, cfg, show_bar=False)
    assert len(result.history) == 2 and all(np.isfinite(h["val_loss"]) for h in result.history)
    assert result.model_config.branches == ("mel", "genre", "lowlevel") and result.model_config.mel_frames == 160
    assert set(result.normalization) == {"mel", "lowlevel"}
    out = tmp_path / "ckpt"
    save_checkpoint(out, result.model, result.model_config, checkpoint_meta(result, dataset="4Q tiny"))

    script = (
        "import json, sys\n"
        "from core.inference import EmotionModel\n"
        "from core.features.track import extract_track_features\n"
        "m = EmotionModel.load(sys.argv[1], device='cpu')\n"
        "f = [extract_track_features(p) for p in sys.argv[2:]]\n"
        "import numpy as np\n"
        "p = m.predict(mel=[x.mel for x in f], lowlevel=np.stack([x.lowlevel for x in f]),"
        " genre=np.stack([x.genre for x in f]))\n"
        "print(json.dumps({'tags': m.tags, 'scores': p.tag_scores.tolist(), 'quad': p.quadrant_probs.tolist()}))\n"
    )
    demo = [str(p) for p in demo_files[:3]]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", script, str(out), *demo], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    scores = np.array(doc["scores"])
    assert scores.shape == (3, 12) and np.allclose(scores.sum(axis=1), 1, atol=1e-4)
    assert np.allclose(np.array(doc["quad"]).sum(axis=1), 1, atol=1e-4)
    ranking = [doc["tags"][i] for i in np.argsort(-scores[0])]
    assert sorted(ranking) == sorted(doc["tags"]) and len(set(ranking)) == 12


def test_ranking_task_drops_clips_without_tags(tiny_arrays):
    from core.train import _task_rows

    arrays, _ = tiny_arrays
    arrays = arrays.subset(np.arange(len(arrays)))
    arrays.relevance[0] = 0
    assert 0 not in _task_rows(arrays, "tags") and 0 in _task_rows(arrays, "quadrant")


def test_corrupt_cache_entry_is_re_extracted(tiny_arrays, labelled_dir):
    _, cache = tiny_arrays
    clip = _balanced_clips(labelled_dir, "train", 1)[0]
    entry = cache.entry_path(clip.audio_path)
    good = cache.get(clip.audio_path)
    entry.write_bytes(b"not an npz")
    assert cache.lookup(clip.audio_path) is None
    again = cache.get(clip.audio_path)
    assert np.allclose(again.lowlevel, good.lowlevel) and cache.lookup(clip.audio_path) is not None


def test_qfx_train_cli_on_user_layout(labelled_dir, tmp_path, capsys, monkeypatch):
    """`qfx train` on a folder without a split column; a MuQ request without weights is one clean error."""
    from core.inference import EmotionModel
    from explorer.cli.main import main

    data = tmp_path / "data"
    (data / "audio").mkdir(parents=True)
    lines = ["song_id,quadrant,moods,genres"]
    for c in _balanced_clips(labelled_dir, "train", 3):
        (data / "audio" / c.audio_path.name).symlink_to(c.audio_path)
        lines.append(f'{c.song_id},{c.quadrant},"{"; ".join(c.moods)}","{"; ".join(c.genres)}"')
    (data / "labels.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "model"
    code = main(
        [
            "train",
            "--data",
            str(data),
            "--out",
            str(out),
            "--branches",
            "genre",
            "lowlevel",
            "--epochs",
            "2",
            "--seeds",
            "0",
            "1",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "seed 0:" in printed and "seed 1:" in printed and "saved seed" in printed
    model = EmotionModel.load(out, device="cpu")
    assert model.branches == ("genre", "lowlevel") and model.meta["training"]["seeds_tried"] == [0, 1]
    assert model.meta["training"]["provisional"] is False and "12 clips" in model.meta["training"]["dataset"]

    monkeypatch.setenv("QFX_MUQ_DIR", str(tmp_path / "no-muq-here"))  # offline: no weights, no download
    code = main(["train", "--data", str(data), "--out", str(tmp_path / "m2"), "--branches", "muq", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("qfx train: error:") and "Traceback" not in err


def test_stratified_folds_hold_out_every_clip_once():
    from core.datasets import stratified_folds

    quadrant = np.repeat(np.arange(4), [10, 11, 9, 10])
    fold = stratified_folds(quadrant, 5, seed=0)
    assert sorted(np.bincount(fold).tolist()) == [8, 8, 8, 8, 8]
    for k in range(5):  # each fold holds 1-3 clips of every quadrant
        assert set(quadrant[fold == k]) == {0, 1, 2, 3}
    assert np.array_equal(fold, stratified_folds(quadrant, 5, seed=0))
    assert not np.array_equal(fold, stratified_folds(quadrant, 5, seed=1))


def test_recipe_options_fold_onecycle_band_norm_and_tta_match_inference(tiny_arrays, tmp_path):
    """k-fold validation, OneCycle, per-band mel / clipped low-level statistics; predict_tensors' test-time crops
    give what EmotionModel gives for the same checkpoint."""
    from core.checkpoint import save_checkpoint
    from core.inference import EmotionModel
    from core.train import TrainConfig, checkpoint_meta, fit, predict_arrays, validation_arrays

    arrays, _ = tiny_arrays
    cfg = TrainConfig(
        task="joint",
        max_epochs=4,
        crop_frames=96,
        device="cpu",
        seed=1,
        folds=4,
        fold=2,
        schedule="onecycle",
        lr=2e-3,
        mel_norm="band",
        lowlevel_clip=5.0,
        label_smoothing=0.1,
        early_stop_patience=1,
    )
    result = fit(arrays, cfg, show_bar=False)
    lrs = [h["lr"] for h in result.history]  # OneCycle runs every epoch (no early stop), warms up, then anneals
    assert len(lrs) == 4 and max(lrs) <= 2e-3 and min(lrs) < max(lrs) / 10
    assert len(result.normalization["mel"]["mean"]) == 48 and result.normalization["lowlevel"]["clip"] == 5.0
    val = validation_arrays(arrays, cfg)
    assert len(val) == 4 and sorted(val.quadrant.tolist()) == [0, 1, 2, 3]
    pred = predict_arrays(result, val, tta=(96, 3))
    meta = checkpoint_meta(result, dataset="4Q tiny")
    meta["inference"] = {"members": [], "tta_crops": 3, "tta_frames": 96}
    save_checkpoint(tmp_path / "c", result.model, result.model_config, meta)
    em = EmotionModel.load(tmp_path / "c", device="cpu")
    em.shared_trunk = False  # training's crops run each crop through the whole network: compare like with like
    got = em.predict(
        mel=[m[:, : int(n)] for m, n in zip(val.mel, val.mel_lengths)], lowlevel=val.lowlevel, genre=val.genre
    )
    assert np.allclose(got.quadrant_probs, pred["quadrant_probs"], atol=1e-4)
    assert np.allclose(got.tag_scores, pred["tag_scores"], atol=1e-4)
    em.shared_trunk = True  # the app's cheaper shared-trunk crops stay close to the true crops
    fast = em.predict(
        mel=[m[:, : int(n)] for m, n in zip(val.mel, val.mel_lengths)], lowlevel=val.lowlevel, genre=val.genre
    )
    assert np.allclose(fast.quadrant_probs, pred["quadrant_probs"], atol=0.03)
