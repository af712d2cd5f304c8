"""The paper's case study on 4Q: the map of the Jazz × Romantic clips, selected by their GROUND-TRUTH labels.

    python bench/case_study.py [--fourq DIR] [--pack FILE.npz] [--model DIR] [--genre Jazz] [--emotion Romantic]
                               [--png docs/case-study.png] [--size 1000x750]

Features come from a packed feature file (`core.datasets.save_packed`, `--pack`) or from the feature cache
(extracting what is missing). The emotion model (`--model`, default: the shipped one) predicts embeddings, tag
scores and quadrants; genres are the dataset's labels (they are a model input). The selection uses the labels:
the clip's genres contain GENRE and its moods map to EMOTION (`core.emotions`). The map is drawn with the app's
renderer. Prints a markdown report: K and its scores, axis labels, subcategory profiles and representatives, and
how well the model's own emotion filter (top-3) recovers the ground-truth selection.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_features(clips, pack: Path | None):
    from core.datasets import build_arrays, load_packed

    if pack is None:
        from core.feature_cache import FeatureCache

        return build_arrays(clips, FeatureCache(), show_bar=True)
    arrays, _ = load_packed(pack)
    index = {s: i for i, s in enumerate(arrays.song_ids)}
    missing = [c.song_id for c in clips if c.song_id not in index]
    if missing:
        raise SystemExit(f"{len(missing)} clips missing from {pack}, e.g. {missing[:3]}")
    return arrays.subset([index[c.song_id] for c in clips])


def _unmangle(text: str) -> str:
    """Some 4Q labels are UTF-8 read as Latin-1 ("VivirÃ©"); undo that where it round-trips cleanly."""
    try:
        fixed = text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    return fixed


def library_arrays(clips, feats, preds):
    import numpy as np

    from core.emotions import TAGS
    from core.features.genre import GENRES
    from core.features.interpretive import DESCRIPTOR_NAMES
    from explorer.library.arrays import LibraryArrays

    n = len(clips)
    if feats.interpretive is None:
        raise SystemExit("the features carry no interpretive descriptors: the axes cannot be interpreted")
    return LibraryArrays(
        track_ids=np.arange(1, n + 1, dtype=np.int64),
        paths=[str(c.audio_path) for c in clips],
        titles=[_unmangle(c.title) or c.song_id for c in clips],
        artists=[_unmangle(c.artist) for c in clips],
        albums=["" for _ in clips],
        genre_names=list(GENRES),
        genres=feats.genre.astype(np.float32),
        tag_names=list(TAGS),
        tag_scores=preds.tag_scores,
        quadrant_probs=preds.quadrant_probs,
        embeddings=preds.embeddings,
        descriptor_names=list(DESCRIPTOR_NAMES),
        descriptors=feats.interpretive.astype(np.float32),
        durations=np.full(n, 30.0, dtype=np.float32),
        excerpt_starts=np.zeros(n, dtype=np.float32),
        liked=np.zeros(n, dtype=np.int8),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fourq", type=Path, default=ROOT.parent / "shared" / "data" / "4q")
    parser.add_argument("--pack", type=Path, default=None, help="packed features (.npz) instead of the feature cache")
    parser.add_argument("--model", type=Path, default=None, help="emotion model folder (default: the shipped one)")
    parser.add_argument("--genre", default="Jazz")
    parser.add_argument("--emotion", default="Romantic")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "case-study.png")
    parser.add_argument("--size", default="1000x750")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np

    from core.data.fourq import read_fourq
    from core.emotions import TAGS
    from core.inference import EmotionModel
    from explorer.analysis import TrackFilter, build_map_scene, filter_mask, refresh_axes
    from explorer.ui.map_items import axis_title
    from explorer.ui.map_render import render_scene_png

    all_clips = read_fourq(args.fourq)
    # only the clips of the genre need a prediction: the map and the filter comparison live inside it
    clips = [c for c in all_clips if any(g.strip().casefold() == args.genre.casefold() for g in c.genres)]
    if not clips:
        raise SystemExit(f"no {args.genre} clips in {args.fourq}")
    feats = load_features(clips, args.pack)
    model = EmotionModel.load(args.model)
    if model.uses_muq and feats.muq is None:
        raise SystemExit("this model needs MuQ embeddings, which the features lack")
    preds = model.predict(mel=feats.mel, lowlevel=feats.lowlevel, genre=feats.genre, muq=feats.muq)
    arrays = library_arrays(clips, feats, preds)

    tag = TAGS.index(args.emotion)
    truth = np.array([c.relevance[tag] > 0 for c in clips])
    scene = build_map_scene(arrays, subset=truth, seed=args.seed)
    titles = [f"{a} – {t}" if a else t for a, t in zip(arrays.artists, arrays.titles)]
    width, height = (int(v) for v in args.size.lower().split("x"))
    title = f"4Q · {args.genre} × {args.emotion} (ground truth) · {len(scene)} clips · K = {scene.k}"
    render_scene_png(scene, args.png, (width, height), titles=titles, title=title)

    predicted = filter_mask(arrays, TrackFilter.of(genres=[args.genre], emotions=[args.emotion]))
    hit = int((predicted & truth).sum())
    print(f"## {args.genre} × {args.emotion} on 4Q (ground-truth selection)\n")
    print(f"- model: {model.version} (branches: {', '.join(model.branches)})")
    print(f"- {args.genre} clips: {len(clips)}; of these {int(truth.sum())} carry {args.emotion} in their mood labels")
    print(
        f"- the model's own filter ({args.emotion} in its top-3 tags) selects {int(predicted.sum())} {args.genre} "
        f"clips, {hit} of them in the ground-truth selection (precision {hit / max(predicted.sum(), 1):.2f}, "
        f"recall {hit / max(truth.sum(), 1):.2f})"
    )
    print(f"- PCA: PC1 {scene.explained_variance[0]:.0%}, PC2 {scene.explained_variance[1]:.0%} of the variance")
    print(f"- K = {scene.k} ({'chosen by the separation criterion' if scene.k_auto else 'user'})\n")
    print("| K | separation | silhouette | smallest |\n|---|---|---|---|")
    for s in scene.k_scores:
        mark = " ←" if s.k == scene.k else ""
        print(f"| {s.k}{mark} | {s.separation:.2f} | {s.silhouette:.2f} | {s.min_size} |")
    print("\n**Axes**\n")
    for axis in (0, 1):
        label = scene.axis_labels[axis]
        ranking = ", ".join(f"{d} {r:+.2f}" for d, r in label.ranking[:4])
        print(f"- {'x' if axis == 0 else 'y'}: {axis_title(scene, axis)} — p = {label.p_value:.3g}; top: {ranking}")
    print("\n**Subcategories**\n")
    for c, profile in enumerate(scene.profiles):
        rep = int(scene.representatives[c])
        terms = ", ".join(f"{d} {z:+.1f} SD" for d, z in profile.terms)
        print(
            f"- {c + 1} ({scene.colours[c]}, {profile.size} clips): {profile.sentence}"
            + (f" ({terms})" if terms else "")
            + f"; representative: {titles[rep]}"
        )
    for note in scene.notes:
        print(f"- note: {note}")
    print("\n**Zoomed into one subcategory** (axes re-interpreted over its clips only, as when zooming the map)\n")
    for c in range(scene.k):
        members = scene.labels == c
        if members.sum() < 8:
            continue
        zoomed = refresh_axes(scene, arrays, members)
        texts = "; ".join(f"{'x' if a == 0 else 'y'}: {zoomed.axis_labels[a].text}" for a in (0, 1))
        print(f"- subcategory {c + 1} ({int(members.sum())} clips): {texts}")
    print(f"\nmap: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
