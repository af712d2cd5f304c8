"""`qfx evaluate --checkpoint PATH --data FOLDER [--json OUT]`: macro-F1, per-class F1 and nDCG@3 under both
protocols: metadata genres from labels.csv, and audio only (genres inferred from the audio; core.evaluate)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from explorer.cli.command import Command
from explorer.cli.errors import CommandError


def evaluate(
    checkpoint: str | os.PathLike[str] | None,
    data: Path,
    *,
    split: str | None = "test",
    cache_dir: Path | None = None,
    device: str | None = None,
    profile: str | None = None,
    show_bar: bool = True,
) -> dict[str, Any]:
    """Metrics of the model chosen by explorer.library.model_choice (`checkpoint`, else QFX_MODEL, else the
    shipped one) on `data` (core.evaluate records the inference profile used under "profile")."""
    from core.evaluate import evaluate_checkpoint
    from core.inference import PROFILE_ENV
    from explorer.library.model_choice import active_model

    if profile:  # EmotionModel.load reads it; this process only evaluates
        os.environ[PROFILE_ENV] = profile
    path = active_model(model=checkpoint).path  # None: the shipped model
    result = evaluate_checkpoint(path, data, split=split, cache_dir=cache_dir, show_bar=show_bar, device=device)
    return result


def json_output(path: Path | None) -> Path | None:
    """The JSON file to write; its folder must already exist (a typo must not create folders)."""
    if path is None:
        return None
    if not path.parent.is_dir():
        raise CommandError(f"folder for --json does not exist: {path.parent}")
    return path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: $QFX_MODEL, else the shipped model)")
    p.add_argument("--data", required=True, type=Path, help="folder with labels.csv and audio/")
    p.add_argument(
        "--split",
        default="test",
        help="split to evaluate when labels.csv has a split column (default test; 'all' for every clip)",
    )
    p.add_argument("--json", dest="json_out", type=Path, default=None, help="also write the metrics as JSON here")
    p.add_argument("--cache-dir", type=Path, default=None, help="feature cache folder (default: the user cache)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument(
        "--profile",
        choices=("full", "fast"),
        default=None,
        help="inference profile: full ensemble or fast single model (default: full on CUDA, fast on CPU)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from core.evaluate import format_report

    out = json_output(args.json_out)
    result = evaluate(
        args.checkpoint,
        args.data,
        split=None if args.split in ("all", "") else args.split,
        cache_dir=args.cache_dir,
        device=args.device,
        profile=args.profile,
        show_bar=not args.quiet,
    )
    print(format_report(result))
    print(f"inference profile: {result['profile']}")
    if out is not None:
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


COMMAND = Command("evaluate", "measure a trained model on a labelled 4Q-style folder", add_arguments, run)
