"""Run the whole results grid from one packed feature file (no audio needed), e.g. on a GPU machine.

    python scripts/train_grid.py --data 4q_features.npz --out results_dir [--workers 3]

Per seed (one worker process each, sharing the GPU): QuadFusionNet variants x tasks (quadrant, tags, joint) and
the triplet baseline; then random / popularity prior / MLP-SMOTETomek. Writes grid_results.json and, as
default/, the V2 (mel+genre+lowlevel) joint model of the seed with the lowest validation loss.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from _common import common_parser, load_train_test, log, make_dirs, setup_torch, worker_command

VARIANTS = {
    "V2": ("mel", "genre", "lowlevel"),  # no MuQ: the shipped configuration
    "V3": ("mel", "lowlevel"),  # no genre (and no MuQ)
    "V1": ("genre", "lowlevel"),  # no mel (and no MuQ)
}
TASK_ORDER = ("joint", "quadrant", "tags")
# --tune: recipe variants of the shipped V2 joint model (all else as TrainConfig defaults); picked by validation loss
TUNE = {
    "V2_c313_sa": {"crop_frames": 313, "spec_augment": True},
    "V2_c625_sa": {"crop_frames": 625, "spec_augment": True},
    "V2_c938_sa": {"crop_frames": 938, "spec_augment": True},
    "V2_c938_sa_wd": {"crop_frames": 938, "spec_augment": True, "weight_decay": 1e-2},
    "V2_c313": {"crop_frames": 313},
    "V2_full_sa": {"crop_frames": None, "spec_augment": True},
    "V2_c313_sa_mix": {"crop_frames": 313, "spec_augment": True, "mixup_alpha": 0.4},
    "V2_c625_sa_mix": {"crop_frames": 625, "spec_augment": True, "mixup_alpha": 0.4},
}


def worker(args: argparse.Namespace) -> None:
    from core.baselines import train_triplet
    from core.checkpoint import save_checkpoint
    from core.train import TrainConfig, checkpoint_meta, evaluate_model, fit

    setup_torch(int(os.environ.get("OMP_NUM_THREADS", "2")))
    train, test, info = load_train_test(args.data, args.limit)
    seed = args.worker_seed
    deadline = time.monotonic() + args.time_budget
    rows: list[dict] = []
    out_path = Path(args.work) / f"seed_{seed}.json"

    def flush() -> None:
        out_path.write_text(json.dumps(rows, indent=1))

    jobs = [(v, t) for t in TASK_ORDER for v in VARIANTS]
    jobs = [("V2", "joint")] + [j for j in jobs if j != ("V2", "joint")]
    jobs.insert(1, ("V2nocrop", "joint"))  # same model trained on full 30 s mels: the shipped pick is by val loss
    jobs += [("triplet", "tags"), ("triplet", "quadrant")]
    if args.tune:
        jobs = [(name, "joint") for name in TUNE] + [("V2", "joint"), ("V2nocrop", "joint")]
    for variant, task in jobs:
        if time.monotonic() > deadline:
            rows.append({"model": variant, "task": task, "seed": seed, "skipped": "time budget"})
            flush()
            continue
        crop = None if variant == "V2nocrop" else (args.crop or None)
        cfg = TrainConfig(
            branches=VARIANTS.get(variant.replace("nocrop", ""), ("mel",)),
            task=task,
            seed=seed,
            max_epochs=args.max_epochs,
            crop_frames=crop,
        )
        if variant in TUNE:
            cfg = TrainConfig(
                branches=VARIANTS["V2"], task=task, seed=seed, max_epochs=args.max_epochs, **TUNE[variant]
            )
        t0 = time.monotonic()
        if variant == "triplet":
            res = train_triplet(train, test, task, cfg)
            rows.append({"model": "triplet", "task": task, "seed": seed, "test": res, "seconds": time.monotonic() - t0})
        else:
            result = fit(train, cfg, show_bar=False)
            metrics = evaluate_model(result, test)
            rows.append(
                {
                    "model": variant,
                    "branches": list(cfg.branches),
                    "task": task,
                    "seed": seed,
                    "test": metrics,
                    "validation": result.val_metrics,
                    "best_epoch": result.best_epoch,
                    "epochs_run": len(result.history),
                    "seconds": time.monotonic() - t0,
                }
            )
            if (variant in ("V2", "V2nocrop") or variant in TUNE) and task == "joint":
                meta = checkpoint_meta(
                    result,
                    dataset=info["dataset"],
                    genres=info["genres"],
                    extractor_version=info["extractor_version"],
                    extra_training={"command": info.get("command", ""), "seed": seed, "provisional": False},
                    metrics={"test_during_training": metrics},
                )
                save_checkpoint(
                    Path(args.work) / f"ckpt_{variant}_seed_{seed}", result.model, result.model_config, meta
                )
        log(f"seed {seed} {variant} {task}: {rows[-1].get('test')} ({time.monotonic() - t0:.0f}s)")
        flush()


def cpu_baselines(args: argparse.Namespace) -> list[dict]:
    from core.baselines import mlp_smotetomek, popularity_prior, random_baseline

    train, test, _ = load_train_test(args.data, args.limit)
    rows = []
    for seed in args.seeds:
        rows.append({"model": "random", "task": "both", "seed": seed, "test": random_baseline(test, seed)})
        rows.append({"model": "prior", "task": "both", "seed": seed, "test": popularity_prior(train, test)})
        if not args.skip_mlp:
            try:
                rows.append(
                    {
                        "model": "mlp_smotetomek",
                        "task": "quadrant",
                        "seed": seed,
                        "test": mlp_smotetomek(train, test, seed),
                    }
                )
            except Exception as exc:  # keep the GPU grid's results even if this CPU baseline fails
                rows.append({"model": "mlp_smotetomek", "task": "quadrant", "seed": seed, "skipped": repr(exc)})
    return rows


def pick_shipped(rows: list[dict]) -> dict | None:
    """The recipe with the lowest mean validation loss over seeds, then its seed with the lowest validation loss."""
    cands = [
        r
        for r in rows
        if (r.get("model") in ("V2", "V2nocrop") or r.get("model") in TUNE)
        and r.get("task") == "joint"
        and "validation" in r
    ]
    if not cands:
        return None
    by_recipe: dict[str, list[dict]] = {}
    for r in cands:
        by_recipe.setdefault(r["model"], []).append(r)
    recipe = min(by_recipe, key=lambda k: sum(r["validation"]["val_loss"] for r in by_recipe[k]) / len(by_recipe[k]))
    log(
        "mean validation loss per recipe: "
        + ", ".join(
            f"{k} {sum(r['validation']['val_loss'] for r in v) / len(v):.4f}" for k, v in sorted(by_recipe.items())
        )
    )
    return min(by_recipe[recipe], key=lambda r: r["validation"]["val_loss"])


def main() -> None:
    ap = common_parser(time_budget=480.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--crop", type=int, default=938)
    ap.add_argument("--skip-mlp", action="store_true")
    ap.add_argument("--tune", action="store_true", help="only the V2 joint recipe variants in TUNE")
    ap.add_argument("--worker-seed", type=int, default=None)
    args = ap.parse_args()
    out = make_dirs(args)
    if args.worker_seed is not None:
        worker(args)
        return

    started = time.monotonic()
    procs = []
    for seed in args.seeds:
        cmd = worker_command(__file__, args, "--crop", str(args.crop), "--worker-seed", str(seed))
        cmd += ["--tune"] if args.tune else []
        procs.append(subprocess.Popen(cmd))
    log(f"started {len(procs)} workers")
    rows = [] if args.tune else cpu_baselines(args)
    log(f"cpu baselines done: {len(rows)} rows")
    codes = [p.wait() for p in procs]
    log(f"workers exited with {codes}")
    for seed in args.seeds:
        path = Path(args.work) / f"seed_{seed}.json"
        if path.exists():
            rows.extend(json.loads(path.read_text()))

    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    best = pick_shipped(rows)
    if best is not None:
        src = Path(args.work) / f"ckpt_{best['model']}_seed_{best['seed']}"
        shutil.copytree(src, out / "default", dirs_exist_ok=True)
        log(f"shipped model: {best['model']} joint seed {best['seed']} (val loss {best['validation']['val_loss']:.4f})")
    doc = {
        "rows": rows,
        "device": device,
        "seconds": time.monotonic() - started,
        "shipped": {"model": best["model"], "seed": best["seed"]} if best else None,
        "args": {k: v for k, v in vars(args).items() if k != "work"},
    }
    (out / "grid_results.json").write_text(json.dumps(doc, indent=1))
    log(f"done in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
