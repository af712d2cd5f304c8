"""Metric change of the int8 ONNX graphs: 4Q test-split macro-F1, accuracy and nDCG@3 of the shipped model with
fp32 vs int8 graphs (both profiles), plus the largest output differences and the CPU time per clip (one thread).

    python bench/onnx_precision.py --data /data/4q [--out results/onnx_int8_metrics.json]

Features come from the feature cache exactly as `qfx evaluate` gets them; the int8 graphs were calibrated on the
train split only (scripts/export_onnx.py --int8 --calibrate), so the test split is unseen by the calibration.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from core.data.fourq import read_fourq
    from core.datasets import build_arrays
    from core.emotions import QUADRANTS
    from core.feature_cache import FeatureCache
    from core.inference_base import default_model_dir
    from core.metrics import macro_f1, ndcg_at_k
    from core.onnx_runtime import OnnxEmotionModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    clips = read_fourq(args.data, "test")
    arrays = build_arrays(clips, FeatureCache(None), with_mel=True, show_bar=False)
    mels = [m[:, : int(n)] for m, n in zip(arrays.mel, arrays.mel_lengths)]
    has = arrays.has_tags
    result: dict = {"data": str(args.data), "split": "test", "n_clips": len(clips), "load_avg": os.getloadavg()[0]}
    for profile in ("fast", "full"):
        preds = {}
        for precision in ("fp32", "int8"):
            model = OnnxEmotionModel.load(
                default_model_dir(), device="cpu", profile=profile, precision=precision, threads=1
            )
            model.predict(mel=mels[:1], lowlevel=arrays.lowlevel[:1], genre=arrays.genre[:1])
            t = time.process_time()
            p = model.predict(mel=mels, lowlevel=arrays.lowlevel, genre=arrays.genre, batch_size=8)
            cpu_ms = 1000 * (time.process_time() - t) / len(clips)
            y = p.quadrant_probs.argmax(1)
            f1, _ = macro_f1(arrays.quadrant, y, len(QUADRANTS))
            result[f"{profile}_{precision}"] = {
                "macro_f1": round(float(f1), 4),
                "accuracy": round(float((y == arrays.quadrant).mean()), 4),
                "ndcg@3": round(float(ndcg_at_k(arrays.relevance[has], p.tag_scores[has], k=3)), 4),
                "model_cpu_ms_per_clip_1_thread": round(cpu_ms, 1),
                "version": model.version,
            }
            preds[precision] = p
        a, b = preds["fp32"], preds["int8"]
        result[f"{profile}_int8_vs_fp32"] = {
            "max_abs_tag_scores": float(np.abs(a.tag_scores - b.tag_scores).max()),
            "max_abs_quadrant_probs": float(np.abs(a.quadrant_probs - b.quadrant_probs).max()),
            "quadrant_argmax_agreement": float((a.quadrant_probs.argmax(1) == b.quadrant_probs.argmax(1)).mean()),
            "embedding_cosine_min": float(
                np.min(
                    np.sum(a.embeddings * b.embeddings, 1)
                    / (np.linalg.norm(a.embeddings, axis=1) * np.linalg.norm(b.embeddings, axis=1) + 1e-12)
                )
            ),
        }
    line = json.dumps(result, indent=1)
    print(line)
    if args.out:
        args.out.write_text(line + "\n")


if __name__ == "__main__":
    main()
