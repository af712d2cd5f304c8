"""`qfx recommend FOLDER --like PATH...`: tracks of an indexed library ranked by closeness to what you like."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Sequence


class RecommendError(Exception):
    """A user-facing problem: library not indexed, a path not in it, nothing to recommend from."""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("recommend", help="recommend tracks of an indexed folder from liked/disliked tracks")
    p.add_argument("folder", type=Path, help="the music folder (indexed with `qfx index FOLDER`)")
    p.add_argument("--like", type=Path, nargs="+", default=[], metavar="PATH", help="tracks you like")
    p.add_argument("--dislike", type=Path, nargs="+", default=[], metavar="PATH", help="tracks you dislike")
    p.add_argument("--n", type=int, default=10, help="how many recommendations (default 10)")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="cache folder (default: $QFX_CACHE_DIR or the user cache dir)")
    p.add_argument("--no-stored", action="store_true",
                   help="ignore the likes saved in the library (from the app or --save)")
    p.add_argument("--save", action="store_true", help="remember these likes/dislikes in the library")
    p.add_argument("--m3u8", type=Path, default=None, metavar="OUT", help="also write the list as a playlist")
    p.set_defaults(func=run)


def _key(path: str | os.PathLike) -> str:
    return os.path.normcase(os.path.abspath(os.fspath(path)))


def _rows_for(paths: Sequence[Path], folder: Path, index: dict[str, int], what: str) -> list[int]:
    """Paths may be given relative to the working folder or to the library folder."""
    rows = []
    for p in paths:
        for candidate in (p, folder / p):
            row = index.get(_key(candidate))
            if row is None:
                row = index.get(_key(os.path.realpath(candidate)))
            if row is not None:
                rows.append(row)
                break
        else:
            raise RecommendError(f"{what} track not in the analysed library: {p}")
    return rows


def open_indexed(folder: Path, cache_dir: Path | None, *, readonly: bool = True):
    """The library's cache, refusing (without creating anything) when the folder was never indexed."""
    from explorer.library.cache import CacheError, LibraryCache
    from explorer.library.cache import open_indexed as open_cache

    try:
        cache = open_cache(folder, cache_dir)
        if not readonly:  # --save writes likes: reopen for writing now that the cache is known to exist
            cache.close()
            cache = LibraryCache.open(folder, cache_dir)
        return cache
    except CacheError as exc:
        raise RecommendError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    from explorer.analysis.playlists import save_m3u8
    from explorer.analysis.recommend import liked_rows, recommend

    if args.n < 1:
        raise RecommendError("--n must be at least 1")
    folder = Path(os.path.abspath(args.folder))
    with open_indexed(folder, args.cache, readonly=not args.save) as cache:
        arrays = cache.load_arrays(muq=False)
        if len(arrays) == 0:
            counts = cache.counts()
            why = ("its tracks have features but no emotion-model results (no model was installed when indexing)"
                   if counts.get("done") else "no track was analysed successfully")
            raise RecommendError(f"nothing to recommend from in {folder}: {why}; run `qfx index {args.folder}`")
        index = {_key(p): i for i, p in enumerate(arrays.paths)}
        likes = _rows_for(args.like, folder, index, "liked")
        dislikes = _rows_for(args.dislike, folder, index, "disliked")
        if set(likes) & set(dislikes):
            raise RecommendError("a track cannot be both liked and disliked")
        stored_likes, stored_dislikes = liked_rows(arrays.liked) if not args.no_stored else ([], [])
        given = set(likes) | set(dislikes)  # what is given now overrides what was stored
        all_likes = sorted(set(likes) | {int(r) for r in stored_likes if r not in given})
        all_dislikes = sorted(set(dislikes) | {int(r) for r in stored_dislikes if r not in given})
        if not all_likes and not all_dislikes:
            raise RecommendError("give at least one --like (or --dislike) track")
        if args.save:
            for row in likes:
                cache.set_like(int(arrays.track_ids[row]), 1)
            for row in dislikes:
                cache.set_like(int(arrays.track_ids[row]), -1)

    titles = [t or Path(p).stem for t, p in zip(arrays.titles, arrays.paths)]
    recs = recommend(arrays.embeddings, all_likes, all_dislikes, n=args.n, titles=titles)
    stored = len(all_likes) + len(all_dislikes) - len(likes) - len(dislikes)
    print(f"from {len(all_likes)} liked and {len(all_dislikes)} disliked tracks"
          + (f" ({stored} remembered in the library)" if stored else "") + f", among {len(arrays)} analysed:")
    if not recs:
        print("no other analysed tracks to recommend")
    for rank, rec in enumerate(recs, 1):
        artist = arrays.artists[rec.index]
        name = f"{artist} – {titles[rec.index]}" if artist else titles[rec.index]
        print(f"{rank:>3}. {name}  (score {rec.score:+.2f})")
        print(f"     {arrays.paths[rec.index]}")
        print(f"     {rec.explanation}")
    if args.m3u8 is not None and recs:
        saved = save_m3u8([arrays.paths[r.index] for r in recs], args.m3u8,
                          titles=[titles[r.index] for r in recs],
                          durations=[float(arrays.durations[r.index]) for r in recs])
        print(f"playlist: {saved.path} ({saved.written} tracks)")
        for why in saved.skipped:
            print(f"  skipped (M3U8 cannot hold this path): {why}")
    if args.save:
        print(f"saved {len(likes)} like(s) and {len(dislikes)} dislike(s) in the library")
    return 0
