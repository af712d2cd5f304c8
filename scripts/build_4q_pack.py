"""Extract (once, through the feature cache) and pack the 4Q features for training without audio.

    python scripts/build_4q_pack.py --data /path/to/4q --out .carry/4q_features.npz [--limit N]

The pack holds mel (uint8-quantised), low-level + interpretive descriptors, MusiCNN-MSD features (200-d embedding +
50 tag activations) and the genres inferred from them (the audio-only protocol), genre multi-hot from labels.csv,
graded tag relevance, quadrant, the train/test split and the genre vocabulary + extractor version that a checkpoint
records.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    import numpy as np

    from core.data.fourq import read_fourq
    from core.datasets import build_arrays, save_packed
    from core.feature_cache import FeatureCache
    from core.features.genre import GENRES
    from core.features.track import EXTRACTOR_VERSION

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--limit", type=int, default=0, help="first N train + first N test clips only")
    args = ap.parse_args()
    clips = read_fourq(args.data)
    if args.limit:
        clips = [c for c in clips if c.split == "train"][: args.limit] + [c for c in clips if c.split == "test"][
            : args.limit
        ]
    arrays = build_arrays(clips, FeatureCache(args.cache_dir), show_bar=True, musicnn=True)
    n_train = sum(1 for c in clips if c.split == "train")
    splits = {
        "train": np.array([i for i, c in enumerate(clips) if c.split == "train"]),
        "test": np.array([i for i, c in enumerate(clips) if c.split == "test"]),
        "info": np.array(
            json.dumps(
                {
                    "dataset": f"4Q split=train ({n_train} clips)",
                    "genres": list(GENRES),
                    "extractor_version": str(EXTRACTOR_VERSION),
                }
            )
        ),
    }
    path = save_packed(arrays, args.out, splits=splits, levels=127, xz=True)
    print(f"{path}: {path.stat().st_size / 2**20:.1f} MiB, {len(arrays)} clips, mel {arrays.mel.shape}")


if __name__ == "__main__":
    main()
