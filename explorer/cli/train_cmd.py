"""`qfx train --data FOLDER --out DIR`: train QuadFusionNet on a 4Q-style folder and save a checkpoint.

With several --seeds, one model is trained per seed and the one with the lowest validation loss is saved
(this is how the shipped default model was chosen; see docs/training.md).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer.cli.command import Command

if TYPE_CHECKING:
    from core.train import TrainResult


@dataclass(frozen=True)
class TrainRequest:
    data: Path
    out: Path
    split: str | None = "train"  # None: every clip
    branches: tuple[str, ...] = ("mel", "genre", "lowlevel")
    task: str = "joint"
    seeds: tuple[int, ...] = (0,)
    epochs: int = 50
    crop_frames: int | None = 938
    cache_dir: Path | None = None
    muq_dir: Path | None = None
    device: str | None = None
    provisional: bool = False
    show_bar: bool = True
    command: str = ""  # how it was asked for, recorded in the checkpoint


def train_and_save(req: TrainRequest, report: Callable[[str], None] = print) -> TrainResult:
    """Train one model per seed, save the one with the lowest validation loss to `req.out` and return it."""
    from core.checkpoint import save_checkpoint
    from core.data.fourq import has_split_column, read_fourq
    from core.datasets import build_arrays
    from core.feature_cache import FeatureCache
    from core.train import TrainConfig, checkpoint_meta, fit

    muq = None
    if "muq" in req.branches:
        from core.features.muq_embed import load_muq_embedder
        from explorer.library.model_choice import active_model

        muq_dir = active_model(muq=req.muq_dir).muq_dir  # --muq-dir, else $QFX_MUQ_DIR, else the HF cache
        muq = load_muq_embedder(muq_dir, device=req.device)  # raises MuQUnavailable with a clear message
    split = req.split if req.split and has_split_column(req.data) else None
    clips = read_fourq(req.data, split)
    cache = FeatureCache(req.cache_dir)
    if muq is not None:
        cache.get_many([c.audio_path for c in clips], muq=muq, show_bar=req.show_bar)
    arrays = build_arrays(clips, cache, with_mel="mel" in req.branches, show_bar=req.show_bar)
    results = []
    for seed in req.seeds:
        cfg = TrainConfig(
            branches=req.branches,
            task=req.task,
            seed=seed,
            max_epochs=req.epochs,
            crop_frames=req.crop_frames,
            device=req.device,
        )
        result = fit(arrays, cfg, show_bar=req.show_bar)
        report(f"seed {seed}: best epoch {result.best_epoch}, validation {format_metrics(result.val_metrics)}")
        results.append(result)
    best = min(results, key=lambda r: r.best_val_loss)
    meta = checkpoint_meta(
        best,
        dataset=f"{req.data} split={split or 'all'} ({len(clips)} clips)",
        extra_training={
            "command": req.command,
            "seed": best.config.seed,
            "seeds_tried": list(req.seeds),
            "provisional": req.provisional,
        },
    )
    save_checkpoint(req.out, best.model, best.model_config, meta)
    return best


def format_metrics(metrics: dict[str, Any]) -> str:
    parts = [f"loss {metrics['val_loss']:.4f}"]
    if "macro_f1" in metrics:
        parts.append(f"macro-F1 {metrics['macro_f1'] * 100:.1f} %")
    if "ndcg@3" in metrics:
        parts.append(f"nDCG@3 {metrics['ndcg@3']:.3f}")
    return ", ".join(parts)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", required=True, type=Path, help="folder with labels.csv (+ optional split column) and audio/"
    )
    p.add_argument("--out", required=True, type=Path, help="checkpoint folder to write")
    p.add_argument(
        "--split",
        default="train",
        help="split to train on when labels.csv has one (default train; 'all' for every clip)",
    )
    p.add_argument(
        "--branches",
        nargs="+",
        default=["mel", "genre", "lowlevel"],
        choices=["mel", "muq", "genre", "lowlevel"],
        help="active branches (default: mel genre lowlevel)",
    )
    p.add_argument(
        "--task",
        default="joint",
        choices=["joint", "tags", "quadrant"],
        help="joint = both heads (default); tags = ranking only; quadrant = 4-class only",
    )
    p.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="one model per seed; the lowest validation loss is kept"
    )
    p.add_argument("--epochs", type=int, default=50, help="maximum epochs (early stopping usually ends sooner)")
    p.add_argument(
        "--crop-frames", type=int, default=938, help="random mel crop length while training (0 = full clips)"
    )
    p.add_argument("--cache-dir", type=Path, default=None, help="feature cache folder (default: the user cache)")
    p.add_argument(
        "--muq-dir",
        type=Path,
        default=None,
        help="MuQ weights folder for the muq branch (default: $QFX_MUQ_DIR, else the Hugging Face cache)",
    )
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--provisional", action="store_true", help="mark the checkpoint as a stand-in in its meta")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace, argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    req = TrainRequest(
        data=args.data,
        out=args.out,
        split=None if args.split in ("all", "") else args.split,
        branches=tuple(args.branches),
        task=args.task,
        seeds=tuple(args.seeds),
        epochs=args.epochs,
        crop_frames=args.crop_frames or None,
        cache_dir=args.cache_dir,
        muq_dir=args.muq_dir,
        device=args.device,
        provisional=bool(args.provisional),
        show_bar=not args.quiet,
        command="qfx " + " ".join(shlex.quote(os.fspath(a)) for a in argv),
    )
    best = train_and_save(req)
    print(f"saved seed {best.config.seed} (validation loss {best.best_val_loss:.4f}) to {args.out}")
    return 0


COMMAND = Command("train", "train an emotion model on a labelled 4Q-style folder", add_arguments, run)
