"""EmotionModel: loads a checkpoint, normalises inside, batches, pads/crops mel, returns numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.checkpoint import CheckpointError, save_checkpoint
from core.emotions import TAGS
from core.features.genre import GENRES
from core.inference import EmotionModel, InferenceError, fit_frames
from core.model import ModelConfig, QuadFusionNet

torch.set_num_threads(1)
G = len(GENRES)
NORM = {
    "mel": {"mean": 2.0, "std": 4.0},
    "muq": {"mean": [0.5] * 1024, "std": [2.0] * 1024},
    "lowlevel": {"mean": [1.0] * 8, "std": [3.0] * 8},
}


def _save(tmp_path: Path, branches=("mel", "muq", "genre", "lowlevel"), mel_frames=32) -> Path:
    torch.manual_seed(1)
    config = ModelConfig(branches=branches, mel_frames=mel_frames)
    model = QuadFusionNet(config)
    meta = {
        "tags": list(TAGS),
        "genres": list(GENRES),
        "extractor_version": "1",
        "normalization": {b: v for b, v in NORM.items() if b in branches},
    }
    return save_checkpoint(tmp_path / "m", model, config, meta)


def _inputs(n: int, t: int = 32) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(n)
    return {
        "mel": rng.normal(2, 4, (n, 48, t)).astype(np.float32),
        "muq": rng.normal(size=(n, 1024)).astype(np.float32),
        "genre": (rng.random((n, G)) > 0.8).astype(np.float32),
        "lowlevel": rng.normal(size=(n, 8)),
    }


def test_predict_matches_manual_forward(tmp_path: Path) -> None:
    em = EmotionModel.load(_save(tmp_path), expected_extractor_version=None)
    assert em.branches == ("mel", "muq", "genre", "lowlevel") and em.uses_muq
    x = _inputs(7)
    pred = em.predict(**x, batch_size=3, device="cpu")  # the reference below runs on the CPU too
    assert (
        pred.tag_scores.shape == (7, 12) and pred.quadrant_probs.shape == (7, 4) and pred.embeddings.shape == (7, 128)
    )
    assert pred.tag_scores.dtype == np.float32
    assert np.allclose(pred.tag_scores.sum(1), 1, atol=1e-5) and np.allclose(pred.quadrant_probs.sum(1), 1, atol=1e-5)
    # reference: normalise by hand and run the torch model in eval mode
    model = em.model.cpu().eval()
    with torch.no_grad():
        out = model(
            mel=torch.from_numpy((x["mel"] - 2.0) / 4.0),
            muq=torch.from_numpy((x["muq"] - 0.5) / 2.0),
            genre=torch.from_numpy(x["genre"]),
            lowlevel=torch.from_numpy(((x["lowlevel"] - 1.0) / 3.0).astype(np.float32)),
        )
    assert np.allclose(pred.tag_scores, torch.softmax(out["tag_logits"], 1).numpy(), atol=1e-5)
    assert np.allclose(pred.embeddings, out["embedding"].numpy(), atol=1e-5)
    # batching does not change results (eval mode: no dropout, BN running stats)
    again = em.predict(**x, batch_size=64, device="cpu")
    assert np.allclose(again.quadrant_probs, pred.quadrant_probs, atol=1e-6)


def test_mel_is_padded_or_cropped_to_training_length(tmp_path: Path) -> None:
    em = EmotionModel.load(_save(tmp_path, mel_frames=32), expected_extractor_version=None)
    x = _inputs(2, t=32)
    base = em.predict(**x)
    longer = dict(
        x,
        mel=np.concatenate(
            [np.full((2, 48, 10), 99.0, np.float32), x["mel"], np.full((2, 48, 10), 99.0, np.float32)], 2
        ),
    )
    assert np.allclose(em.predict(**longer).tag_scores, base.tag_scores, atol=1e-5)  # centre crop
    ragged = dict(x, mel=[x["mel"][0][:, :20], x["mel"][1]])
    assert em.predict(**ragged).tag_scores.shape == (2, 12)
    assert fit_frames(np.ones((48, 5)), 9).sum() == 48 * 5
    assert fit_frames(np.ones((1, 3)), 5).tolist() == [[1, 1, 1, 0, 0]]  # right padding, as in training
    assert fit_frames(np.arange(10.0)[None], 4).tolist() == [[3, 4, 5, 6]]


def test_variable_length_without_fixed_frames(tmp_path: Path) -> None:
    em = EmotionModel.load(_save(tmp_path, mel_frames=None), expected_extractor_version=None)
    x = _inputs(2)
    ragged = dict(x, mel=[x["mel"][0][:, :20], x["mel"][1]])
    pred = em.predict(**ragged)
    single = em.predict(**{k: v[1:] for k, v in x.items()})
    assert np.allclose(pred.embeddings[1], single.embeddings[0], atol=1e-5)


def test_model_without_muq_and_version(tmp_path: Path) -> None:
    path = _save(tmp_path, branches=("mel", "genre", "lowlevel"))
    em = EmotionModel.load(path, expected_extractor_version=None)
    assert not em.uses_muq
    x = _inputs(3)
    x.pop("muq")
    assert em.predict(**x).embeddings.shape == (3, 128)
    v1 = em.version
    assert v1 == EmotionModel.load(path, expected_extractor_version=None).version and len(v1) == 16
    (path / "config.json").write_text((path / "config.json").read_text() + " ")  # any byte change -> new version
    assert EmotionModel.load(path, expected_extractor_version=None).version != v1


def test_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    em = EmotionModel.load(_save(tmp_path), expected_extractor_version=None)
    x = _inputs(3)
    with pytest.raises(InferenceError, match="'muq' input is missing"):
        em.predict(**{k: v for k, v in x.items() if k != "muq"})
    with pytest.raises(InferenceError, match="disagree"):
        em.predict(**dict(x, lowlevel=x["lowlevel"][:2]))
    with pytest.raises(InferenceError, match="genre must be"):
        em.predict(**dict(x, genre=x["genre"][:, :3]))
    assert em.predict(**{k: v[:0] for k, v in x.items()}).tag_scores.shape == (0, 12)
    monkeypatch.setenv("QFX_RESOURCES", str(tmp_path / "empty"))
    with pytest.raises(CheckpointError, match="shipped default model is not installed"):
        EmotionModel.load()
    with pytest.raises(CheckpointError, match="not installed"):
        EmotionModel.load(tmp_path / "missing")


def test_default_path_comes_from_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(tmp_path)
    (tmp_path / "res" / "models").mkdir(parents=True)
    path.rename(tmp_path / "res" / "models" / "default")
    monkeypatch.setenv("QFX_RESOURCES", str(tmp_path / "res"))
    assert EmotionModel.load(expected_extractor_version=None).branches[0] == "mel"


def _save_member(path: Path, seed: int, norm: dict, mel_frames: int = 32, half: bool = False, inference=None) -> Path:
    torch.manual_seed(seed)
    config = ModelConfig(branches=("mel", "genre", "lowlevel"), mel_frames=mel_frames)
    model = QuadFusionNet(config)
    model.train()  # non-trivial BN statistics
    model(mel=torch.randn(6, 48, mel_frames), genre=torch.rand(6, G), lowlevel=torch.randn(6, 8))
    model.eval()
    meta = {"tags": list(TAGS), "genres": list(GENRES), "extractor_version": "1", "normalization": norm}
    if inference:
        meta["inference"] = inference
    return save_checkpoint(path, model.half() if half else model, config, meta)


BAND_NORM = {
    "mel": {"mean": list(np.linspace(1, 3, 48)), "std": list(np.linspace(2, 5, 48))},
    "lowlevel": {"mean": [1.0] * 8, "std": [0.001] + [3.0] * 7, "clip": 5.0},
}


def test_ensemble_averages_members_and_embeds_with_its_own_model(tmp_path: Path) -> None:
    """Mean softmax of the folder's model and its members (each normalised its own way); embedding of the first."""
    _save_member(tmp_path / "ens" / "members" / "b", 2, BAND_NORM, half=True)
    _save_member(
        tmp_path / "ens", 1, {k: v for k, v in NORM.items() if k != "muq"}, inference={"members": ["members/b"]}
    )
    ens = EmotionModel.load(tmp_path / "ens", device="cpu", profile="full", expected_extractor_version=None)
    a = EmotionModel.load(tmp_path / "ens", device="cpu", profile="fast", expected_extractor_version=None)
    b = EmotionModel.load(tmp_path / "ens" / "members" / "b", device="cpu", expected_extractor_version=None)
    assert ens.n_members == 2 and a.n_members == 1 and b.n_members == 1
    x = _inputs(5)
    x["lowlevel"][0, 0] = 1.5  # z = 500 for member b: clipped to 5
    del x["muq"]
    pe, pa, pb = ens.predict(**x, batch_size=2), a.predict(**x), b.predict(**x)
    assert np.allclose(pe.tag_scores, (pa.tag_scores + pb.tag_scores) / 2, atol=1e-6)
    assert np.allclose(pe.quadrant_probs, (pa.quadrant_probs + pb.quadrant_probs) / 2, atol=1e-6)
    assert np.allclose(pe.embeddings, pa.embeddings, atol=1e-6) and not np.allclose(pa.embeddings, pb.embeddings)
    # member b: per-band mel statistics and the low-level clip, by hand (float16 weights load as float32)
    assert b.model.fusion1[0].weight.dtype == torch.float32
    mel = (x["mel"] - np.linspace(1, 3, 48)[:, None]) / np.linspace(2, 5, 48)[:, None]
    low = np.clip((x["lowlevel"] - 1.0) / np.array([0.001] + [3.0] * 7), -5, 5)
    with torch.no_grad():
        out = b.model(
            mel=torch.from_numpy(mel.astype(np.float32)),
            genre=torch.from_numpy(x["genre"]),
            lowlevel=torch.from_numpy(low.astype(np.float32)),
        )
    assert np.allclose(pb.quadrant_probs, torch.softmax(out["quadrant_logits"], 1).numpy(), atol=1e-5)
    # the version covers the members' weights
    v = ens.version
    _save_member(tmp_path / "ens" / "members" / "b", 3, BAND_NORM)
    assert (
        EmotionModel.load(tmp_path / "ens", device="cpu", profile="full", expected_extractor_version=None).version != v
    )


def test_test_time_crops_average_softmax_over_evenly_spaced_windows(tmp_path: Path) -> None:
    from core.inference import tta_starts

    assert tta_starts(32, 16, 3) == [0, 8, 16] and tta_starts(32, 40, 5) == [0] and tta_starts(30, 10, 1) == [10]
    norm = {k: v for k, v in NORM.items() if k != "muq"}
    _save_member(tmp_path / "t", 1, norm, inference={"members": [], "tta_crops": 3, "tta_frames": 16})
    tta = EmotionModel.load(tmp_path / "t", device="cpu", expected_extractor_version=None)
    tta.shared_trunk = False  # the reference path: every crop through the whole network
    x = _inputs(4)
    del x["muq"]
    pred = tta.predict(**x)
    model = tta.model
    inputs = {
        "genre": torch.from_numpy(x["genre"]),
        "lowlevel": torch.from_numpy(((x["lowlevel"] - 1) / 3).astype(np.float32)),
    }
    mel = torch.from_numpy((x["mel"] - 2.0) / 4.0)
    with torch.no_grad():
        probs = [torch.softmax(model(mel=mel[..., s : s + 16], **inputs)["quadrant_logits"], 1) for s in (0, 8, 16)]
        emb = model.embed(mel=mel, **inputs)
    assert np.allclose(pred.quadrant_probs, torch.stack(probs).mean(0).numpy(), atol=1e-5)
    assert np.allclose(pred.embeddings, emb.numpy(), atol=1e-5)  # embeddings: the whole mel, never crops


def test_bad_ensemble_is_one_clear_error(tmp_path: Path) -> None:
    norm = {k: v for k, v in NORM.items() if k != "muq"}
    with pytest.raises(CheckpointError, match="inside the checkpoint"):
        _save_member(tmp_path / "x", 1, norm, inference={"members": ["../elsewhere"]})
    _save_member(tmp_path / "y", 1, norm, inference={"members": ["members/missing"]})
    with pytest.raises(CheckpointError, match="not found"):
        EmotionModel.load(tmp_path / "y", device="cpu", profile="full", expected_extractor_version=None)
    _save_member(tmp_path / "z" / "members" / "short", 2, norm, mel_frames=16)
    _save_member(tmp_path / "z", 1, norm, inference={"members": ["members/short"]})
    with pytest.raises(CheckpointError, match="other inputs or outputs"):
        EmotionModel.load(tmp_path / "z", device="cpu", profile="full", expected_extractor_version=None)


# -- shared-trunk test-time crops and inference profiles ----------------------------------------------------------


def test_pooled_length_and_trunk_windows_follow_the_ceil_pooling() -> None:
    from core.inference import pooled_length, trunk_windows, tta_starts

    assert [pooled_length(t) for t in (1, 2, 9, 938, 1876)] == [1, 1, 2, 118, 235]
    # the shipped crops: 5 windows of 118 columns (= a 938-frame crop's own map) inside the 235-column map
    starts = tta_starts(1876, 938, 5)
    assert starts == [0, 234, 469, 704, 938]
    assert trunk_windows(1876, 938, starts) == [(0, 118), (29, 147), (59, 177), (88, 206), (117, 235)]
    assert trunk_windows(21, 9, [0, 12]) == [(0, 2), (1, 3)]  # odd sizes: 21 -> 3 columns, a 9-frame crop -> 2


def test_feature_map_and_forward_pooled_reproduce_forward() -> None:
    torch.manual_seed(0)
    model = QuadFusionNet(ModelConfig(branches=("mel", "genre", "lowlevel")))
    model.train()
    model(mel=torch.randn(4, 48, 50), genre=torch.rand(4, G), lowlevel=torch.randn(4, 8))  # non-trivial BN stats
    model.eval()
    mel, genre, low = torch.randn(3, 48, 77), torch.rand(3, G), torch.randn(3, 8)
    with torch.no_grad():
        ref = model(mel=mel, genre=genre, lowlevel=low)
        fmap = model.mel_feature_map(mel)
        out = model.forward_pooled(fmap.mean(dim=(2, 3)), genre=genre, lowlevel=low)
    assert fmap.shape == (3, 256, 6, 10)
    for key in ("embedding", "tag_logits", "quadrant_logits"):
        assert torch.allclose(out[key], ref[key], atol=1e-5)
    with pytest.raises(ValueError, match="mel_vector"):
        model.forward_pooled(torch.zeros(3, 12), genre=genre, lowlevel=low)
    with pytest.raises(ValueError, match="no mel branch"):
        QuadFusionNet(ModelConfig(branches=("genre", "lowlevel"))).mel_feature_map(mel)


def _real_mels(paths: list[Path], seconds: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """(N, 48, T) mel and (N, 8) low-level descriptors of real excerpts, computed as the extractor does."""
    from core.audio import load_excerpt
    from core.features.lowlevel import lowlevel_descriptors
    from core.features.mel import mel_frames, melon_mel

    waves = [load_excerpt(p, rates=(16000,), length=seconds).audio[16000] for p in paths]
    frames = mel_frames(int(seconds * 16000))
    mels = np.stack([fit_frames(melon_mel(w), frames) for w in waves]).astype(np.float32)
    return mels, np.stack([lowlevel_descriptors(w) for w in waves])


def _shared_vs_true(em: EmotionModel, x: dict[str, np.ndarray]) -> tuple:
    shared = em.predict(**x, batch_size=8)
    em.shared_trunk = False
    true = em.predict(**x, batch_size=8)
    em.shared_trunk = True
    return shared, true


def test_shared_trunk_crops_agree_with_true_crops_small_ensemble(tmp_path: Path, demo_files: list[Path]) -> None:
    """Random-init 2-member ensemble on 10 s of real audio (626 frames), 5 crops of 313: only crop edges differ."""
    norm = {"mel": {"mean": -3.0, "std": 2.5}, "lowlevel": {"mean": [0.0] * 8, "std": [1.0] * 8, "clip": 5.0}}
    _save_member(tmp_path / "e" / "members" / "m1", 2, norm, mel_frames=626)
    _save_member(
        tmp_path / "e",
        1,
        norm,
        mel_frames=626,
        inference={"members": ["members/m1"], "tta_crops": 5, "tta_frames": 313},
    )
    mel, low = _real_mels(demo_files[:2], seconds=10.0)
    assert mel.shape == (2, 48, 626)
    genre = np.eye(G, dtype=np.float32)[:2]
    em = EmotionModel.load(tmp_path / "e", device="cpu", profile="full", expected_extractor_version=None)
    shared, true = _shared_vs_true(em, {"mel": mel, "lowlevel": low, "genre": genre})
    assert np.abs(shared.quadrant_probs - true.quadrant_probs).max() < 0.03
    assert np.abs(shared.tag_scores - true.tag_scores).max() < 0.03
    assert not np.allclose(shared.tag_scores, true.tag_scores, atol=1e-7)  # it really is the other computation
    assert np.allclose(shared.embeddings, true.embeddings, atol=1e-5)  # whole mel either way


def test_shipped_musicnn_ensemble_votes_in_both_profiles(fourq_dir: Path) -> None:
    """The shipped default has no mel branch: its members cost microseconds, so the CPU profile keeps them too
    and both profiles give the same scores; the embedding is the folder's own model's."""
    from core.data.fourq import read_fourq
    from core.datasets import inferred_genres
    from core.feature_cache import musicnn_features

    clips = read_fourq(fourq_dir, "test")[:2]
    mnn = np.stack([musicnn_features(c.audio_path) for c in clips])
    _, low = _real_mels([c.audio_path for c in clips])
    x = {"musicnn": mnn, "lowlevel": low, "genre": inferred_genres(mnn)}
    full = EmotionModel.load(device="cpu", profile="full")
    fast = EmotionModel.load(device="cpu", profile="fast")
    assert full.n_members == fast.n_members == 5 and "mel" not in fast.branches
    pf, pw = fast.predict(**x), full.predict(**x)
    assert np.allclose(pf.quadrant_probs, pw.quadrant_probs, atol=1e-6)
    alone = EmotionModel.load(device="cpu", profile="fast")
    alone._voters = alone._voters[:1]
    pa = alone.predict(**x)
    assert np.allclose(pa.embeddings, pf.embeddings, atol=1e-6)
    assert not np.allclose(pa.quadrant_probs, pf.quadrant_probs, atol=1e-4)  # the members really vote


def test_profile_selection_versions_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.inference import PROFILE_ENV, resolve_profile

    norm = {k: v for k, v in NORM.items() if k != "muq"}
    _save_member(tmp_path / "e" / "members" / "m1", 2, norm)
    _save_member(tmp_path / "e", 1, norm, inference={"members": ["members/m1"], "tta_crops": 3, "tta_frames": 16})
    load = lambda **kw: EmotionModel.load(tmp_path / "e", expected_extractor_version=None, **kw)  # noqa: E731
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    assert (
        resolve_profile(None, torch.device("cuda")) == "full" and resolve_profile(None, torch.device("cpu")) == "fast"
    )
    cpu = load(device="cpu")
    assert cpu.profile == "fast" and cpu.n_members == 1
    full = load(device="cpu", profile="full")
    assert full.profile == "full" and full.n_members == 2
    assert full.version != cpu.version and len(full.version) == len(cpu.version) == 16
    assert load(device="cpu", profile="FULL").version == full.version  # same profile, same version
    monkeypatch.setenv(PROFILE_ENV, "full")
    assert load(device="cpu").profile == "full" and resolve_profile(None, torch.device("cpu")) == "full"
    assert load(device="cpu", profile="fast").profile == "fast"  # the argument beats the environment
    monkeypatch.setenv(PROFILE_ENV, "turbo")
    with pytest.raises(InferenceError, match=f"{PROFILE_ENV} 'turbo'"):
        load(device="cpu")
    with pytest.raises(InferenceError, match="unknown inference profile 'best'"):
        load(device="cpu", profile="best")
    # fast = the folder's own model alone, with the same (shared-trunk) crops and the same embeddings
    monkeypatch.delenv(PROFILE_ENV)
    x = _inputs(3)
    del x["muq"]
    alone = EmotionModel.load(tmp_path / "e", device="cpu", profile="full", expected_extractor_version=None)
    alone._voters = alone._voters[:1]
    pf, pa, pfull = cpu.predict(**x), alone.predict(**x), full.predict(**x)
    assert np.allclose(pf.quadrant_probs, pa.quadrant_probs, atol=1e-6)
    assert np.allclose(pf.embeddings, pfull.embeddings, atol=1e-6) and not np.allclose(pf.tag_scores, pfull.tag_scores)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_predictions_match_cpu(tmp_path: Path) -> None:
    """On a GPU the same checkpoint gives the CPU's answers up to TF32/cuDNN rounding."""
    em = EmotionModel.load(_save(tmp_path), expected_extractor_version=None)
    x = _inputs(9)
    cpu = em.predict(**x, batch_size=4, device="cpu")
    gpu = em.predict(**x, batch_size=4, device="cuda")
    assert np.allclose(gpu.tag_scores, cpu.tag_scores, atol=1e-3)
    assert np.allclose(gpu.quadrant_probs, cpu.quadrant_probs, atol=1e-3)
    assert np.allclose(gpu.embeddings, cpu.embeddings, atol=1e-3)
