"""Per-track arousal of the demo library under a model, both protocols: P(Q1) + P(Q2) (the high-arousal half).

    python scripts/demo_arousal.py --model resources/models/default [--demo resources/demo] [--json out.json]

Demo files carry their own genre tags (metadata protocol); the audio protocol feeds genres inferred from the
MusiCNN tags instead. Used for docs/results.md's before/after table (energetic orchestral tracks came out calm).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

AUDIO_EXT = {".ogg", ".mp3", ".opus", ".m4a", ".flac", ".wav"}


def main() -> None:
    import numpy as np

    from core.datasets import inferred_genres
    from core.feature_cache import FeatureCache
    from core.features.track import model_inputs
    from core.inference import EmotionModel

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--demo", default=str(Path(__file__).resolve().parent.parent / "resources" / "demo"))
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    files = sorted(p for p in Path(args.demo).iterdir() if p.suffix.lower() in AUDIO_EXT)
    feats = FeatureCache(args.cache_dir).get_many(files, musicnn=True)
    model = EmotionModel.load(args.model, device="cpu", expected_extractor_version=None)
    inputs = model_inputs(feats, with_genre=False)
    genres = {"metadata": np.stack([f.genre for f in feats]), "audio": inferred_genres(inputs["musicnn"])}
    rows = {}
    for protocol, g in genres.items():
        probs = model.predict(genre=g, **inputs).quadrant_probs
        for f, p in zip(files, probs, strict=True):
            rows.setdefault(f.stem, {})[protocol] = {
                "arousal": float(p[0] + p[1]),
                "quadrant": f"Q{int(p.argmax()) + 1}",
            }
    for name, r in rows.items():
        print(f"{name:36s} " + "  ".join(f"{k}: {v['arousal']:.2f} {v['quadrant']}" for k, v in r.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"model": args.model or "default", "tracks": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
