"""Recipe search for the audio-first default (MusiCNN branch) by cross-validation on 4Q split=train only.

    python scripts/train_audio_cv.py --data pack/4q_features.npz --out results/audio_cv [--recipes ...] [--seeds 3]

Every recipe trains one QuadFusionNet per fold of a stratified 5-fold split of split=train (fold k validates on
fold k, seeded with k); each training clip is predicted once by a model that never saw it, under BOTH protocols:
"metadata" (labels.csv genres into the genre branch) and "audio" (genres inferred from MusiCNN tags). The whole
CV is repeated for `--seeds` split seeds, and recipes are compared on the mean out-of-fold (OOF) metrics; the
test split plays no part in the choice. Selection rule (fixed before any run): the highest OOF audio-only
macro-F1 among recipes whose every OOF audio-only per-quadrant F1 is >= 0.60 and whose OOF nDCG@3 (audio only)
is within 0.01 of the best; ties (< 0.3 points) go to the higher metadata macro-F1.

"probe" recipes add a logistic regression on the MusiCNN features (the issue's 71 % probe) and average its
quadrant probabilities with the network's (stacking by a fixed weight). `--arousal` also fits, per recipe, the
monotone arousal adjustment (core.arousal) on the OOF predictions, nested (fit on four folds' OOF, scored on the
fifth), and reports whether it helps. Test metrics of the fold ensembles are written for information only.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import load_train_test, log, setup_torch

MNN = ("muq", "genre", "lowlevel")  # the "muq" branch takes the pretrained embedding named by `pretrained`
BASE = {"branches": MNN, "pretrained": "musicnn", "lowlevel_clip": 5.0, "max_epochs": 60}
OC = {"schedule": "onecycle", "lr": 2e-3}
RECIPES: dict[str, dict] = {
    "A_meta": {**BASE},  # genre branch trained on curated genres only (the old habit)
    "B_mix": {**BASE, "genre_source": "mix"},
    "C_audio": {**BASE, "genre_source": "audio"},
    "D_mix_oc": {**BASE, **OC, "genre_source": "mix"},
    "E_mix_oc_qw2": {**BASE, **OC, "genre_source": "mix", "quadrant_loss_weight": 2.0, "label_smoothing": 0.1},
    "F_mix_oc_bd3": {**BASE, **OC, "genre_source": "mix", "branch_dropout": 0.3},
    "G_mix_oc_probe": {**BASE, **OC, "genre_source": "mix", "probe": 0.5},
    "H_mix_oc_qw2_probe": {
        **BASE,
        **OC,
        "genre_source": "mix",
        "quadrant_loss_weight": 2.0,
        "label_smoothing": 0.1,
        "probe": 0.5,
    },
    "I_mix_oc_probe3": {**BASE, **OC, "genre_source": "mix", "probe": 0.3},
    "J_mix_oc_probe7": {**BASE, **OC, "genre_source": "mix", "probe": 0.7},
    "K_mix7_oc_probe": {**BASE, **OC, "genre_source": "mix", "genre_mix": 0.7, "probe": 0.5},
    "L_mix_oc_wd_probe": {**BASE, **OC, "genre_source": "mix", "weight_decay": 1e-2, "probe": 0.5},
    "M_mix_oc1e3_ep100_probe": {
        **BASE,
        "schedule": "onecycle",
        "lr": 1e-3,
        "max_epochs": 100,
        "genre_source": "mix",
        "probe": 0.5,
    },
    "N_mix_oc_ls_probe": {**BASE, **OC, "genre_source": "mix", "label_smoothing": 0.1, "probe": 0.5},
    "O_mix_oc_probe_c02": {**BASE, **OC, "genre_source": "mix", "probe": 0.5, "probe_c": 0.02},
    "P_probe_only": {**BASE, "probe": 1.0},
    "Q_probe_only_c02": {**BASE, "probe": 1.0, "probe_c": 0.02},
    "R_probe_only_c2": {**BASE, "probe": 1.0, "probe_c": 0.2},
}
HEAD_KEYS = ("probe", "probe_c")  # stacking settings, not TrainConfig fields
PROBE_C = 0.05  # default inverse L2 strength of the MusiCNN probe; recipes Q/R try 0.02 and 0.2
PROTOCOLS = ("metadata", "audio")


def probe_pipeline(c: float = PROBE_C, max_iter: int = 2000):
    """The quadrant probe's model: logistic regression on standardised features, classes balanced."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter, class_weight="balanced"))


def probe_probs(train, other_sets, c: float = PROBE_C):
    """The probe on MusiCNN features, fitted on `train`; probabilities for each set."""
    clf = probe_pipeline(c)
    clf.fit(train.musicnn, train.quadrant)
    return [clf.predict_proba(s.musicnn) for s in other_sets]


def run_recipe(name: str, recipe: dict, train, test, folds: int, split_seed: int, max_epochs: int):
    """OOF (and fold-ensemble test) predictions of one recipe for one split seed, both protocols."""
    import numpy as np

    from core.datasets import stratified_folds
    from core.train import TrainConfig, fit, predict_arrays

    fields = {k: v for k, v in recipe.items() if k not in HEAD_KEYS}
    probe_w, probe_c = float(recipe.get("probe", 0.0)), float(recipe.get("probe_c", PROBE_C))
    fold_id = stratified_folds(train.quadrant, folds, split_seed)
    n, nt = len(train), len(test)
    oof = {p: {"quadrant_probs": np.zeros((n, 4)), "tag_scores": np.zeros((n, 12))} for p in PROTOCOLS}
    tst = {p: {"quadrant_probs": np.zeros((nt, 4)), "tag_scores": np.zeros((nt, 12))} for p in PROTOCOLS}
    for k in range(folds):
        held = np.flatnonzero(fold_id == k)
        epochs = min(max_epochs, fields.get("max_epochs", 50)) if max_epochs else fields.get("max_epochs", 50)
        cfg = TrainConfig(
            **{**fields, "max_epochs": epochs},
            folds=folds,
            fold=k,
            split_seed=split_seed,
            seed=k + 100 * split_seed,
            device="cpu",
        )
        res = fit(train, cfg, show_bar=False) if probe_w < 1.0 else None
        va = train.subset(held)
        pr_va, pr_te = (
            probe_probs(train.subset(np.flatnonzero(fold_id != k)), [va, test], probe_c) if probe_w else (0, 0)
        )
        for p in PROTOCOLS:
            for arrays, dest, rows, pr in ((va, oof, held, pr_va), (test, tst, slice(None), pr_te)):
                if res is not None:
                    out = predict_arrays(res, arrays.with_genres(p))
                    q = (1 - probe_w) * out["quadrant_probs"] + probe_w * pr
                    dest[p]["tag_scores"][rows] += out["tag_scores"] / (1 if dest is oof else folds)
                else:
                    q = pr
                dest[p]["quadrant_probs"][rows] += q / (1 if dest is oof else folds)
    return oof, tst


def metrics(arrays, pred) -> dict:
    from core.train import score_predictions

    m = score_predictions(arrays.relevance, arrays.quadrant, pred)
    if not pred["tag_scores"].any():
        m.pop("ndcg@3", None)
    return m


def summarise(rows: list[dict]) -> dict:
    """Mean and std over split seeds of each protocol's macro-F1, per-class F1 and nDCG@3."""
    import numpy as np

    out: dict = {}
    for p in PROTOCOLS:
        ms = [r[p] for r in rows]
        f1 = np.array([m["macro_f1"] for m in ms])
        per = np.array([m["per_class_f1"] for m in ms])
        entry = {
            "macro_f1": float(f1.mean()),
            "macro_f1_std": float(f1.std()),
            "per_class_f1": per.mean(0).tolist(),
            "min_class_f1": float(per.mean(0).min()),
        }
        if all("ndcg@3" in m for m in ms):
            nd = np.array([m["ndcg@3"] for m in ms])
            entry.update({"ndcg@3": float(nd.mean()), "ndcg@3_std": float(nd.std())})
        out[p] = entry
    return out


def pick(table: dict) -> str | None:
    """The selection rule of the module docstring; without any recipe meeting the per-quadrant floor, the best
    audio-only macro-F1 among recipes with a ranking head."""
    ranked = {r: s for r, s in table.items() if "ndcg@3" in s["cv"]["audio"]}
    if not ranked:
        return None
    ok = {r: s for r, s in ranked.items() if s["cv"]["audio"]["min_class_f1"] >= 0.60} or ranked
    best_nd = max(s["cv"]["audio"]["ndcg@3"] for s in ok.values())
    ok = {r: s for r, s in ok.items() if s["cv"]["audio"]["ndcg@3"] >= best_nd - 0.01}
    top = max(s["cv"]["audio"]["macro_f1"] for s in ok.values())
    close = {r: s for r, s in ok.items() if s["cv"]["audio"]["macro_f1"] >= top - 0.003}
    return max(close, key=lambda r: close[r]["cv"]["metadata"]["macro_f1"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--recipes", nargs="*", default=list(RECIPES))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=3, help="split seeds the CV is repeated over")
    ap.add_argument("--max-epochs", type=int, default=0, help="cap every recipe's epochs (0: the recipe's own)")
    ap.add_argument("--arousal", action="store_true", help="also try the monotone arousal adjustment (nested CV)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    setup_torch(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, test, info = load_train_test(args.data)
    if train.musicnn is None or train.genre_inferred is None:
        raise SystemExit("the pack has no MusiCNN features / inferred genres: rebuild it with scripts/build_4q_pack.py")
    table: dict = {}
    for name in args.recipes:
        started = time.monotonic()
        cv_rows, test_rows, arousal_rows = [], [], []
        for s in range(args.seeds):
            oof, tst = run_recipe(name, RECIPES[name], train, test, args.folds, s, args.max_epochs)
            cv_rows.append({p: metrics(train, oof[p]) for p in PROTOCOLS})
            test_rows.append({p: metrics(test, tst[p]) for p in PROTOCOLS})
            if args.arousal:
                from core.arousal import nested_cv_gain

                arousal_rows.append(
                    {p: nested_cv_gain(train, oof[p]["quadrant_probs"], args.folds, s) for p in PROTOCOLS}
                )
        table[name] = {
            "recipe": {k: list(v) if isinstance(v, tuple) else v for k, v in RECIPES[name].items()},
            "cv": summarise(cv_rows),
            "test_info_only": summarise(test_rows),
            "seconds": round(time.monotonic() - started, 1),
        }
        if arousal_rows:
            table[name]["arousal_nested_cv"] = arousal_rows
        cv = table[name]["cv"]
        log(
            f"{name}: CV audio {cv['audio']['macro_f1'] * 100:.1f}±{cv['audio']['macro_f1_std'] * 100:.1f} "
            f"(min class {cv['audio']['min_class_f1'] * 100:.1f}, nDCG {cv['audio'].get('ndcg@3', float('nan')):.3f}) "
            f"metadata {cv['metadata']['macro_f1'] * 100:.1f}±{cv['metadata']['macro_f1_std'] * 100:.1f}  "
            f"[{table[name]['seconds']} s]"
        )
        (out / "audio_cv_results.json").write_text(json.dumps({"info": info, "rows": table}, indent=2) + "\n")
    chosen = pick(table)
    log(f"chosen by CV: {chosen}")
    (out / "audio_cv_results.json").write_text(
        json.dumps({"info": info, "rows": table, "chosen": chosen}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
