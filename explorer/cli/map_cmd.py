"""`qfx map FOLDER --out map.png`: the app's map of an indexed library, drawn headless."""

from __future__ import annotations

import argparse
from pathlib import Path


def _k(value: str):
    if value == "auto":
        return "auto"
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("K must be 'auto' or 2..6") from None
    if not 2 <= k <= 6:
        raise argparse.ArgumentTypeError("K must be 'auto' or 2..6")
    return k


def register(subparsers) -> None:
    p = subparsers.add_parser("map", help="draw the map of an indexed library to a PNG",
                              description="Draw the explorer's map (filtered, clustered, axes interpreted) to a PNG.")
    p.add_argument("folder", type=Path, help="the library folder (index it first with `qfx index`)")
    p.add_argument("--genre", action="append", default=[], metavar="G", help="keep tracks of this genre (repeatable)")
    p.add_argument("--emotion", action="append", default=[], metavar="E", help="keep tracks with this emotion (repeatable)")
    p.add_argument("--quadrant", action="append", default=[], metavar="Q", help="keep tracks in Q1..Q4 (repeatable)")
    p.add_argument("--k", type=_k, default="auto", help="subcategories: auto or 2..6 (default auto)")
    p.add_argument("--cache", type=Path, metavar="DIR", help="cache folder (default: QFX_CACHE_DIR or the user cache)")
    p.add_argument("--size", default="1200x900", help="image size WxH in pixels (default 1200x900)")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from explorer.analysis import TrackFilter, build_map_scene
    from explorer.library.cache import open_indexed
    from explorer.ui.map_items import axis_title, titles_for
    from explorer.ui.map_render import render_scene_png

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 1200x900, not {args.size!r}") from None
    with open_indexed(args.folder, args.cache) as cache:  # read-only: creates nothing, works on read-only media
        arrays = cache.load_arrays(muq=False)
    if not len(arrays):
        raise ValueError(f"no analysed tracks for {args.folder}: run `qfx index {args.folder}` first")
    filt = TrackFilter.of(genres=args.genre, emotions=args.emotion, quadrants=args.quadrant)
    scene = build_map_scene(arrays, filt, k=args.k)
    k_text = f"K = {scene.k}" + (" (auto)" if scene.k_auto else "")
    title = f"{args.folder.resolve().name} · {filt.describe()} · {len(scene)} tracks · {k_text}"
    out = render_scene_png(scene, args.out, (width, height), titles=titles_for(arrays), title=title)
    print(title)
    for axis in (0, 1):
        print(f"  {'x' if axis == 0 else 'y'}: {axis_title(scene, axis)}")
    for c, profile in enumerate(scene.profiles):
        print(f"  {c + 1}: {profile.size} tracks, {profile.sentence}")
    for note in scene.notes:
        print(f"  note: {note}")
    inferred = int(arrays.genre_inferred.sum()) if len(arrays.genre_inferred) == len(arrays) else 0
    if inferred:
        print(f"  genres: {inferred} of {len(arrays)} tracks have no genre tag; their genres are inferred from audio"
              f" (shown as 'Genre (from audio)')")
    print(f"wrote {out}")
    return 0
