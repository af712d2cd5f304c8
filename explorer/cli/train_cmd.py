"""`qfx train --data FOLDER --out DIR`: train QuadFusionNet on a 4Q-style folder and save a checkpoint.

With several --seeds, one model is trained per seed and the one with the lowest validation loss is saved
(this is how the shipped default model was chosen; see docs/training.md).
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train an emotion model on a labelled 4Q-style folder")
    p.add_argument("--data", required=True, help="folder with labels.csv (+ optional split column) and audio/")
    p.add_argument("--out", required=True, help="checkpoint folder to write")
    p.add_argument("--split", default="train", help="split to train on when labels.csv has one (default train; 'all' for every clip)")
    p.add_argument("--branches", nargs="+", default=["mel", "genre", "lowlevel"],
                   choices=["mel", "muq", "genre", "lowlevel"], help="active branches (default: mel genre lowlevel)")
    p.add_argument("--task", default="joint", choices=["joint", "tags", "quadrant"],
                   help="joint = both heads (default); tags = ranking only; quadrant = 4-class only")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="one model per seed; the lowest validation loss is kept")
    p.add_argument("--epochs", type=int, default=50, help="maximum epochs (early stopping usually ends sooner)")
    p.add_argument("--crop-frames", type=int, default=938, help="random mel crop length while training (0 = full clips)")
    p.add_argument("--cache-dir", default=None, help="feature cache folder (default: the user cache)")
    p.add_argument("--muq-dir", default=None, help="MuQ weights folder for the muq branch (default: $QFX_MUQ_DIR, else the Hugging Face cache)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--provisional", action="store_true", help="mark the checkpoint as a stand-in in its meta")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from core.checkpoint import save_checkpoint
    from core.data.fourq import has_split_column, read_fourq
    from core.datasets import build_arrays
    from core.feature_cache import FeatureCache
    from core.train import TrainConfig, checkpoint_meta, fit

    muq = None
    if "muq" in args.branches:
        from core.features.muq_embed import load_muq_embedder
        from explorer.library.model_choice import active_model

        muq_dir = active_model(muq=args.muq_dir).muq_dir  # --muq-dir, else $QFX_MUQ_DIR, else the HF cache
        muq = load_muq_embedder(muq_dir, device=args.device)  # raises MuQUnavailable with a clear message
    split = None if args.split in ("all", "") or not has_split_column(args.data) else args.split
    clips = read_fourq(args.data, split)
    cache = FeatureCache(args.cache_dir)
    if muq is not None:
        cache.get_many([c.audio_path for c in clips], muq=muq, show_bar=not args.quiet)
    arrays = build_arrays(clips, cache, with_mel="mel" in args.branches, show_bar=not args.quiet)
    results = []
    for seed in args.seeds:
        cfg = TrainConfig(branches=tuple(args.branches), task=args.task, seed=seed, max_epochs=args.epochs,
                          crop_frames=args.crop_frames or None, device=args.device)
        result = fit(arrays, cfg, show_bar=not args.quiet)
        print(f"seed {seed}: best epoch {result.best_epoch}, validation {_fmt(result.val_metrics)}")
        results.append(result)
    best = min(results, key=lambda r: r.best_val_loss)
    command = "qfx " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else ""
    meta = checkpoint_meta(best, dataset=f"{args.data} split={split or 'all'} ({len(clips)} clips)",
                           extra_training={"command": command, "seed": best.config.seed,
                                           "seeds_tried": list(args.seeds), "provisional": bool(args.provisional)})
    save_checkpoint(args.out, best.model, best.model_config, meta)
    print(f"saved seed {best.config.seed} (validation loss {best.best_val_loss:.4f}) to {args.out}")
    return 0


def _fmt(metrics: dict) -> str:
    parts = [f"loss {metrics['val_loss']:.4f}"]
    if "macro_f1" in metrics:
        parts.append(f"macro-F1 {metrics['macro_f1'] * 100:.1f} %")
    if "ndcg@3" in metrics:
        parts.append(f"nDCG@3 {metrics['ndcg@3']:.3f}")
    return ", ".join(parts)
