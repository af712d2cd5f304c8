"""Export emotion-model checkpoints to ONNX for the torch-free runtime (needs the training extras: torch, onnx).

    python scripts/export_onnx.py                          # the shipped default model (+ its ensemble members)
    python scripts/export_onnx.py path/to/checkpoint ...   # any checkpoint folders

Writes `model.onnx` into each checkpoint folder and every member folder, then checks each export against torch
on random inputs (max abs difference printed; fails above 1e-4). Re-run whenever the weights change: a graph whose
source weights differ is refused at load time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from core.inference_base import default_model_dir
    from core.onnx_export import export_checkpoint, parity_error

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="*", type=Path, help="checkpoint folders (default: the shipped model)")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args(argv)
    status = 0
    for folder in args.checkpoints or [default_model_dir()]:
        for graph in export_checkpoint(folder):
            err = parity_error(graph.parent)
            ok = err <= args.tolerance
            status |= not ok
            print(f"{graph}: {graph.stat().st_size / 1e6:.2f} MB, max |onnx - torch| = {err:.2e}"
                  f"{'' if ok else '  FAILED'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
