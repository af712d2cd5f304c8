"""`qfx evaluate --checkpoint PATH --data FOLDER [--json OUT]`: macro-F1, per-class F1 and nDCG@3 under both
protocols: metadata genres from labels.csv, and audio only (genres inferred from the audio; core.evaluate)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("evaluate", help="measure a trained model on a labelled 4Q-style folder")
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped model)")
    p.add_argument("--data", required=True, help="folder with labels.csv and audio/")
    p.add_argument("--split", default="test", help="split to evaluate when labels.csv has a split column (default test; 'all' for every clip)")
    p.add_argument("--json", dest="json_out", default=None, help="also write the metrics as JSON to this file")
    p.add_argument("--cache-dir", default=None, help="feature cache folder (default: the user cache)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--profile", choices=("full", "fast"), default=None,
                   help="inference profile: full ensemble or fast single model (default: full on CUDA, fast on CPU)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from core.evaluate import evaluate_checkpoint, format_report
    from core.inference import PROFILE_ENV

    if args.profile:  # EmotionModel.load reads it; this process only evaluates
        os.environ[PROFILE_ENV] = args.profile
    split = None if args.split in ("all", "") else args.split
    result = evaluate_checkpoint(args.checkpoint, args.data, split=split, cache_dir=args.cache_dir,
                                 show_bar=not args.quiet, device=args.device)
    print(format_report(result))
    print(f"inference profile: {result['profile']}")
    if args.json_out:
        path = Path(args.json_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0
