"""Time the teaching calibration that `load_arrays()` runs when a library has corrections, on synthetic libraries.

    python bench/teaching.py [--sizes 1000 10000 100000] [--corrections 1 10 50] [--repeat 5]

Synthetic tracks from `tests/synthetic.py` (128-d embeddings from 8 Gaussian groups); corrections on
random tracks with kinds cycling through Q1..Q4, more_energetic, calmer. "calibrate" is `core.calibration.calibrate`
(the fit replayed in order, then applied to every track's quadrants and tags), wall-clock and process CPU time,
medians over --repeat runs after one warm-up. A library without corrections costs one small SELECT and nothing else.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import median_ms, synthetic_library  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--corrections", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import numpy as np

    from core.calibration import KINDS, calibrate, tag_quadrant_affinity

    print(
        f"# {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
        f"load {os.getloadavg()[0]:.1f}, numpy {np.__version__}, {time.strftime('%Y-%m-%d')}"
    )
    print("| N | corrections | calibrate (wall, ms) | calibrate CPU (ms) |")
    print("|---|---|---|---|")
    for n in args.sizes:
        arrays = synthetic_library(n, seed=0)
        affinity = tag_quadrant_affinity(arrays.tag_names)
        rng = np.random.default_rng(0)
        for m in args.corrections:
            rows = rng.choice(n, size=m, replace=False)
            corrections = [(int(r), KINDS[i % len(KINDS)]) for i, r in enumerate(rows)]

            def run(a=arrays, c=corrections, aff=affinity) -> None:  # bound now: called within this iteration
                calibrate(a.embeddings, a.quadrant_probs, a.tag_scores, c, aff)

            wall = median_ms(run, args.repeat)
            cpu = median_ms(run, args.repeat, clock=time.process_time)
            print(f"| {n:,} | {m} | {wall:.1f} | {cpu:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
