"""How closely shared-trunk test-time crops follow true crops, on the real 4Q test clips, for both profiles.

    python bench/shared_trunk_agreement.py --data /path/to/4q [--clips 160]

For each profile, predicts every clip twice (crops through the whole network vs windows of one trunk pass) and
prints the largest absolute difference of quadrant and tag probabilities, how often the predicted quadrant and
the top-3 tag set agree, and the test metrics of both (macro-F1, nDCG@3 on clips with tags, as qfx evaluate).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--clips", type=int, default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from core.data.fourq import read_fourq
    from core.datasets import build_arrays
    from core.emotions import QUADRANTS
    from core.feature_cache import FeatureCache
    from core.inference import EmotionModel
    from core.metrics import macro_f1, ndcg_at_k

    clips = read_fourq(args.data, "test")[: args.clips]
    arrays = build_arrays(clips, FeatureCache(), with_mel=True, show_bar=False)
    x = {
        "mel": [m[:, : int(n)] for m, n in zip(arrays.mel, arrays.mel_lengths)],
        "lowlevel": arrays.lowlevel,
        "genre": arrays.genre,
    }
    has = arrays.has_tags
    report = {}
    for profile in ("full", "fast"):
        model = EmotionModel.load(device="cpu", profile=profile)
        preds = {}
        for shared in (False, True):
            model.shared_trunk = shared
            preds[shared] = model.predict(**x, batch_size=8)
        true, approx = preds[False], preds[True]
        row = {
            "max_abs_quadrant_prob_diff": float(np.abs(true.quadrant_probs - approx.quadrant_probs).max()),
            "max_abs_tag_prob_diff": float(np.abs(true.tag_scores - approx.tag_scores).max()),
            "quadrant_agreement": float((true.quadrant_probs.argmax(1) == approx.quadrant_probs.argmax(1)).mean()),
            "top3_set_agreement": float(
                np.mean(
                    [
                        set(np.argsort(-a)[:3]) == set(np.argsort(-b)[:3])
                        for a, b in zip(true.tag_scores, approx.tag_scores)
                    ]
                )
            ),
            "max_abs_embedding_diff": float(np.abs(true.embeddings - approx.embeddings).max()),
        }
        for name, p in (("true_crops", true), ("shared_trunk", approx)):
            f1, _ = macro_f1(arrays.quadrant, p.quadrant_probs.argmax(1), len(QUADRANTS))
            row[f"{name}_macro_f1"] = float(f1)
            row[f"{name}_ndcg@3"] = float(ndcg_at_k(arrays.relevance[has], p.tag_scores[has], k=3))
        report[profile] = row
        print(profile, json.dumps(row, indent=1), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"n_clips": len(clips), **report}, fh, indent=2)


if __name__ == "__main__":
    main()
