"""The GPU pipeline's stages alone, on real excerpts: batched features and full-size MuQ, clips per second each.

    python bench/gpu_stages.py --source DIR [--clips 256] [--batch 128] [--check 8] [--capacity 1024]

Decodes `--clips` excerpts (cycling over the files of DIR), then times `core.features.batched.batch_features`
and full-size MuQ (random weights) per batch on the first CUDA device, after one warm-up batch. `--check N`
also compares the GPU features of the first N clips with the numpy extractors (max abs difference, relative to
each column's scale). `--capacity N` also pushes N decoded clips through the pipeline's own GPU scheduler (two
stages, features + MusiCNN + full-size MuQ + a random-init full-size emotion model, as an indexing run) from
memory, without decoders: the GPU side's tracks/min when decoding is not the limit. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import report  # noqa: E402


def main() -> None:
    import numpy as np
    import torch

    from core.audio import load_excerpt
    from core.features.batched import batch_features
    from core.features.interpretive import all_descriptors
    from core.features.muq_embed import MuQEmbedder, full_size_random_muq

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--clips", type=int, default=256)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--check", type=int, default=8)
    ap.add_argument("--capacity", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    files = sorted(p for p in args.source.iterdir() if p.is_file())
    decoded = [load_excerpt(f, rates=(16000, 24000)) for f in files[: args.clips]]
    w16 = [e.audio[16000] for e in decoded]
    w24 = [e.audio[24000] for e in decoded]
    n16 = min(len(w) for w in w16)
    n24 = min(len(w) for w in w24)
    w16 = np.stack([w[:n16] for w in w16])
    w24 = np.stack([w[:n24] for w in w24])
    idx = np.arange(args.clips) % len(decoded)
    out: dict = {
        "bench": "gpu_stages",
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "clips": args.clips,
        "batch": args.batch,
        "excerpt_s": round(n16 / 16000, 2),
    }

    def timed(fn, batches) -> float:
        fn(batches[0])  # warm-up (cuFFT plans, autotuning)
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for b in batches:
            fn(b)
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    starts = range(0, args.clips, args.batch)
    feat_batches = [torch.from_numpy(w16[idx[s : s + args.batch]]) for s in starts]
    secs = timed(lambda b: batch_features(b.to(device)), feat_batches)
    out["features_clips_per_s"] = round(args.clips / secs, 1)
    muq = MuQEmbedder(full_size_random_muq(), device=device)  # the CUDA rewrite (core.features.muq_fast) on a GPU
    muq_batches = [list(w24[idx[s : s + args.batch]]) for s in starts]
    secs = timed(lambda b: muq.embed(b, batch_size=len(b)), muq_batches)
    out["muq_full_clips_per_s"] = round(args.clips / secs, 1)
    if args.check:
        k = min(args.check, len(decoded))
        got = batch_features(torch.from_numpy(w16[:k]).to(device))
        ref = [all_descriptors(w) for w in w16[:k]]
        for name, g, r in (
            ("lowlevel", got.lowlevel, np.stack([x[0] for x in ref])),
            ("interpretive", got.interpretive, np.stack([x[1] for x in ref])),
        ):
            scale = np.maximum(np.abs(r).max(axis=0), 1e-6)
            out[f"max_rel_diff_{name}"] = float((np.abs(g - r) / scale).max())
    if args.capacity:
        out.update(capacity(w16, w24, args.capacity, args.batch, muq, "cuda:0" if device == "cuda" else "cpu"))
    if device == "cuda":
        out["gpu_peak_mem_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 1)
    report(out, args.out)


def capacity(w16, w24, n: int, batch: int, muq, device: str = "cuda:0") -> dict:
    """Tracks/min of the GPU scheduler alone (two stages per device) on `n` in-memory clips, after a warm-up."""
    import tempfile

    from bench.index import random_model
    from core.runtime import load_emotion_model
    from explorer.library.gpu_pipeline import Decoded, GpuScheduler, StageTimes

    with tempfile.TemporaryDirectory() as tmp:
        model = load_emotion_model(random_model(Path(tmp) / "model", True))

    def batches(count: int) -> list[list[Decoded]]:
        clips = [
            Decoded(
                i,
                {},
                audio16k=w16[i % len(w16)],
                audio24k=w24[i % len(w24)],
                duration=180.0,
                n16=w16.shape[1],
                n24=w24.shape[1],
            )
            for i in range(count)
        ]
        return [clips[s : s + batch] for s in range(0, count, batch)]

    sched = GpuScheduler([device], model, muq)
    for b in batches(2 * batch):  # warm-up: cuFFT plans, cuDNN algorithms, both stages
        sched.submit(b)
    sched.drain()
    sched.times = StageTimes()
    for stage in sched.stages:
        stage.times = sched.times
    work = batches(n)
    t0 = time.perf_counter()
    done = 0
    for b in work:  # as the indexer's main thread: submit, and wait while the queue is full
        sched.submit(b)
        done += sum(len(x) for x in sched.ready(block=True))
    done += sum(len(x) for x in sched.drain())
    secs = time.perf_counter() - t0
    sched.close()
    t = sched.times
    return {
        "capacity_clips": done,
        "capacity_tracks_per_min": round(done / secs * 60),
        "capacity_stage_s": {"features": round(t.features, 2), "muq": round(t.muq, 2), "model": round(t.model, 2)},
    }


if __name__ == "__main__":
    main()
