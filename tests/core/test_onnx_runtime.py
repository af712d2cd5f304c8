"""ONNX Runtime path: exported graphs agree with torch, the numpy mel with torch's, and the runtime choice holds.

Parity is measured on real demo clips through the whole feature pipeline, for both inference profiles (the
shipped ensemble with shared-trunk crops and its fast single-model profile), and on freshly exported checkpoints
of other shapes (no mel branch, one head, variable mel length, MuQ input), so the export is not tied to the
shipped model.
"""

from __future__ import annotations

import json
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from core.audio import load_audio
from core.checkpoint import CheckpointError, save_checkpoint
from core.emotions import TAGS
from core.features import mel as torch_mel
from core.features import mel_numpy
from core.features.genre import GENRES
from core.features.track import extract_track_features, model_inputs
from core.inference import EmotionModel
from core.inference_base import InferenceError, default_model_dir
from core.model import ModelConfig, QuadFusionNet
from core.onnx_export import export_checkpoint, parity_error
from core.onnx_runtime import OnnxEmotionModel
from core.runtime import BACKEND_ENV, RuntimeUnavailable, choose_backend, load_emotion_model

torch.set_num_threads(1)
PARITY = 1e-4


@pytest.fixture(scope="module")
def demo_features(demo_files: list[Path]) -> dict[str, np.ndarray | list[np.ndarray]]:
    picked: dict[str, Path] = {}
    for p in demo_files:
        picked.setdefault(p.suffix, p)
    return model_inputs([extract_track_features(p) for p in list(picked.values()) + demo_files[:3]])


def _max_diff(a, b) -> float:
    """Largest difference over every output; a head the model lacks must be NaN in both."""
    worst = 0.0
    for x, y in zip((a.tag_scores, a.quadrant_probs, a.embeddings), (b.tag_scores, b.quadrant_probs, b.embeddings)):
        assert x.shape == y.shape and np.array_equal(np.isnan(x), np.isnan(y))
        if not np.isnan(x).all():
            worst = max(worst, float(np.nanmax(np.abs(x - y))))
    return worst


@pytest.mark.parametrize("profile", ["fast", "full"])
def test_shipped_model_onnx_matches_torch_on_demo_clips(demo_features, profile: str) -> None:
    ref = EmotionModel.load(device="cpu", profile=profile)
    onnx = OnnxEmotionModel.load(default_model_dir(), device="cpu", profile=profile, precision="fp32")
    assert onnx.n_members == ref.n_members and onnx.pretrained_kind == ref.pretrained_kind
    assert onnx.version == ref.version, "same checkpoint and profile must share cached predictions"
    a, b = ref.predict(**demo_features, batch_size=4), onnx.predict(**demo_features, batch_size=4)
    assert a.tag_scores.std() > 0.01, "the demo clips must not all look alike"
    assert _max_diff(a, b) <= PARITY
    assert b.tag_scores.dtype == np.float32 and b.embeddings.shape == a.embeddings.shape


def test_int8_graphs_stay_close_and_are_the_cpu_default(
    tmp_path: Path, demo_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """int8 convolutions of a mel model: small output changes (docs/benchmarks.md has the 4Q metric change of the
    mel default they were made for), a version of their own so fp32/torch scores are never mixed with int8 ones."""
    from core.onnx_export import quantize_checkpoint

    monkeypatch.delenv("QFX_ONNX_PRECISION", raising=False)
    folder = _tiny(tmp_path, "m", branches=("mel", "genre", "lowlevel"), mel_frames=1876)
    _export(folder)
    quantize_checkpoint(folder, demo_files[:6], expected_extractor_version=None)
    fp32 = OnnxEmotionModel.load(folder, device="cpu", precision="fp32", expected_extractor_version=None)
    int8 = OnnxEmotionModel.load(folder, device="cpu", expected_extractor_version=None)
    assert int8.precision == "int8" and int8.version != fp32.version
    x = model_inputs([extract_track_features(p) for p in demo_files[6:10]])
    a, b = fp32.predict(**x), int8.predict(**x)
    assert np.abs(a.quadrant_probs - b.quadrant_probs).max() < 0.05
    norms = np.linalg.norm(a.embeddings, axis=1) * np.linalg.norm(b.embeddings, axis=1)
    cosine = np.sum(a.embeddings * b.embeddings, 1) / norms
    assert cosine.min() > 0.99
    monkeypatch.setenv("QFX_ONNX_PRECISION", "fp32")
    assert OnnxEmotionModel.load(folder, device="cpu", expected_extractor_version=None).version == fp32.version
    monkeypatch.setenv("QFX_ONNX_PRECISION", "int4")
    with pytest.raises(InferenceError, match="QFX_ONNX_PRECISION"):
        OnnxEmotionModel.load(folder, device="cpu", expected_extractor_version=None)


def test_musicnn_onnx_matches_torch_on_demo_clips(demo_files: list[Path]) -> None:
    from core.features.musicnn import load_musicnn
    from core.features.musicnn_onnx import OnnxMusicnnEmbedder, load_onnx_musicnn

    waves = [load_audio(p, 16000) for p in demo_files[:4]] + [np.full(4000, 0.1, np.float32)]  # + a short one
    onnx = load_onnx_musicnn()
    assert isinstance(onnx, OnnxMusicnnEmbedder) and onnx.max_patches == 3  # the analysis setting, as torch's
    for every in (False, True):  # the analysis patches, and all of them
        keep = {"max_patches": None} if every else {}
        ref = load_musicnn("cpu", **keep).embed(waves)
        got = pickle.loads(pickle.dumps(load_onnx_musicnn(**keep))).embed(waves)
        for a, b in zip(ref, got):
            assert a.shape == b.shape and float(np.abs(a - b).max()) <= PARITY
    assert np.abs(ref[0] - load_musicnn("cpu").embed(waves)[0]).max() > 1e-3  # the two settings do differ


def test_shipped_graphs_are_current() -> None:
    """The shipped .onnx files were exported from the shipped weights (else loading would refuse them)."""
    directory = default_model_dir()
    members = json.loads((directory / "config.json").read_text())["inference"]["members"]
    for folder in [directory] + [directory / m for m in members]:
        assert parity_error(folder) <= PARITY, folder


def _export(folder: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is the one used on purpose
        export_checkpoint(folder, expected_extractor_version=None)


def _tiny(tmp_path: Path, name: str, **cfg) -> Path:
    torch.manual_seed(3)
    config = ModelConfig(**cfg)
    norm = {
        "mel": {"mean": [1.5] * 48, "std": [2.0] * 48},
        "lowlevel": {"mean": [0.1] * 8, "std": [2.0] * 8, "clip": 4.0},
        "muq": {"mean": [0.0] * 1024, "std": [1.0] * 1024},
    }
    model = QuadFusionNet(config)
    for m in model.modules():  # non-trivial BatchNorm statistics, as a trained model has
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    meta = {
        "tags": list(TAGS),
        "genres": list(GENRES),
        "extractor_version": "1",
        "normalization": {b: v for b, v in norm.items() if b in config.branches},
    }
    return save_checkpoint(tmp_path / name, model, config, meta)


@pytest.mark.parametrize(
    "cfg",
    [
        {"branches": ("mel", "genre", "lowlevel"), "mel_frames": None},  # variable length, no crops
        {"branches": ("genre", "lowlevel")},  # no mel branch
        {"branches": ("mel", "muq"), "heads": ("quadrant",), "mel_frames": 64},  # MuQ input, one head
    ],
)
def test_export_is_generic_over_branches_heads_and_lengths(tmp_path: Path, cfg: dict) -> None:
    folder = _tiny(tmp_path, "m", **cfg)
    _export(folder)
    ref = EmotionModel.load(folder, device="cpu", expected_extractor_version=None)
    onnx = OnnxEmotionModel.load(folder, device="cpu", expected_extractor_version=None)
    rng = np.random.default_rng(0)
    inputs = {
        "mel": [rng.normal(1.5, 2, (48, t)).astype(np.float32) for t in (40, 97, 97, 300)],
        "lowlevel": rng.normal(size=(4, 8)),
        "genre": (rng.random((4, len(GENRES))) > 0.8).astype(np.float32),
        "muq": rng.normal(size=(4, 1024)).astype(np.float32),
    }
    a, b = ref.predict(**inputs, batch_size=3), onnx.predict(**inputs, batch_size=3)
    assert _max_diff(a, b) <= PARITY
    if "tags" not in ref.config.heads:
        assert np.isnan(b.tag_scores).all()
    assert onnx.uses_muq == ref.uses_muq and onnx.tags == ref.tags


def test_ensemble_with_test_time_crops_exports_every_member(tmp_path: Path) -> None:
    root = _tiny(tmp_path, "ens", branches=("mel", "genre", "lowlevel"), mel_frames=160)
    for i in range(2):
        shutil.copytree(
            _tiny(tmp_path / f"src{i}", "m", branches=("mel", "genre", "lowlevel"), mel_frames=160),
            root / "members" / f"f{i}",
        )
    doc = json.loads((root / "config.json").read_text())
    doc["inference"] = {"members": ["members/f0", "members/f1"], "tta_crops": 3, "tta_frames": 80}
    (root / "config.json").write_text(json.dumps(doc))
    assert len(export_checkpoint(root, expected_extractor_version=None)) == 3
    rng = np.random.default_rng(1)
    inputs = {
        "mel": rng.normal(1.5, 2, (5, 48, 200)).astype(np.float32),
        "lowlevel": rng.normal(size=(5, 8)),
        "genre": np.zeros((5, len(GENRES)), np.float32),
    }
    for profile in ("full", "fast"):
        ref = EmotionModel.load(root, device="cpu", profile=profile, expected_extractor_version=None)
        onnx = OnnxEmotionModel.load(root, device="cpu", profile=profile, expected_extractor_version=None)
        assert _max_diff(ref.predict(**inputs), onnx.predict(**inputs)) <= PARITY


def test_stale_or_missing_graph_is_a_clear_error(tmp_path: Path) -> None:
    folder = _tiny(tmp_path, "m", branches=("genre", "lowlevel"))
    with pytest.raises(CheckpointError, match="export_onnx"):
        OnnxEmotionModel.load(folder, expected_extractor_version=None)
    with pytest.raises(CheckpointError, match="--int8"):
        OnnxEmotionModel.load(folder, precision="int8", expected_extractor_version=None)
    _export(folder)
    doc = json.loads((folder / "config.json").read_text())
    doc["normalization"]["lowlevel"]["mean"] = [0.2] * 8  # the weights' meaning changed after the export
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="other weights"):
        OnnxEmotionModel.load(folder, expected_extractor_version=None)
    (folder / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(CheckpointError, match="damaged"):
        OnnxEmotionModel.load(folder, expected_extractor_version=None)


def test_pickled_model_rebuilds_its_sessions(demo_features) -> None:
    model = OnnxEmotionModel.load(default_model_dir(), device="cpu", profile="fast")
    first = model.predict(**demo_features)
    copy = pickle.loads(pickle.dumps(model))
    copy.set_threads(1)
    again = copy.predict(**demo_features)
    assert _max_diff(first, again) <= 1e-6 and copy.version == model.version


def test_backend_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = default_model_dir()
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    assert choose_backend(shipped, "cpu") == "onnx"
    assert isinstance(load_emotion_model(device="cpu"), OnnxEmotionModel)
    unexported = _tiny(tmp_path, "m", branches=("genre", "lowlevel"))
    assert choose_backend(unexported, "cpu") == "torch", "a checkpoint without graphs runs on torch when it is here"
    monkeypatch.setenv(BACKEND_ENV, "torch")
    assert isinstance(load_emotion_model(device="cpu"), EmotionModel)
    monkeypatch.setenv(BACKEND_ENV, "onnx")
    with pytest.raises(RuntimeUnavailable, match="export_onnx"):
        choose_backend(unexported, "cpu")
    stale = tmp_path / "stale"
    shutil.copytree(shipped, stale)
    doc = json.loads((stale / "config.json").read_text())
    doc["metrics"] = {"note": "retrained after the export"}
    (stale / "config.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="other weights"):
        load_emotion_model(stale, device="cpu")  # forced onnx: the stale graph is refused
    monkeypatch.setenv(BACKEND_ENV, "auto")
    assert isinstance(load_emotion_model(stale, device="cpu"), EmotionModel), "stale graphs fall back to torch"
    monkeypatch.setenv(BACKEND_ENV, "tensorflow")
    with pytest.raises(RuntimeUnavailable, match="QFX_BACKEND"):
        choose_backend(shipped, "cpu")


def test_numpy_mel_matches_torch_and_essentia(demo_files: list[Path]) -> None:
    picked: dict[str, Path] = {}
    for p in demo_files:
        picked.setdefault(p.suffix, p)
    for path in picked.values():
        wave = load_audio(path, 16000)
        out = mel_numpy.melon_mel(wave)
        assert out.dtype == np.float32 and out.shape == (48, mel_numpy.mel_frames(wave.size))
        assert float(np.abs(out - torch_mel.melon_mel(wave)).max()) <= 1e-4, path.name
    for n in (0, 1, 255, 257, 1000):  # framing edge cases against Essentia itself (test_mel.py's tolerance)
        wave = (0.1 * np.random.default_rng(n).standard_normal(n)).astype(np.float32)
        ref = torch_mel.essentia_reference_mel(wave)
        assert mel_numpy.melon_mel(wave).shape == ref.shape
        if n:
            assert float(np.abs(mel_numpy.melon_mel(wave) - ref).max()) <= 1e-3
    np.testing.assert_array_equal(mel_numpy.mel_filterbank(), torch_mel.mel_filterbank())
    assert np.array_equal(mel_numpy.melon_mel(np.zeros(16000, np.float32)), np.zeros((48, mel_numpy.mel_frames(16000))))


def test_track_features_use_the_numpy_mel_and_the_muq_rate_matches() -> None:
    from core.features import muq_embed, track

    assert track.melon_mel is mel_numpy.melon_mel
    assert track.MUQ_RATE == muq_embed.SAMPLE_RATE
