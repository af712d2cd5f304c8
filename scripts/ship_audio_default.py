"""Train the recipe chosen by scripts/train_audio_cv.py as a 5-fold ensemble and write the shipped checkpoint.

    python scripts/ship_audio_default.py --data pack.npz --recipe NAME --out resources/models/default \
        [--seeds 3] [--arousal] [--tag-probe 0.4] [--results results/audio_default_seeds.json]

For each split seed s (0..seeds-1) the recipe's five fold models (fold k validates on fold k of a stratified split
of split=train) vote by mean softmax, mixed with the MusiCNN probe (trained on all of split=train) when the recipe
has one; their split=test metrics under both protocols give the mean +- std rows of docs/results.md. Seed 0's
ensemble is shipped: the fold with the lowest validation loss is the folder's own model (its embedding is the
map's), the others are members; the probe and (with --arousal, fitted on seed 0's out-of-fold predictions) the
monotone arousal adjustment go into config.json's "inference" block (core/stacking.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from _common import load_train_test, log, setup_torch
from train_audio_cv import HEAD_KEYS, PROBE_C, PROTOCOLS, RECIPES, metrics, probe_pipeline


def train_seed(recipe: dict, train, folds: int, split_seed: int, max_epochs: int = 0):
    """Fold models of one split seed, their OOF quadrant probabilities (metadata, audio) and the probe."""
    import numpy as np

    from core.datasets import stratified_folds
    from core.train import TrainConfig, fit, predict_arrays

    fields = {k: v for k, v in recipe.items() if k not in HEAD_KEYS}
    c = float(recipe.get("probe_c", PROBE_C))
    if max_epochs:  # smoke tests only
        fields["max_epochs"] = max_epochs
    fold_id = stratified_folds(train.quadrant, folds, split_seed)
    models, oof = [], {p: np.zeros((len(train), 4)) for p in PROTOCOLS}
    for k in range(folds):
        cfg = TrainConfig(**fields, folds=folds, fold=k, split_seed=split_seed, seed=k + 100 * split_seed, device="cpu")
        res = fit(train, cfg, show_bar=False)
        held = np.flatnonzero(fold_id == k)
        for p in PROTOCOLS:
            oof[p][held] = predict_arrays(res, train.subset(held).with_genres(p))["quadrant_probs"]
            if recipe.get("probe"):
                rest = np.flatnonzero(fold_id != k)
                pr = probe_pipeline(c).fit(train.musicnn[rest], train.quadrant[rest])
                w = float(recipe["probe"])
                oof[p][held] = (1 - w) * oof[p][held] + w * pr.predict_proba(train.musicnn[held])
        models.append(res)
    probe = None
    if recipe.get("probe"):
        probe = probe_pipeline(c).fit(train.musicnn, train.quadrant)
    return models, oof, probe


def ensemble_predict(models, probe, weight: float, arousal, arrays, tag_probe: dict | None = None) -> dict:
    import numpy as np

    from core.stacking import apply_heads, apply_tag_heads, probe_from_sklearn
    from core.train import predict_arrays

    outs = [predict_arrays(m, arrays) for m in models]
    pred = {k: np.mean([o[k] for o in outs], axis=0) for k in ("quadrant_probs", "tag_scores")}
    spec = {}
    if probe is not None:
        spec["probe"] = probe_from_sklearn(probe, weight)
    if arousal:
        spec["arousal"] = arousal
    if tag_probe:
        spec["tag_probe"] = tag_probe
    pred["quadrant_probs"] = apply_heads(pred["quadrant_probs"], spec, arrays.musicnn, arrays.interpretive)
    pred["tag_scores"] = apply_tag_heads(pred["tag_scores"], spec, arrays.musicnn, arrays.lowlevel)
    return pred


def main() -> None:
    import numpy as np

    from core.arousal import fit_adjustment
    from core.checkpoint import save_checkpoint
    from core.stacking import probe_from_sklearn
    from core.train import checkpoint_meta

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--recipe", required=True, choices=sorted(RECIPES))
    ap.add_argument("--out", required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--arousal", action="store_true")
    ap.add_argument("--results", default=None)
    ap.add_argument("--tag-probe", type=float, default=0.0, help="tag probe weight (scripts/tag_probe.py); 0: none")
    ap.add_argument("--tag-probe-c", type=float, default=0.03)
    ap.add_argument("--max-epochs", type=int, default=0, help="override the recipe's epochs (smoke tests only)")
    args = ap.parse_args()
    setup_torch(1)
    train, test, info = load_train_test(args.data)
    recipe = RECIPES[args.recipe]
    weight = float(recipe.get("probe", 0.0))
    tag_probe = None
    if args.tag_probe > 0:  # fitted once on all of split=train: the same for every seed
        from tag_probe import features, fit_probe, fit_record

        tag_fit = fit_probe(features(train), train.relevance, args.tag_probe_c)
        tag_probe = probe_from_sklearn(tag_fit, args.tag_probe)
    rows, shipped = [], None
    for s in range(args.seeds):
        models, oof, probe = train_seed(recipe, train, args.folds, s, args.max_epochs)
        arousal = None
        if args.arousal:  # fitted on the OOF predictions of both protocols together
            both = np.concatenate([oof[p] for p in PROTOCOLS])
            arousal = fit_adjustment(
                both, np.concatenate([train.interpretive] * 2), np.concatenate([train.quadrant] * 2)
            )
        row = {"seed": s}
        for p in PROTOCOLS:
            row[p] = metrics(test, ensemble_predict(models, probe, weight, arousal, test.with_genres(p), tag_probe))
        rows.append(row)
        log(
            f"seed {s}: test audio {row['audio']['macro_f1'] * 100:.1f} {np.round(row['audio']['per_class_f1'], 3)} "
            f"nDCG {row['audio']['ndcg@3']:.3f} | metadata {row['metadata']['macro_f1'] * 100:.1f} "
            f"nDCG {row['metadata']['ndcg@3']:.3f}"
        )
        if s == 0:
            shipped = (models, probe, arousal)
    models, probe, arousal = shipped
    order = sorted(range(len(models)), key=lambda k: models[k].best_val_loss)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    inference = {"members": [f"members/fold{k}" for k in order[1:]], "tta_crops": 1}
    if probe is not None:
        inference["probe"] = probe_from_sklearn(probe, weight)
    if arousal:
        inference["arousal"] = arousal
    if tag_probe:
        inference["tag_probe"], inference["tag_probe_fit"] = tag_probe, fit_record(args.tag_probe_c)
    extra = {
        "recipe": args.recipe,
        "recipe_fields": {k: list(v) if isinstance(v, tuple) else v for k, v in recipe.items()},
        "selection": "scripts/train_audio_cv.py (5-fold CV on split=train, 3 split seeds)",
        "split_seed": 0,
    }
    summary = {
        p: {
            "macro_f1": float(np.mean([r[p]["macro_f1"] for r in rows])),
            "macro_f1_std": float(np.std([r[p]["macro_f1"] for r in rows])),
            "ndcg@3": float(np.mean([r[p]["ndcg@3"] for r in rows])),
            "ndcg@3_std": float(np.std([r[p]["ndcg@3"] for r in rows])),
            "per_class_f1": np.mean([r[p]["per_class_f1"] for r in rows], axis=0).tolist(),
        }
        for p in PROTOCOLS
    }
    for rank, k in enumerate(order):
        res = models[k]
        meta = checkpoint_meta(
            res,
            dataset=info.get("dataset", "4Q split=train"),
            genres=info.get("genres"),
            extractor_version=info.get("extractor_version"),
            extra_training={**extra, "fold": k},
            metrics={"test_3_seeds_info_only": summary} if rank == 0 else None,
        )
        if rank == 0:
            meta["inference"] = inference
        save_checkpoint(out if rank == 0 else out / "members" / f"fold{k}", res.model, res.model_config, meta)
    log(f"wrote {out} (own model fold {order[0]}, members {order[1:]})")
    if args.results:
        Path(args.results).write_text(
            json.dumps({"recipe": args.recipe, "info": info, "rows": rows, "summary": summary}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
