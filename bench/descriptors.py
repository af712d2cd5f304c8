"""Per-clip cost of the descriptor extractors on the demo library, and agreement with Essentia's per-frame chain.

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/descriptors.py
Target: lowlevel + interpretive <= ~0.15 s CPU per 30 s clip on one core (300 tracks/min on 2 cores).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.audio import load_audio  # noqa: E402
from core.features.interpretive import all_descriptors  # noqa: E402
from core.features.lowlevel import essentia_reference_frames, frame_flux  # noqa: E402
from core.features.spectral import analyse, spectral_centroid  # noqa: E402

SR = 16000


def essentia_chain(frames: np.ndarray) -> tuple[dict[str, np.ndarray], float]:
    """Essentia's per-frame reference and the CPU seconds it took."""
    start = time.process_time()
    ref = essentia_reference_frames(frames)
    return ref, time.process_time() - start


def main() -> None:
    files = sorted(p for p in (ROOT / "resources" / "demo").iterdir() if p.suffix != ".md")
    costs, ess_costs, errs = [], [], {"centroid": [], "flux": [], "energy": [], "dissonance": []}
    for path in files:
        wave = load_audio(path, SR)
        all_descriptors(wave)  # warm caches (filter banks)
        best = min(_timed(wave) for _ in range(3))
        costs.append(best)
        an = analyse(wave)
        ref, ess_cost = essentia_chain(an.frames)
        ess_costs.append(ess_cost)
        errs["centroid"].append(np.abs(spectral_centroid(an.mag, an.freqs) - ref["centroid"]).max())
        errs["flux"].append((np.abs(frame_flux(an.mag)[1:] - ref["flux"][1:]) / max(ref["flux"].max(), 1e-12)).max())
        errs["energy"].append((np.abs(an.frame_energy - ref["energy"]) / np.maximum(ref["energy"], 1e-12)).max())
        errs["dissonance"].append(np.abs(an.dissonance - ref["dissonance"][an.active]).max())
        print(
            f"{path.name:40s} {len(wave) / SR:5.1f}s  ours {best * 1000:6.1f} ms CPU   "
            f"essentia frame chain {ess_cost * 1000:6.1f} ms CPU"
        )
    print(
        f"\nours: median {np.median(costs) * 1000:.1f} ms, max {np.max(costs) * 1000:.1f} ms CPU per clip "
        f"(lowlevel + interpretive, one core)"
    )
    print(f"essentia centroid+flux+energy+peaks+dissonance loop alone: median {np.median(ess_costs) * 1000:.1f} ms")
    for k, v in errs.items():
        unit = "Hz" if k == "centroid" else ("abs" if k == "dissonance" else "rel")
        print(f"max per-frame deviation from Essentia, {k:10s}: {max(v):.2e} ({unit})")


def _timed(wave: np.ndarray) -> float:
    start = time.process_time()
    all_descriptors(wave)
    return time.process_time() - start


if __name__ == "__main__":
    main()
