"""Checkpoints: exact round trip through safetensors + JSON, and one clear CheckpointError per failure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.checkpoint import CheckpointError, load_checkpoint, read_checkpoint_config, save_checkpoint
from core.emotions import TAGS
from core.features.genre import GENRES
from core.model import ModelConfig, QuadFusionNet

torch.set_num_threads(1)
VERSION = "3.1"


def make_meta(config: ModelConfig) -> dict:
    rng = np.random.default_rng(0)
    norm = {
        "mel": {"mean": -3.5, "std": 2.25},
        "muq": {"mean": rng.normal(size=config.muq_dim), "std": rng.uniform(0.5, 2, config.muq_dim)},
        "lowlevel": {"mean": rng.normal(size=8).astype(np.float32), "std": np.full(8, 1.5)},
    }
    return {
        "tags": list(TAGS),
        "genres": list(GENRES),
        "normalization": {b: v for b, v in norm.items() if b in config.branches},
        "extractor_version": VERSION,
        "training": {"dataset": "toy", "epochs": 1, "out": Path("/x"), "branches": ("mel",)},
        "metrics": {"ndcg@3": np.float32(0.5), "per_class_f1": np.array([0.25, 0.5]), "loss": float("nan")},
    }


def saved(tmp_path: Path, branches=("mel", "muq", "genre", "lowlevel")) -> tuple[Path, QuadFusionNet]:
    torch.manual_seed(0)
    config = ModelConfig(branches=branches, mel_frames=64)
    model = QuadFusionNet(config)
    # non-trivial BN running statistics must survive the round trip too
    model.train()
    model(
        mel=torch.randn(4, 48, 64),
        muq=torch.randn(4, 1024),
        genre=torch.rand(4, len(GENRES)),
        lowlevel=torch.randn(4, 8),
    )
    save_checkpoint(tmp_path / "ckpt", model, config, make_meta(config))
    return tmp_path / "ckpt", model


def load(path: Path, **kw):
    return load_checkpoint(path, expected_extractor_version=kw.pop("version", VERSION), **kw)


def test_round_trip_is_exact(tmp_path: Path) -> None:
    path, model = saved(tmp_path)
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    loaded, meta = load(path)
    assert not loaded.training
    assert loaded.config == model.config
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    assert meta["tags"] == list(TAGS) and meta["genres"] == list(GENRES)
    assert meta["training"]["epochs"] == 1 and meta["metrics"]["ndcg@3"] == 0.5
    assert meta["training"]["out"] == "/x" and meta["training"]["branches"] == ["mel"]
    assert meta["metrics"]["per_class_f1"] == [0.25, 0.5] and meta["metrics"]["loss"] is None
    assert len(meta["normalization"]["muq"]["mean"]) == 1024
    model.eval()
    x = dict(
        mel=torch.randn(2, 48, 64),
        muq=torch.randn(2, 1024),
        genre=torch.rand(2, len(GENRES)),
        lowlevel=torch.randn(2, 8),
    )
    assert torch.allclose(model(**x)["tag_logits"], loaded(**x)["tag_logits"])


def test_ablated_model_round_trip(tmp_path: Path) -> None:
    path, _ = saved(tmp_path, branches=("mel", "genre", "lowlevel"))
    loaded, meta = load(path)
    assert loaded.config.branches == ("mel", "genre", "lowlevel") and "muq" not in meta["normalization"]


def test_missing_directory_and_files(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load(tmp_path / "nope")
    path, _ = saved(tmp_path)
    (path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load(path)
    (path / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        load(path)


def test_truncated_weights(tmp_path: Path) -> None:
    path, _ = saved(tmp_path)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        load(path)
    (path / "model.safetensors").write_bytes(b"\x03")
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        load(path)


def _edit(path: Path, fn) -> None:
    doc = json.loads((path / "config.json").read_text())
    fn(doc)
    (path / "config.json").write_text(json.dumps(doc))


def test_bad_json_and_missing_keys(tmp_path: Path) -> None:
    path, _ = saved(tmp_path)
    norm_ok = json.loads((path / "config.json").read_text())["normalization"]
    _edit(path, lambda d: d.pop("normalization"))
    with pytest.raises(CheckpointError, match="normalization"):
        load(path)
    _edit(path, lambda d: d.update(normalization=norm_ok, tags=None))
    with pytest.raises(CheckpointError, match="list of names"):
        load(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="cannot read"):
        read_checkpoint_config(path)
    (path / "config.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CheckpointError, match="not a QuadFusion"):
        load(path)


def test_norm_stats_validated(tmp_path: Path) -> None:
    path, _ = saved(tmp_path)
    _edit(path, lambda d: d["normalization"]["lowlevel"].update(std=[1.0] * 7))
    with pytest.raises(CheckpointError, match="lowlevel.std"):
        load(path)


def test_shape_mismatch_against_config(tmp_path: Path) -> None:
    path, _ = saved(tmp_path)

    # config now claims 4 extra low-level inputs the weights were not trained for
    def grow(d: dict) -> None:
        d["model"]["n_lowlevel"] = 12
        d["normalization"]["lowlevel"] = {"mean": [0.0] * 12, "std": [1.0] * 12}

    _edit(path, grow)
    with pytest.raises(CheckpointError, match="shapes do not match"):
        load(path)
    _edit(path, lambda d: d["model"].update(n_lowlevel=8, branches=["mel", "muq", "genre"]))
    with pytest.raises(CheckpointError, match="unexpected"):
        load(path)


def test_different_tags_genres_or_extractor(tmp_path: Path) -> None:
    path, _ = saved(tmp_path)
    other_tags = list(TAGS)
    other_tags[0], other_tags[1] = other_tags[1], other_tags[0]
    with pytest.raises(CheckpointError, match="tag list"):
        load(path, expected_tags=other_tags)
    with pytest.raises(CheckpointError, match="genre vocabulary"):
        load(path, expected_genres=list(GENRES)[:-2] + ["Polka", "Unknown"])
    with pytest.raises(CheckpointError, match="extractor version"):
        load(path, version="4.0")
    load(path, version="3.7")  # same major version: compatible
    _edit(path, lambda d: d.update(tags=["a"] * 12))
    with pytest.raises(CheckpointError, match="tag list"):
        load(path)  # default compares with the running code's TAGS


def test_save_refuses_inconsistent_meta(tmp_path: Path) -> None:
    config = ModelConfig(branches=("lowlevel",))
    model = QuadFusionNet(config)
    meta = make_meta(config)
    with pytest.raises(CheckpointError, match="lacks"):
        save_checkpoint(tmp_path, model, config, {k: v for k, v in meta.items() if k != "tags"})
    with pytest.raises(CheckpointError, match="tags"):
        save_checkpoint(tmp_path, model, config, {**meta, "tags": ["x"]})
    with pytest.raises(CheckpointError, match="different ModelConfig"):
        save_checkpoint(tmp_path, model, ModelConfig(branches=("muq",)), meta)
    with pytest.raises(CheckpointError, match="positive"):
        save_checkpoint(
            tmp_path, model, config, {**meta, "normalization": {"lowlevel": {"mean": [0] * 8, "std": [0] * 8}}}
        )


class _RunsCode:
    """Unpickling this calls Path.touch(marker): proof that a loader executed code from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_payload_is_refused_and_never_run(tmp_path: Path) -> None:
    """Loading a model never unpickles: a weights file holding a pickle (raw, or torch.save's zip) is refused with
    CheckpointError, and the code inside it never runs; the same through EmotionModel.load."""
    from core.inference import EmotionModel

    path, _ = saved(tmp_path, branches=("mel", "genre", "lowlevel"))
    weights = path / "model.safetensors"
    marker = tmp_path / "code-ran"
    for payload in ("pickle", "torch"):
        if payload == "pickle":
            import pickle

            weights.write_bytes(pickle.dumps({"fc.weight": _RunsCode(marker)}))
        else:
            torch.save({"fc.weight": _RunsCode(marker)}, weights)
        with pytest.raises(CheckpointError):
            load(path)
        with pytest.raises(CheckpointError):
            EmotionModel.load(path, device="cpu")
        assert not marker.exists(), f"a {payload} payload was unpickled"
    weights.unlink()
    torch.save({"fc.weight": _RunsCode(marker)}, path / "pytorch_model.bin")  # a PyTorch-style file beside it
    with pytest.raises(CheckpointError):
        load(path)
    assert not marker.exists()


def test_per_band_mel_statistics_clip_and_inference_block(tmp_path: Path) -> None:
    config = ModelConfig(branches=("mel", "lowlevel"), mel_frames=64)
    model = QuadFusionNet(config)
    meta = make_meta(config)
    meta["normalization"]["mel"] = {"mean": np.linspace(0, 1, 48), "std": np.full(48, 2.0)}
    meta["normalization"]["lowlevel"]["clip"] = 5.0
    meta["inference"] = {"members": ["members/fold1"], "tta_crops": 5, "tta_frames": 938}
    save_checkpoint(tmp_path / "c", model, config, meta)
    doc = read_checkpoint_config(tmp_path / "c")
    assert len(doc["normalization"]["mel"]["mean"]) == 48 and doc["normalization"]["lowlevel"]["clip"] == 5.0
    assert doc["inference"]["members"] == ["members/fold1"]
    load(tmp_path / "c")  # the folder's own model loads on its own (members are EmotionModel's business)
    for bad_norm, bad_inference, match in (
        ({"mean": [0.0] * 47, "std": [1.0] * 47}, None, "list of 48"),
        (None, {"members": ["/abs"]}, "inside the checkpoint"),
        (None, {"members": [], "tta_crops": 0}, "positive integer"),
    ):
        doc2 = json.loads((tmp_path / "c" / "config.json").read_text())
        if bad_norm:
            doc2["normalization"]["mel"] = bad_norm
        if bad_inference:
            doc2["inference"] = bad_inference
        (tmp_path / "c" / "config.json").write_text(json.dumps(doc2))
        with pytest.raises(CheckpointError, match=match):
            load(tmp_path / "c")


@pytest.mark.parametrize(
    "where,key,value",
    [
        ("model", "n_quadrants", 25_000_000),  # took 7 GB for 29 s before failing
        ("model", "n_quadrants", 10**12),  # a raw allocator traceback
        ("model", "mel_frames", 10**12),  # blamed on decoding: every file "out of memory while decoding"
        ("model", "n_mels", 10**9),
        ("model", "muq_dim", 10**9),
        ("model", "n_genres", 10**9),
        ("inference", "tta_crops", 10**9),  # ran on at 8.8 GB
        ("inference", "tta_frames", 10**9),
    ],
)
def test_absurd_sizes_are_refused_before_allocating(tmp_path: Path, where: str, key: str, value: int) -> None:
    import resource
    import time

    path, _ = saved(tmp_path)
    doc = json.loads((path / "config.json").read_text())
    doc.setdefault(where, {})[key] = value
    (path / "config.json").write_text(json.dumps(doc))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(CheckpointError, match=rf"{key} = {value} is out of range"):
        load(path)
    assert time.monotonic() - started < 5.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: nothing big allocated


def test_weights_file_far_larger_than_its_config_is_refused(tmp_path: Path) -> None:
    path, _ = saved(tmp_path, branches=("genre",))
    with open(path / "model.safetensors", "ab") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: 64 MiB on paper
    with pytest.raises(CheckpointError, match="far more than"):
        load(path)
