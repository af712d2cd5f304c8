"""Write resources/tag_quadrants.json: how often each emotion tag co-occurs with each quadrant in 4Q's train split.

Teaching (core/calibration.py) moves a track's quadrant probabilities and must move its ranked tags with them; this
table says which tags belong to which quadrants. It is data from annotated clips (AllMusic moods -> tags through
resources/emotions.json, quadrant labels from the dataset), not a hand-made guess, and only `split=train` is read.

    python scripts/build_tag_quadrants.py --data /path/to/4q [--out resources/tag_quadrants.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.data.fourq import read_fourq  # noqa: E402
from core.emotions import QUADRANTS, TAGS  # noqa: E402


def tag_quadrant_counts(data: Path) -> np.ndarray:
    """(n_tags, 4) graded relevance summed per quadrant over the train clips."""
    counts = np.zeros((len(TAGS), len(QUADRANTS)), dtype=np.int64)
    for clip in read_fourq(data, split="train", require_audio=False):
        counts[:, clip.quadrant_index] += clip.relevance.astype(np.int64)
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="4Q folder (labels.csv with a split column)")
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "tag_quadrants.json")
    args = ap.parse_args()
    counts = tag_quadrant_counts(args.data)
    table = {
        "doc": (
            "Graded emotion-tag relevance (moods -> tags via emotions.json) summed per quadrant label over the"
            " 4Q dataset's split=train clips; written by scripts/build_tag_quadrants.py. Teaching uses the"
            " add-one smoothed rows as P(quadrant | tag) to carry a quadrant correction over to the tags."
        ),
        "source": "4Q (Panda et al. 2018) labels.csv, split=train",
        "quadrants": list(QUADRANTS),
        "counts": {tag: [int(v) for v in row] for tag, row in zip(TAGS, counts)},
    }
    text = json.dumps(table, indent=2)
    text = re.sub(r"\[\s+([^\]]*?)\s+\]", lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",") + "]", text)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({int(counts.sum())} tag-quadrant pairs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
