"""Cost of MusiCNN-MSD per 30 s excerpt: CPU on a given number of threads, and CUDA batched when present.

    python bench/musicnn.py [--clips 8] [--repeats 3] [--threads 1] [--onnx] [--cuda] [--index FOLDER]

Real demo excerpts (the 30 s window indexing analyses), decoded once; only `MusicnnEmbedder.embed` is timed
(log-mel + 10 patches through the network + means). CPU time is the process's CPU seconds (robust on a shared
machine), wall time the best of `--repeats`. The arithmetic floor is printed too: the network costs 2.8 GFLOP
per 3 s patch, 28 GFLOP per 30 s excerpt, almost all in the two timbral front-end convolutions.

`--onnx` also times the network exported to ONNX under ONNX Runtime (same thread count, patches precomputed, so it is
compared with torch's network-only time printed beside it). `--cuda` also checks that CUDA gives the CPU's numbers
(max abs difference). `--index FOLDER` indexes FOLDER into a temporary cache (features only, default workers) and
reports where MusiCNN ran, tracks per minute and how many genres were inferred from audio.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent


def _flops_per_patch() -> float:
    from core.features.musicnn import MusicnnNet

    macs = 0
    net = MusicnnNet()
    for name in ("timbral74", "timbral77", "temporal128", "temporal64", "temporal32"):
        conv = getattr(net, name).conv
        kt, kf = conv.kernel_size
        macs += 187 * (96 - kf + 1) * conv.out_channels * kt * kf
    for name in ("mid1", "mid2", "mid3"):
        conv = getattr(net, name).conv
        macs += 187 * conv.out_channels * conv.in_channels * conv.kernel_size[0]
    macs += net.dense.in_features * net.dense.out_features + net.out.in_features * net.out.out_features
    return 2.0 * macs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cuda", action="store_true", help="also time CUDA, all clips in one batch")
    parser.add_argument("--onnx", action="store_true", help="also time the network under ONNX Runtime")
    parser.add_argument("--index", metavar="FOLDER", help="also index FOLDER into a temporary cache")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from core.audio import load_excerpt
    from core.features.musicnn import load_musicnn

    files = sorted(p for p in (ROOT / "resources" / "demo").iterdir() if p.suffix in {".mp3", ".ogg", ".flac"})
    waves = [load_excerpt(p, rates=(16000,)).audio[16000] for p in files[: args.clips]]
    seconds = sum(w.size for w in waves) / 16000
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s), "
        f"{len(waves)} excerpts, {seconds / len(waves):.1f} s each; {_flops_per_patch() / 1e9:.2f} GFLOP per patch"
    )

    model = load_musicnn("cpu")
    model.embed(waves[:1])
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(args.repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        for wave in waves:  # one excerpt at a time, as a CPU indexing worker does
            model.embed([wave])
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    n = len(waves)
    print(
        f"cpu   {best_cpu / n * 1000:7.0f} ms CPU/excerpt  {best_wall / n * 1000:7.0f} ms wall/excerpt  "
        f"{_flops_per_patch() * 10 / (best_cpu / n) / 1e9:5.1f} GFLOP/s",
        flush=True,
    )

    if args.onnx:
        _onnx(model, waves, args.threads, args.repeats)
    if args.cuda and torch.cuda.is_available():
        gpu = load_musicnn("cuda")
        batch = waves * max(1, 64 // n)
        gpu.embed(batch)
        torch.cuda.synchronize()
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            gpu.embed(batch)
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
        print(
            f"cuda  {best / len(batch) * 1000:7.2f} ms wall/excerpt in batches of {len(batch)} "
            f"({torch.cuda.get_device_name()})"
        )
        e_cpu, t_cpu = model.embed(waves)
        e_gpu, t_gpu = gpu.embed(waves)
        print(
            f"cuda vs cpu: max |d embedding| {np.abs(e_cpu - e_gpu).max():.2e}, "
            f"max |d tags| {np.abs(t_cpu - t_gpu).max():.2e}"
        )
    if args.index:
        _index(args.index)


def _onnx(model, waves: list, threads: int, repeats: int) -> None:
    import tempfile

    import onnxruntime as ort

    patches = [model.patches(w).numpy() for w in waves]
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/musicnn.onnx"
        torch.onnx.export(
            model.net,
            (torch.from_numpy(patches[0]),),
            path,
            input_names=["patches"],
            output_names=["embedding", "tags"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={"patches": {0: "n"}, "embedding": {0: "n"}, "tags": {0: "n"}},
        )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    timings = {}
    for name, run in (
        ("torch", lambda p: model.run_patches(torch.from_numpy(p))),
        ("onnxruntime", lambda p: session.run(None, {"patches": p})),
    ):
        run(patches[0])
        best = float("inf")
        for _ in range(repeats):
            c0 = time.process_time()
            for p in patches:
                run(p)
            best = min(best, time.process_time() - c0)
        timings[name] = best / len(patches) * 1000
    ref = model.run_patches(torch.from_numpy(patches[0]))[0].numpy()
    diff = float(abs(session.run(None, {"patches": patches[0]})[0] - ref).max())
    print(
        f"network only, ms CPU/excerpt: torch {timings['torch']:.0f}, onnxruntime {timings['onnxruntime']:.0f} "
        f"(max |d embedding| {diff:.1e})"
    )


def _index(folder: str) -> None:
    import tempfile

    from explorer.analysis.display import index_summary_lines
    from explorer.library.cache import LibraryCache
    from explorer.library.indexer import index_library
    from explorer.library.pretrained import gpu_musicnn

    where = "GPU, batched in the main process" if gpu_musicnn(None) is not None else "CPU, in each worker"
    with tempfile.TemporaryDirectory() as tmp, LibraryCache.open(folder, tmp) as cache:
        t0 = time.perf_counter()
        summary = index_library(folder, cache, model=False)
        elapsed = time.perf_counter() - t0
        stored = cache.con.execute("SELECT COUNT(*) FROM musicnn").fetchone()[0]
        inferred = cache.con.execute("SELECT COUNT(*) FROM features WHERE genre_inferred = 1").fetchone()[0]
    print("\n".join(index_summary_lines(summary)))
    print(
        f"index {folder}: MusiCNN on the {where}; {summary.analysed} tracks in {elapsed:.1f} s "
        f"({summary.analysed / elapsed * 60:.0f}/min); {stored} MusiCNN vectors stored; "
        f"{inferred} tracks with genres inferred from audio"
    )


if __name__ == "__main__":
    main()
