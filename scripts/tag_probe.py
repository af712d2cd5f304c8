"""Choose (by cross-validation on split=train) and fit the tag probe that a checkpoint mixes into its tag ranking.

    python scripts/tag_probe.py --data pack.npz --cv [--seeds 3]              # out-of-fold nDCG@3 per setting
    python scripts/tag_probe.py --data pack.npz --model resources/models/default --weight 0.4 --c 0.03

The probe is a logistic regression from the MusiCNN vector and the 8 low-level descriptors to the 12 tags, fitted
with each clip's tag relevances as soft targets (every clip counted once, its weight spread over its tags). `--cv`
rebuilds the shipped recipe's fold models per split seed (scripts/train_audio_cv.py), mixes their out-of-fold tag
scores with probes fitted on the same folds, and prints nDCG@3 for each (C, weight) under both protocols. `--model`
fits the probe on all of split=train and writes it into the checkpoint's config.json
("inference.tag_probe", core/stacking.py); re-export the ONNX graphs afterwards (scripts/export_onnx.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import load_train_test, log, setup_torch

GRID_C = (0.01, 0.03, 0.1)
GRID_WEIGHT = (0.0, 0.25, 0.4, 0.5, 0.6, 0.75)


def features(arrays):
    from core.stacking import tag_probe_features

    return tag_probe_features(arrays.musicnn, arrays.lowlevel)


def fit_probe(x, relevance, c: float):
    """A scaler + multinomial logistic regression on soft tag targets, as core.stacking.probe_from_sklearn reads."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows, labels, weights = [], [], []
    for i, rel in enumerate(relevance):
        total = float(rel.sum())
        for t in np.flatnonzero(rel):
            rows.append(i)
            labels.append(int(t))
            weights.append(float(rel[t]) / total)
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))
    probe.fit(x[rows], labels, logisticregression__sample_weight=weights)
    if list(probe[-1].classes_) != list(range(relevance.shape[1])):
        raise SystemExit("every tag must occur in the training clips")
    return probe


def cross_validate(train, test, seeds: int) -> None:
    import numpy as np
    from train_audio_cv import PROTOCOLS, RECIPES, metrics, run_recipe

    from core.datasets import stratified_folds
    from core.stacking import apply_tag_probe, probe_from_sklearn

    x = features(train)
    table: dict[tuple, list[float]] = {}
    for seed in range(seeds):
        oof, _ = run_recipe("G", RECIPES["G_mix_oc_probe"], train, test, 5, seed, 0)
        fold_id = stratified_folds(train.quadrant, 5, seed)
        for c in GRID_C:
            specs = {}
            for k in range(5):
                rest = fold_id != k
                specs[k] = probe_from_sklearn(fit_probe(x[rest], train.relevance[rest], c), 1.0)
            for w in GRID_WEIGHT:
                for p in PROTOCOLS:
                    tags = np.zeros_like(oof[p]["tag_scores"])
                    for k, spec in specs.items():
                        held = fold_id == k
                        tags[held] = apply_tag_probe(oof[p]["tag_scores"][held], {**spec, "weight": w}, x[held])
                    score = metrics(train, {"quadrant_probs": oof[p]["quadrant_probs"], "tag_scores": tags})["ndcg@3"]
                    table.setdefault((c, w, p), []).append(score)
        log(f"seed {seed} done")
    for (c, w, p), scores in sorted(table.items()):
        print(f"C {c:<5} weight {w:<5} {p:<9} out-of-fold nDCG@3 {np.mean(scores):.4f} ± {np.std(scores):.4f}")


def fit_record(c: float) -> dict:
    """How a checkpoint's tag probe was fitted (config.json's "inference.tag_probe_fit"; read by no code)."""
    return {"c": c, "data": "4Q split=train", "selection": "scripts/tag_probe.py --cv"}


def write_probe(train, model: Path, weight: float, c: float) -> None:
    from core.stacking import probe_from_sklearn

    config = model / "config.json"
    doc = json.loads(config.read_text())
    probe = fit_probe(features(train), train.relevance, c)
    doc.setdefault("inference", {})["tag_probe"] = probe_from_sklearn(probe, weight)
    doc["inference"]["tag_probe_fit"] = fit_record(c)
    config.write_text(json.dumps(doc, indent=2) + "\n")
    log(f"wrote inference.tag_probe (weight {weight}, C {c}) into {config}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the training pack (scripts/build_4q_pack.py)")
    ap.add_argument("--cv", action="store_true", help="print out-of-fold nDCG@3 for every setting")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--model", type=Path, default=None, help="checkpoint folder to write the fitted probe into")
    ap.add_argument("--weight", type=float, default=0.4)
    ap.add_argument("--c", type=float, default=0.03)
    args = ap.parse_args()
    if not args.cv and args.model is None:
        ap.error("give --cv, --model DIR, or both")
    setup_torch(1)
    train, test, _ = load_train_test(args.data)
    if args.cv:
        cross_validate(train, test, args.seeds)
    if args.model is not None:
        write_probe(train, args.model, args.weight, args.c)


if __name__ == "__main__":
    main()
