"""Choose the per-genre thresholds of genre-from-audio on 4Q split=train and write them into the mapping table.

    python scripts/choose_genre_threshold.py --data /path/to/4q [--features 4q_musicnn.npz ...] [--dry-run]

For every app genre that has MSD evidence tags (resources/musicnn_genres.json), the threshold on its score (the
highest activation among its tags) with the best F1 against the clips' AllMusic genres among those whose precision
is at least --min-precision is chosen on the training clips only: a wrong genre shown as fact is worse than none,
and the floor also keeps "everything is Pop/Rock" out (its precision is Pop/Rock's share, 0.42). A genre with no
such threshold, a best F1 under --min-f1, or fewer than --min-positives training clips gets null (never inferred).
split=test is only used afterwards, to report precision and recall.

MusiCNN features are computed for every clip (16 kHz, the 30 s analysis excerpt, as indexing does) unless
--features names an npz with `song_ids` and `musicnn` (N, 250: 200-d embedding, then the 50 tag activations);
--save-features writes that file for the next run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from a checkout: the imports below need the repository root

from core.data.fourq import read_fourq  # noqa: E402
from core.features.genre import GENRE_INDEX, GENRES, canonical_genres  # noqa: E402
from core.features.genre_infer import (  # noqa: E402
    TABLE_NAME,
    genre_scores,
    genre_vectors_from_tags,
    rules,
)
from core.features.musicnn_tags import ANALYSIS_PATCHES  # noqa: E402
from core.features.track import EXTRACTOR_VERSION  # noqa: E402
from core.resources import resource_path  # noqa: E402

GRID = np.round(np.arange(0.02, 0.96, 0.01), 2)


def _features(clips: list, args: argparse.Namespace) -> np.ndarray:
    if args.features:
        table: dict[str, np.ndarray] = {}
        for path in args.features:  # several files (e.g. shards) merge by song id
            with np.load(path) as data:
                table.update({str(s): v for s, v in zip(data["song_ids"], data["musicnn"])})
        missing = [c.song_id for c in clips if c.song_id not in table]
        if missing:
            raise SystemExit(f"--features lack {len(missing)} clips, e.g. {missing[:3]}")
        return np.stack([table[c.song_id] for c in clips]).astype(np.float32)
    from core.audio import load_excerpt
    from core.features.musicnn import load_musicnn

    model = load_musicnn()
    out = []
    for i, clip in enumerate(clips):
        emb, tags = model.embed([load_excerpt(clip.audio_path, rates=(16000,)).audio[16000]])
        out.append(np.concatenate([emb[0], tags[0]]))
        if i % 50 == 0:
            print(f"  musicnn {i}/{len(clips)}", file=sys.stderr, flush=True)
    feats = np.stack(out).astype(np.float32)
    if args.save_features:
        np.savez(args.save_features, song_ids=np.array([c.song_id for c in clips]), musicnn=feats)
    return feats


def _truth(clips: list) -> np.ndarray:
    y = np.zeros((len(clips), len(GENRES)), dtype=bool)
    for i, clip in enumerate(clips):
        for g in canonical_genres(list(clip.genres)):
            y[i, GENRE_INDEX[g]] = True
    return y


def _prf(pred: np.ndarray, true: np.ndarray) -> tuple[float, float, float]:
    tp, fp, fn = int((pred & true).sum()), int((pred & ~true).sum()), int((~pred & true).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def choose(
    table: dict, scores: np.ndarray, truth: np.ndarray, min_f1: float, min_pos: int, min_precision: float
) -> dict:
    """Per genre: the grid threshold with the best training F1 among those precise enough (ties: the higher)."""
    thresholds, stats = {}, {}
    for genre in table["tags"]:
        g = GENRE_INDEX[genre]
        pos = int(truth[:, g].sum())
        options = [(_prf(scores[:, g] >= t, truth[:, g]), t) for t in GRID]
        precise = [o for o in options if o[0][0] >= min_precision] or [((0.0, 0.0, 0.0), float(GRID[-1]))]
        (p, r, f1), t = max(precise, key=lambda x: (x[0][2], x[1]))
        keep = pos >= min_pos and f1 >= min_f1 and p >= min_precision
        thresholds[genre] = float(t) if keep else None
        stats[genre] = {
            "positives": pos,
            "threshold": float(t),
            "precision": round(p, 3),
            "recall": round(r, 3),
            "f1": round(f1, 3),
            "used": keep,
        }
    return {"thresholds": thresholds, "train": stats}


def report(table: dict, tags: np.ndarray, truth: np.ndarray, title: str) -> list[str]:
    """Markdown rows: per inferable genre, then micro-averaged over them and clip-level coverage."""
    pred = genre_vectors_from_tags(tags, table).astype(bool)
    used = [g for g, t in table["thresholds"].items() if t is not None]
    lines = [
        f"### {title} ({len(tags)} clips)",
        "",
        "| genre | clips | threshold | precision | recall | F1 |",
        "|---|---|---|---|---|---|",
    ]
    for genre in used:
        g = GENRE_INDEX[genre]
        p, r, f1 = _prf(pred[:, g], truth[:, g])
        lines.append(
            f"| {genre} | {int(truth[:, g].sum())} | {table['thresholds'][genre]:.2f} | {p:.2f} | {r:.2f} | {f1:.2f} |"
        )
    cols = [GENRE_INDEX[g] for g in used]
    p, r, f1 = _prf(pred[:, cols], truth[:, cols])
    lines.append(f"| **micro, these genres** | | | **{p:.2f}** | **{r:.2f}** | **{f1:.2f}** |")
    any_pred = pred[:, cols].any(axis=1)
    hit = (pred[:, cols] & truth[:, cols]).any(axis=1)
    lines += [
        "",
        (
            f"- clips given at least one genre: {any_pred.mean():.0%}; of those, at least one genre right: "
            f"{hit[any_pred].mean() if any_pred.any() else 0:.0%}"
        ),
        (
            f"- recall over all of the clips' genres (including those the tags cannot name): "
            f"{(pred[:, cols] & truth[:, cols]).sum() / max(1, truth[:, :-1].sum()):.2f}"
        ),
        "",
    ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--features", type=Path, nargs="+", help="npz file(s) with song_ids and musicnn (N, 250)")
    ap.add_argument("--save-features", type=Path)
    ap.add_argument("--min-f1", type=float, default=0.2)
    ap.add_argument("--min-precision", type=float, default=0.5)
    ap.add_argument("--min-positives", type=int, default=10)
    ap.add_argument("--dry-run", action="store_true", help="print, do not write the table")
    args = ap.parse_args()

    clips = read_fourq(args.data)
    feats = _features(clips, args)
    tags = feats[:, -50:]
    split = np.array([c.split for c in clips])
    truth = _truth(clips)
    path = resource_path(TABLE_NAME)
    table = json.loads(path.read_text(encoding="utf-8"))
    evidence, _ = rules(table)
    train = split == "train"
    chosen = choose(
        table, genre_scores(tags[train], evidence), truth[train], args.min_f1, args.min_positives, args.min_precision
    )
    table["thresholds"] = chosen["thresholds"]
    table["chosen_on"] = {
        "data": "4Q emotion dataset, split=train, column genres (AllMusic)",
        "clips": int(train.sum()),
        "features": f"MusiCNN-MSD tag activations averaged over {ANALYSIS_PATCHES} evenly spaced 3 s patches of the "
        f"30 s analysis excerpt (extractor {EXTRACTOR_VERSION})",
        "rule": f"per genre, the threshold in {GRID[0]}..{GRID[-1]} (step 0.01) with the best F1 among those with "
        f"precision >= {args.min_precision}; null when there is none, its F1 < {args.min_f1}, or fewer than "
        f"{args.min_positives} positive clips",
        "date": dt.date.today().isoformat(),
        "train": chosen["train"],
    }
    print("\n".join(report(table, tags[train], truth[train], "4Q split=train (thresholds chosen here)")))
    print("\n".join(report(table, tags[~train], truth[~train], "4Q split=test")))
    if not args.dry_run:
        path.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote thresholds to {path}")


if __name__ == "__main__":
    main()
