"""Time one map refresh (filter, PCA, K-means for K = 2..6, axis interpretation, profiles) on synthetic libraries.

    python bench/analysis.py [--sizes 1000 10000 100000] [--repeat 5]

Synthetic tracks: 128-d embeddings from 8 Gaussian groups, 20 descriptors read linearly off the embedding (so the
axes have real correlations to find). "refresh" is `build_map_scene` with the whole library in view (the worst
case), wall-clock, and "refresh CPU" its process CPU time (BLAS runs single-threaded inside, so on a shared
machine CPU time is what the refresh costs without contention); "zoom" is `refresh_axes` for a box holding about half
the points. Medians over --repeat runs, after one
warm-up. Targets: refresh <= 100 ms at 10k tracks, <= 300 ms at 100k.
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

TARGETS_MS = {10_000: 100.0, 100_000: 300.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import numpy as np

    from explorer.analysis import TrackFilter, build_map_scene, filter_tracks, find_subcategories, project_pca
    from explorer.analysis.axes import interpret_axes
    from explorer.analysis.descriptors import pole_specs
    from explorer.analysis.profiles import cluster_profiles
    from explorer.analysis.scene import _single_threaded_blas, refresh_axes

    print(
        f"# analysis benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numpy {np.__version__}, median of {args.repeat}, load average {os.getloadavg()[0]:.1f} at start"
    )
    header = (
        "N",
        "filter",
        "PCA",
        "K-means 2..6",
        "axes",
        "profiles",
        "refresh",
        "refresh CPU",
        "zoom",
        "K",
        "approx",
        "target",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    failed = False
    for n in args.sizes:
        lib = synthetic_library(n, n_clusters=8, n_descriptors=20, seed=0)
        specs = pole_specs(lib.descriptor_names, specs=[])
        filt = TrackFilter.of(genres=["Jazz", "Rock"], emotions=["Romantic"])
        with _single_threaded_blas():
            t_filter = median_ms(lambda: filter_tracks(lib, filt), args.repeat)
            t_pca = median_ms(lambda: project_pca(lib.embeddings), args.repeat)
            t_km = median_ms(lambda: find_subcategories(lib.embeddings), args.repeat)
            coords = project_pca(lib.embeddings).coords
            t_axes = median_ms(lambda: interpret_axes(coords, lib.descriptors, specs), args.repeat)
            sub = find_subcategories(lib.embeddings)
            t_prof = median_ms(lambda: cluster_profiles(lib.descriptors, sub.labels, specs, sub.k), args.repeat)
        t_full = median_ms(lambda: build_map_scene(lib), args.repeat)
        t_cpu = median_ms(lambda: build_map_scene(lib), args.repeat, clock=time.process_time)
        scene = build_map_scene(lib)
        box = (0.0, float(scene.coords[:, 0].max()), float(scene.coords[:, 1].min()), float(scene.coords[:, 1].max()))
        t_zoom = median_ms(lambda: refresh_axes(scene, lib, box), args.repeat)
        target = TARGETS_MS.get(n)
        verdict = "" if target is None else (f"≤ {target:.0f} ms " + ("ok" if t_full <= target else "MISSED"))
        failed |= target is not None and t_full > target
        cells = (
            f"{n:,}",
            f"{t_filter:.1f}",
            f"{t_pca:.1f}",
            f"{t_km:.1f}",
            f"{t_axes:.1f}",
            f"{t_prof:.1f}",
            f"**{t_full:.1f}**",
            f"{t_cpu:.1f}",
            f"{t_zoom:.1f}",
            str(scene.k),
            "yes" if scene.approximate else "no",
            verdict,
        )
        print("| " + " | ".join(cells) + " |", flush=True)
    import resource

    print(f"(times in ms; peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
