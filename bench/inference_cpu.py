"""CPU cost per clip of the shipped emotion model by inference profile (1 thread, batch 8, real 4Q test mels).

    python bench/inference_cpu.py --data /path/to/4q [--clips 16] [--repeats 2]

Rows: "full, true crops" is the ensemble running every test-time crop through the whole network (the computation
before shared-trunk crops); "full" and "fast" are the two profiles as the app runs them (docs/training.md).
Features come from the feature cache, so only the network is timed.
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from core.data.fourq import read_fourq
    from core.datasets import build_arrays
    from core.feature_cache import FeatureCache
    from core.inference import EmotionModel

    clips = read_fourq(args.data, "test")[: args.clips]
    arrays = build_arrays(clips, FeatureCache(), with_mel=True, show_bar=False)
    mels = [m[:, : int(n)] for m, n in zip(arrays.mel, arrays.mel_lengths)]
    x = {"mel": mels, "lowlevel": arrays.lowlevel, "genre": arrays.genre}
    rows = [("full, true crops", "full", False), ("full", "full", True), ("fast", "fast", True)]
    for label, profile, shared in rows:
        model = EmotionModel.load(device="cpu", profile=profile)
        model.shared_trunk = shared
        model.predict(**{k: v[:8] for k, v in x.items()}, batch_size=8)  # warm-up
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            model.predict(**x, batch_size=8)
            best = min(best, time.perf_counter() - t0)
        per_clip = best / len(mels)
        print(
            f"{label:18s} {model.n_members} voter(s)  {per_clip * 1000:7.0f} ms/clip  "
            f"{60 / per_clip:6.0f} clips/min/thread  (version {model.version})",
            flush=True,
        )


if __name__ == "__main__":
    main()
