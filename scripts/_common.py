"""Shared by the training scripts (train_grid.py, train_cv.py): they run as `python scripts/<name>.py` from the repo
root on a machine where the project may not be installed, so this module is imported by its bare name (the
script's own folder is on sys.path) and puts the repo root on sys.path for `core`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def log(msg: str) -> None:
    """One timestamped line, flushed at once: several worker processes share the terminal."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def setup_torch(threads: int) -> None:
    """CPU threads per worker (several share the machine) and the fast cuDNN/TF32 paths when a GPU is there."""
    import torch

    torch.set_num_threads(max(1, threads))
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def load_train_test(data: str | Path, limit: int = 0):
    """The pack's train and test splits (each cut to its first `limit` clips when limit > 0, for smoke tests) and
    the pack's info block (dataset, genres, extractor version, command)."""
    import numpy as np

    from core.datasets import load_packed

    arrays, splits = load_packed(data)
    train, test = arrays.subset(splits["train"]), arrays.subset(splits["test"])
    if limit:
        train = train.subset(np.arange(min(limit, len(train))))
        test = test.subset(np.arange(min(limit, len(test))))
    return train, test, json.loads(str(splits["info"]))


def common_parser(time_budget: float) -> argparse.ArgumentParser:
    """The options every training script shares: pack in, results out, scratch folder, epochs, smoke-test limit,
    and the seconds after which a worker starts no further job."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default=None, help="scratch folder (default: OUT/work)")
    ap.add_argument("--max-epochs", type=int, default=50)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N train/test clips (smoke test)")
    ap.add_argument("--time-budget", type=float, default=time_budget, help="seconds after which workers start no job")
    return ap


def make_dirs(args: argparse.Namespace) -> Path:
    """Create OUT and the scratch folder (filling in the OUT/work default on `args`); returns OUT."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    args.work = args.work or str(out / "work")
    Path(args.work).mkdir(parents=True, exist_ok=True)
    return out


def worker_command(script: str, args: argparse.Namespace, *extra: str) -> list[str]:
    """The command line that runs `script` again as one of its workers: this interpreter, the shared options of
    `common_parser` as `args` holds them (after `make_dirs`), then the script's own `extra` options."""
    shared = ["--data", args.data, "--out", args.out, "--work", args.work, "--max-epochs", str(args.max_epochs)]
    shared += ["--limit", str(args.limit), "--time-budget", str(args.time_budget)]
    return [sys.executable, script, *shared, *extra]
