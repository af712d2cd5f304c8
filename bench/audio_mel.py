"""Time decoding per format and the Melon mel (torch vs Essentia) on the demo library.

    python bench/audio_mel.py [FOLDER] [--threads 1] [--repeat 3]

Prints per-format medians for `load_excerpt` (30 s window at 30 %, resampled to 16 and 24 kHz), for a
whole-file decode by libsndfile vs Essentia on MP3 (why MP3 goes to libsndfile), and for one 30 s mel with
`melon_mel` vs `essentia_reference_mel`, plus the max abs difference between the two mels. Times are
process CPU times (best of --repeat).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _best(fn, repeat: int) -> float:
    """Best-of-`repeat` CPU time of this process: on a shared, busy machine wall time mostly measures the
    neighbours, while CPU time still measures the work (all code here runs on one thread)."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(ROOT / "resources" / "demo"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    import numpy as np
    import soundfile as sf
    import torch

    torch.set_num_threads(args.threads)
    import essentia

    essentia.log.infoActive = essentia.log.warningActive = False
    import essentia.standard as es

    from core.audio import load_audio, load_excerpt
    from core.features.mel import essentia_reference_mel, melon_mel

    files = sorted(
        p for p in Path(args.folder).iterdir() if p.suffix in {".ogg", ".mp3", ".opus", ".m4a", ".flac", ".wav"}
    )
    load_excerpt(files[0])
    for p in files:  # warm Essentia/ffmpeg once so its start-up cost is not billed to one format
        if p.suffix == ".m4a":
            load_excerpt(p)
            break
    excerpt, sf_mp3, es_mp3, mel_t, mel_e, err = (defaultdict(list) for _ in range(6))
    for p in files:
        excerpt[p.suffix].append(_best(lambda: load_excerpt(p), args.repeat))
        if p.suffix == ".mp3":
            sf_mp3["mp3"].append(_best(lambda: sf.read(p, dtype="float32"), args.repeat))
            es_mp3["mp3"].append(_best(lambda: es.AudioLoader(filename=str(p))(), args.repeat))
        wave = load_audio(p, 16000, start=0.0, duration=30.0)
        melon_mel(wave)
        mel_t["all"].append(_best(lambda: melon_mel(wave), args.repeat))
        mel_e["all"].append(_best(lambda: essentia_reference_mel(wave), args.repeat))
        err["all"].append(float(np.abs(melon_mel(wave) - essentia_reference_mel(wave)).max()))

    ms = lambda xs: f"{1000 * statistics.median(xs):7.1f} ms"  # noqa: E731
    print(f"{len(files)} files from {args.folder}, torch threads={args.threads}, CPU time per call")
    for suffix, xs in sorted(excerpt.items()):
        print(f"load_excerpt {suffix:6s} (16k+24k) median {ms(xs)}  (n={len(xs)})")
    if sf_mp3:
        print(f"whole MP3 decode: libsndfile {ms(sf_mp3['mp3'])}, Essentia AudioLoader {ms(es_mp3['mp3'])}")
    print(
        f"mel of 30 s: torch {ms(mel_t['all'])}, Essentia extractor {ms(mel_e['all'])}, "
        f"max abs diff {max(err['all']):.2e}"
    )


if __name__ == "__main__":
    main()
