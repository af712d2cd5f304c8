"""Where a GPU feature batch and a MuQ batch spend their device time, sub-stage by sub-stage, and what the
MuQ rewrite and batched MusiCNN buy (same inputs, GPU synchronised around each step).

    python bench/gpu_profile.py --source DIR [--clips 128] [--check 16]

Prints one JSON line: milliseconds per batch for each feature sub-stage (copy to the GPU, analysis/STFT, dissonance,
descriptor groups, mel); MusiCNN per excerpt vs batched (all / 3 patches); MuQ-large (random weights, bf16 autocast)
unmodified vs the CUDA rewrite (core.features.muq_fast): clips/s, its mel / conv front end / conformer split, and
the cosine of its embeddings to full float32 (TF32 off) on the first `--check` real clips. Without a GPU it runs
as a smoke test on the CPU (a tiny MuQ).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import report  # noqa: E402


def _timer(sync):
    def timed(fn, *a, repeat: int = 3, **kw):
        fn(*a, **kw)  # warm-up
        sync()
        best = float("inf")
        out = None
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = fn(*a, **kw)
            sync()
            best = min(best, time.perf_counter() - t0)
        return out, best * 1000

    return timed


def feature_stages(w16, device, timed) -> dict:
    import torch

    from core.features import batched as B
    from core.features.batched_spectral import BatchAnalysis
    from core.features.spectral import SALIENT_PEAK_DB

    x = torch.from_numpy(w16)
    x = x.pin_memory() if device != "cpu" else x
    res: dict[str, float] = {}
    with torch.inference_mode():
        wave, res["h2d"] = timed(lambda: x.to(device, non_blocking=True))
        an, res["analysis"] = timed(lambda: BatchAnalysis(wave))
        diss, res["dissonance_all"] = timed(an.dissonance)
        _, res["dissonance_salient"] = timed(lambda: an.dissonance(SALIENT_PEAK_DB))
        _, res["lowlevel_rest"] = timed(lambda: B.lowlevel_batch(an, diss))
        _, res["dynamics"] = timed(lambda: B._dynamics(an))
        from core.features.batched_spectral import frames, magnitude
        from core.features.spectral import SHORT_FRAME, SHORT_HOP

        _, res["short_stft"] = timed(lambda: magnitude(frames(an.wave, SHORT_FRAME, SHORT_HOP)))
        _, res["rhythm"] = timed(lambda: B._rhythm(an))
        _, res["tonality"] = timed(lambda: B._tonality(an))
        _, res["timbre"] = timed(lambda: B._timbre(an))
        _, res["mel"] = timed(lambda: B._mel_module(str(wave.device))(an.wave))
        _, res["whole_batch_features"] = timed(lambda: B.batch_features(wave))
    return {k: round(v, 1) for k, v in res.items()}


def musicnn_stages(w16, device, timed) -> dict:
    import torch

    from core.features.batched_musicnn import musicnn_batch_vectors
    from core.features.musicnn import load_musicnn
    from core.features.track import musicnn_vectors

    out = {}
    waves = list(w16)
    x = torch.from_numpy(w16).to(device)
    for mp in (None, 3):
        emb = load_musicnn(device, max_patches=mp)
        _, ms = timed(lambda: musicnn_vectors(emb, waves))
        out[f"musicnn_per_excerpt_ms_patches{mp or 'all'}"] = round(ms, 1)
        for pb in (64, 512):
            emb.patch_batch = pb
            got, ms = timed(lambda: musicnn_batch_vectors(emb, x))
            out[f"musicnn_batched_ms_patches{mp or 'all'}_pass{pb}"] = round(ms, 1)
        ref = musicnn_vectors(emb, waves[:8])
        out[f"musicnn_batched_max_diff_patches{mp or 'all'}"] = float(abs(got[:8] - ref).max())
    return out


def _cos(a, b):
    import numpy as np

    c = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return {"min": round(float(c.min()), 6), "mean": round(float(c.mean()), 6)}


def muq_variants(w24, device, check: int, timed) -> dict:
    import copy

    import numpy as np
    import torch

    from core.features.muq_embed import MuQEmbedder, full_size_random_muq, tiny_muq_embedder

    out: dict = {}
    if device == "cpu":  # a smoke run of this script without a GPU
        model = tiny_muq_embedder(device="cpu").model
    else:
        model = full_size_random_muq()
    dt = "cuda" if device != "cpu" else "cpu"
    plain = MuQEmbedder(copy.deepcopy(model), device=device, fast=False)
    fast = MuQEmbedder(copy.deepcopy(model), device=device, fast=True)
    waves = list(w24)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    plain._autocast = lambda: torch.autocast(dt, enabled=False)
    ref = plain.embed(waves[:check], batch_size=check)
    del plain._autocast
    torch.backends.cudnn.allow_tf32 = True
    x = torch.from_numpy(np.stack(waves[:64])).to(device)
    for name, emb in (("bf16", plain), ("bf16_fast", fast)):
        _, ms = timed(lambda: emb.embed(waves, batch_size=64), repeat=2)
        row: dict = {"clips_per_s": round(len(waves) / ms * 1000, 1)}
        inner = emb.model.model
        with torch.inference_mode(), torch.autocast(dt, dtype=torch.bfloat16):
            mel, row["pre_ms64"] = timed(lambda: inner.normalize(inner.preprocessing(x, features=["melspec_2048"])))
            h, row["conv_ms64"] = timed(lambda: inner.conv(mel["melspec_2048"]))
            _, row["conformer_ms64"] = timed(lambda: inner.conformer(h, output_hidden_states=True))
        row["cos_to_fp32"] = _cos(emb.embed(waves[:check], batch_size=check), ref)
        out[f"muq_{name}"] = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in row.items()}
    out["muq_fast_vs_plain_bf16_cos"] = _cos(
        fast.embed(waves[:check], batch_size=check), plain.embed(waves[:check], batch_size=check)
    )
    if device != "cpu":
        out["muq_peak_mem_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 1)
    return out


def main() -> None:
    import numpy as np
    import torch

    from core.audio import load_excerpt

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--clips", type=int, default=128)
    ap.add_argument("--check", type=int, default=16)
    ap.add_argument("--skip", default="")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    files = sorted(p for p in args.source.iterdir() if p.is_file())
    decoded = [load_excerpt(f, rates=(16000, 24000)) for f in files[: args.clips]]
    idx = np.arange(args.clips) % len(decoded)
    n16 = min(len(e.audio[16000]) for e in decoded)
    n24 = min(len(e.audio[24000]) for e in decoded)
    w16 = np.stack([decoded[i].audio[16000][:n16] for i in idx]).astype(np.float32)
    w24 = np.stack([decoded[i].audio[24000][:n24] for i in idx]).astype(np.float32)
    timed = _timer(torch.cuda.synchronize if device == "cuda" else (lambda: None))
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    out: dict = {"bench": "gpu_profile", "device": name, "clips": args.clips}
    out["torch"] = torch.__version__
    skip = set(args.skip.split(","))
    if "features" not in skip:
        out["features_ms"] = feature_stages(w16, device, timed)
    if "musicnn" not in skip:
        out.update(musicnn_stages(w16, device, timed))
    if device == "cuda":
        out["feature_peak_mem_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 1)
        torch.cuda.reset_peak_memory_stats()
    if "muq" not in skip:
        out.update(muq_variants(w24, device, args.check, timed))
    report(out, args.out)


if __name__ == "__main__":
    main()
