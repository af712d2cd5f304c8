"""Distributed indexing on a local Ray cluster: throughput, per-task cost and the driver's share, with a paper
estimate for N nodes.

    python bench/ray_index.py [--tracks 40] [--cpus 2] [--ship-bytes]

Copies of the demo excerpts (as bench/index.py) are indexed once through `qfx index --ray` machinery on a fresh
`ray.init(num_cpus=--cpus)` cluster and once by the local worker pool with the same number of workers. Reports
tracks/min for both, the mean compute per task (the workers' own per-stage clocks: decode, mel, descriptors),
and the driver's commit time per track. The estimate for a cluster of N nodes of C cores is
min(N*C / task_s, 1 / driver_s_per_track) tracks/s: tasks scale with cores until the single driver that plans
and writes the SQLite cache is saturated. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import report  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=40)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--ship-bytes", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    import ray
    from index import make_library, random_model

    from explorer.library.cache import LibraryCache
    from explorer.library.indexer import index_library
    from explorer.library.ray_index import RayPipeline

    out: dict = {
        "bench": "ray_index",
        "tracks": args.tracks,
        "cpus": args.cpus,
        "ship_bytes": args.ship_bytes,
        "load_avg_before": round(os.getloadavg()[0], 1),
    }
    with tempfile.TemporaryDirectory(prefix="qfx-bench-ray-") as tmp:
        tmp_path = Path(tmp)
        n = make_library(tmp_path / "lib", args.tracks, set())
        model = random_model(tmp_path / "model", with_muq=False)
        ray.init(
            num_cpus=args.cpus,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": os.environ["PYTHONPATH"]}},
        )
        try:
            pipe = RayPipeline(address=None, ship_bytes=args.ship_bytes)
            with LibraryCache.open(tmp_path / "lib", tmp_path / "ray") as cache:
                t0 = time.monotonic()
                s = index_library(tmp_path / "lib", cache, model=model, pipeline=pipe)
                ray_s = time.monotonic() - t0
        finally:
            ray.shutdown()
        with LibraryCache.open(tmp_path / "lib", tmp_path / "local") as cache:
            t0 = time.monotonic()
            local = index_library(tmp_path / "lib", cache, workers=args.cpus, model=model, pipeline="cpu")
            local_s = time.monotonic() - t0
    task_s = pipe.times["task_s_sum"] / max(pipe.times["tasks"], 1)
    driver_s = (pipe.times["commit_s"] + pipe.times["actor_s"]) / max(s.analysed, 1)
    out.update(
        {
            "analysed": s.analysed,
            "failed": len(s.failed),
            "transfer": pipe.transfer,
            "ray_tracks_per_min": round(60 * s.analysed / ray_s, 1),
            "local_tracks_per_min": round(60 * local.analysed / local_s, 1),
            "task_compute_s": round(task_s, 3),
            "driver_s_per_track": round(driver_s, 4),
            **pipe.summary(),
            "estimate_tracks_per_min": {
                f"{nodes}x{cores}": round(60 * min(nodes * cores / task_s, 1 / max(driver_s, 1e-9)))
                for nodes, cores in ((1, 16), (4, 16), (16, 16), (64, 16))
            },
            "load_avg_after": round(os.getloadavg()[0], 1),
            "n_files": n,
        }
    )
    report(out, args.out)


if __name__ == "__main__":
    main()
