"""Time `extract_track_features` stage by stage on the demo library (or any folder of audio files).

    python bench/features.py                      # tiny random MuQ on CPU, 1 thread
    python bench/features.py --muq full --device cuda --batch 16   # full-size MuQ-large (random weights) on a GPU
    python bench/features.py --muq none --threads 2

Per-track lines show seconds spent reading tags, in decode (incl. resampling), mel, descriptors (low-level +
interpretive) and MuQ; the summary gives totals and per-track means. `--batch` also times MuQ on all excerpts in
batches, the way an indexer feeding a GPU would run it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AUDIO_EXT = {".ogg", ".mp3", ".opus", ".m4a", ".flac", ".wav"}
STAGES = ("tags", "decode", "mel", "descriptors", "muq")


def _machine(device: str, threads: int) -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    desc = f"{cpu}, {os.cpu_count()} logical cores, torch threads={threads}, torch {torch.__version__}"
    if device.startswith("cuda") and torch.cuda.is_available():
        desc += f", GPU {torch.cuda.get_device_name(0)}"
    return desc


def _build_muq(kind: str, device: str):
    from core.features.muq_embed import MuQEmbedder, full_size_random_muq, load_muq_embedder, tiny_muq_embedder

    if kind == "none":
        return None
    if kind == "tiny":
        return tiny_muq_embedder(device=device)
    if kind == "full":
        return MuQEmbedder(full_size_random_muq(), device=device, source="full-size-random")
    return load_muq_embedder(device=device)  # "real": pretrained weights from the local cache


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", nargs="?", default=str(ROOT / "resources" / "demo"))
    ap.add_argument("--muq", choices=("none", "tiny", "full", "real"), default="tiny")
    ap.add_argument("--device", default="cpu", help="device for MuQ (cpu, cuda); the other stages run on the CPU")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--batch", type=int, default=0, help="also time MuQ over all excerpts with this batch size")
    ap.add_argument("--excerpt", type=float, default=30.0)
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from core.audio import load_excerpt
    from core.features.track import extract_track_features

    files = sorted(p for p in Path(args.folder).iterdir() if p.suffix.lower() in AUDIO_EXT)
    if not files:
        print(f"no audio files in {args.folder}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    muq = _build_muq(args.muq, args.device)
    build_s = time.perf_counter() - t0
    print(f"machine: {_machine(args.device, args.threads)}")
    print(
        f"MuQ: {args.muq} ({muq.device if muq else '-'}), built in {build_s:.2f} s; "
        f"{len(files)} files, {args.excerpt:.0f} s excerpts"
    )

    extract_track_features(files[0], muq=muq, excerpt_length=args.excerpt)  # warm-up: imports, allocator, kernels
    if muq is not None and muq.device.type == "cuda":
        torch.cuda.synchronize()

    rows = []
    print(f"{'file':40s} " + " ".join(f"{s:>11s}" for s in STAGES) + f" {'total':>8s}")
    for path in files:
        t = time.perf_counter()
        tf = extract_track_features(path, muq=muq, excerpt_length=args.excerpt)
        if muq is not None and muq.device.type == "cuda":
            torch.cuda.synchronize()
        total = time.perf_counter() - t
        rows.append({**{s: tf.timings.get(s, 0.0) for s in STAGES}, "total": total})
        print(f"{path.name[:40]:40s} " + " ".join(f"{rows[-1][s]:11.3f}" for s in STAGES) + f" {total:8.3f}")

    print("\nstage        total s   mean s/track   median s/track")
    for s in (*STAGES, "total"):
        vals = [r[s] for r in rows]
        print(f"{s:12s} {sum(vals):8.2f} {statistics.mean(vals):14.3f} {statistics.median(vals):16.3f}")
    print(f"throughput: {len(rows) / sum(r['total'] for r in rows):.2f} tracks/s (sequential, one process)")

    if args.batch and muq is not None:
        waves = [load_excerpt(p, rates=(24000,), length=args.excerpt).audio[24000] for p in files]
        muq.embed(waves[: args.batch], batch_size=args.batch)  # warm-up at this batch shape
        if muq.device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        out = muq.embed(waves, batch_size=args.batch)
        if muq.device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t
        assert out.shape == (len(files), muq.dim) and np.isfinite(out).all()
        print(
            f"MuQ batched (batch {args.batch}): {dt:.2f} s for {len(files)} excerpts = {len(files) / dt:.1f} excerpts/s"
        )
        if muq.device.type == "cuda":
            print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
