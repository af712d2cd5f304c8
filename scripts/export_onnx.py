"""Export emotion-model checkpoints to ONNX for the torch-free runtime (needs the training extras: torch, onnx).

    python scripts/export_onnx.py                          # the shipped default model (+ members) and MusiCNN
    python scripts/export_onnx.py path/to/checkpoint ...   # any checkpoint folders
    python scripts/export_onnx.py --int8 --calibrate /data/4q  # also int8 graphs, calibrated on 4Q *train* clips

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
    ap.add_argument("--int8", action="store_true", help="also write model.int8.onnx (int8 convolutions)")
    ap.add_argument(
        "--calibrate",
        type=Path,
        default=None,
        help="4Q-style folder (its train split) or a folder of audio files for the int8 calibration",
    )
    ap.add_argument("--calibration-clips", type=int, default=64)
    args = ap.parse_args(argv)
    if args.int8 and args.calibrate is None:
        ap.error("--int8 needs --calibrate FOLDER (training audio, never the test split)")
    status = 0
    if not args.checkpoints:  # the shipped set: the default model and the MusiCNN tagger its features need
        from core.features.musicnn import default_weights
        from core.onnx_export import export_musicnn, musicnn_parity_error

        if default_weights().is_file():
            graph = export_musicnn()
            err = musicnn_parity_error()
            ok = err <= args.tolerance
            status |= not ok
            print(
                f"{graph}: {graph.stat().st_size / 1e6:.2f} MB, max |onnx - torch| = {err:.2e}"
                f"{'' if ok else '  FAILED'}"
            )
    for folder in args.checkpoints or [default_model_dir()]:
        for graph in export_checkpoint(folder):
            err = parity_error(graph.parent)
            ok = err <= args.tolerance
            status |= not ok
            print(
                f"{graph}: {graph.stat().st_size / 1e6:.2f} MB, max |onnx - torch| = {err:.2e}"
                f"{'' if ok else '  FAILED'}"
            )
        if args.int8:
            from core.onnx_export import quantize_checkpoint

            for graph in quantize_checkpoint(folder, calibration_files(args.calibrate, args.calibration_clips)):
                print(f"{graph}: {graph.stat().st_size / 1e6:.2f} MB (int8 convolutions)")
    return status


def calibration_files(folder: Path, n: int) -> list[Path]:
    """Evenly spread training clips: a 4Q-style folder's train split, else the folder's audio files."""
    from core.data.fourq import has_split_column, read_fourq

    if (folder / "labels.csv").is_file():
        clips = read_fourq(folder, "train" if has_split_column(folder) else None)
        files = [Path(c.audio_path) for c in clips]
    else:
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".opus", ".ogg", ".mp3", ".flac", ".wav"})
    if not files:
        raise SystemExit(f"no calibration audio in {folder}")
    step = max(1, len(files) // n)
    return files[::step][:n]


if __name__ == "__main__":
    sys.exit(main())
