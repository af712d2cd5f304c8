"""MusiCNN-MSD port: parity with the original TF graph, batching, short and bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.audio import load_excerpt
from core.features.musicnn import EMBED_DIM, MSD_TAGS, N_TAGS, load_musicnn
from core.features.musicnn_mel import PATCH_FRAMES, SAMPLE_RATE, log_mel
from core.features.musicnn_tags import ANALYSIS_PATCHES

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "musicnn_reference.npz"


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def model():
    return load_musicnn("cpu", max_patches=None)  # every patch, as the original network's reference outputs


@pytest.fixture(scope="module")
def waves(reference, demo_dir) -> list[np.ndarray]:
    length = float(reference["excerpt_length"])
    return [
        load_excerpt(demo_dir / str(c), rates=(SAMPLE_RATE,), length=length).audio[SAMPLE_RATE]
        for c in reference["clips"]
    ]


def test_matches_original_tf_graph(model, reference, waves):
    emb, tags = model.embed(waves)
    assert emb.shape == (len(waves), EMBED_DIM) and tags.shape == (len(waves), N_TAGS) == (4, len(MSD_TAGS))
    np.testing.assert_allclose(emb, reference["emb"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(tags, reference["tags"], atol=1e-4, rtol=0)
    # The battle music is tagged as the issue reports (instrumental/ambient first), not by chance.
    assert {MSD_TAGS[i] for i in np.argsort(-tags[0])[:2]} == {"instrumental", "ambient"}


def test_each_patch_keeps_its_own_features(model, reference, waves):
    patches = model.patches(waves[0])
    assert patches.shape == (int(reference["n_patches"][0]), PATCH_FRAMES, 96)
    emb, tags = model.run_patches(patches)
    np.testing.assert_allclose(emb.numpy(), reference["patch_emb"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(tags.numpy(), reference["patch_tags"], atol=1e-4, rtol=0)
    # The original extractor repeated patch 0's penultimate features; here patches differ.
    assert np.abs(emb[1:].numpy() - emb[0].numpy()).max(axis=1).min() > 1e-2


def test_batch_equals_one_by_one(model, waves):
    subset = [waves[1], waves[2][: SAMPLE_RATE * 7], waves[3]]  # mixed lengths: 10, 2 and 10 patches
    emb, tags = model.embed(subset)
    for i, wave in enumerate(subset):
        e1, t1 = model.embed([wave])
        np.testing.assert_allclose(emb[i], e1[0], atol=1e-5, rtol=0)
        np.testing.assert_allclose(tags[i], t1[0], atol=1e-5, rtol=0)
    same = np.stack([waves[1][: SAMPLE_RATE * 10], waves[3][: SAMPLE_RATE * 10]])  # a (B, L) array
    e2, _ = model.embed(same)
    e_list, _ = model.embed(list(same))
    np.testing.assert_allclose(e2, e_list, atol=1e-6, rtol=0)
    e_single, _ = model.embed(same[0])  # one 1-D waveform is a batch of one
    np.testing.assert_allclose(e_single[0], e2[0], atol=1e-5, rtol=0)


def test_short_input_is_repeat_padded_to_one_patch(model, waves):
    short = waves[0][: int(1.3 * SAMPLE_RATE)]
    patches = model.patches(short)
    assert patches.shape == (1, PATCH_FRAMES, 96)
    mel = log_mel(torch.from_numpy(short), model.net.mel_basis, model.window)
    frames = mel.shape[0]
    assert frames < PATCH_FRAMES
    np.testing.assert_array_equal(patches[0, :frames].numpy(), mel.numpy())
    np.testing.assert_array_equal(patches[0, frames : 2 * frames].numpy(), mel[: PATCH_FRAMES - frames].numpy())
    emb, tags = model.embed([short])
    assert np.isfinite(emb).all() and np.isfinite(tags).all()
    assert ((tags > 0) & (tags < 1)).all()


def test_analysis_keeps_three_evenly_spaced_patches(waves):
    full = load_musicnn("cpu", max_patches=None)
    emb, tags = full.run_patches(full.patches(waves[1]))
    assert emb.shape[0] == 10
    few = load_musicnn("cpu")  # the app's analysis setting
    assert few.max_patches == ANALYSIS_PATCHES == 3
    assert few.patches(waves[1]).shape[0] == 3
    e3, t3 = few.embed([waves[1]])
    np.testing.assert_allclose(e3[0], emb[[1, 5, 8]].mean(0).numpy(), atol=1e-5)
    np.testing.assert_allclose(t3[0], tags[[1, 5, 8]].mean(0).numpy(), atol=1e-5)
    short = waves[1][: SAMPLE_RATE * 5]  # one patch: nothing to drop
    np.testing.assert_allclose(few.embed([short])[0], full.embed([short])[0], atol=1e-6)
    with pytest.raises(ValueError, match="max_patches"):
        load_musicnn("cpu", max_patches=0)


def test_constant_filters_are_computed_as_constants_with_the_same_outputs(model, waves):
    """About 4 in 5 front-end filters of the checkpoint were trained to nothing; the port computes them as
    constants. That must not move any output: real music, silence, clipping and out-of-range values alike."""
    from safetensors.torch import load_file

    from core.features.musicnn import MusicnnNet, default_weights

    full = MusicnnNet()
    full.load_state_dict(load_file(str(default_weights())), strict=False)
    full.eval()
    blocks = [model.net.timbral74, model.net.timbral77, model.net.temporal128, model.net.temporal64]
    blocks.append(model.net.temporal32)
    assert sum(b.conv.out_channels for b in blocks) < 100  # of 561: where the speed comes from
    t = np.arange(SAMPLE_RATE * 4) / SAMPLE_RATE
    odd = [
        np.zeros(SAMPLE_RATE * 4, np.float32),  # digital silence
        np.sign(np.sin(2 * np.pi * 55 * t)).astype(np.float32),  # full-scale square
        np.random.default_rng(0).normal(0, 100, SAMPLE_RATE * 4).astype(np.float32),  # far beyond ±1
    ]
    patches = torch.cat([model.patches(w) for w in [waves[0], *odd]])
    patches = torch.cat([patches, torch.rand(4, PATCH_FRAMES, 96, generator=torch.Generator().manual_seed(0)) * 50])
    with torch.no_grad():
        for ref, got in zip(full(patches), model.net(patches)):
            np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-6, rtol=0)


def test_loud_input_stays_finite(model):
    """The original float16 cast turned loud mel bins into inf/NaN; float32 keeps them finite."""
    t = np.arange(SAMPLE_RATE * 4) / SAMPLE_RATE
    square = np.sign(np.sin(2 * np.pi * 110 * t)).astype(np.float32)
    mel = log_mel(torch.from_numpy(square), model.net.mel_basis, model.window)
    power = (10.0 ** mel.double().numpy() - 1) / 10000  # the mel before compression
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.log10(10000 * power.astype(np.float16) + 1)).all()  # the original's float16 path
    emb, tags = model.embed([square])
    assert np.isfinite(emb).all() and np.isfinite(tags).all()


@pytest.mark.parametrize(
    "bad, match",
    [
        ([], "no waveforms"),
        ([np.zeros((2, SAMPLE_RATE), np.float32)], "1-D"),
        ([np.zeros(100, np.float32)], "too short"),
        ([np.full(SAMPLE_RATE, np.nan, np.float32)], "NaN"),
        ([np.array(["a"] * SAMPLE_RATE)], "numeric"),
    ],
)
def test_bad_input_is_refused_clearly(model, bad, match):
    with pytest.raises(ValueError, match=match):
        model.embed(bad)


def test_missing_or_foreign_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match="MusiCNN weights"):
        load_musicnn("cpu", weights=tmp_path / "none.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not MusiCNN-MSD"):
        load_musicnn("cpu", weights=tmp_path / "other.safetensors")


def test_network_exports_to_onnx_with_a_dynamic_batch(model, waves, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    patches = model.patches(waves[2])[:3]
    path = tmp_path / "musicnn.onnx"
    torch.onnx.export(
        model.net,
        (patches[:2],),
        str(path),
        input_names=["patches"],
        output_names=["embedding", "tags"],
        opset_version=17,
        dynamo=False,
        dynamic_axes={"patches": {0: "n"}, "embedding": {0: "n"}, "tags": {0: "n"}},
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    emb, tags = session.run(None, {"patches": patches.numpy()})  # 3 patches through a graph traced with 2
    ref_emb, ref_tags = model.run_patches(patches)
    np.testing.assert_allclose(emb, ref_emb.numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(tags, ref_tags.numpy(), atol=1e-4, rtol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_reference(reference, waves):
    emb, tags = load_musicnn("cuda", max_patches=None).embed(waves)
    np.testing.assert_allclose(emb, reference["emb"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(tags, reference["tags"], atol=1e-4, rtol=0)
