"""`qfx recommend FOLDER --like PATH...`: tracks of an indexed library ranked by closeness to what you like."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.cli.command import Command
from explorer.cli.errors import CommandError
from explorer.cli.library import add_library_arguments, load_analysed, open_indexed

if TYPE_CHECKING:
    from explorer.analysis.recommend import Recommendation
    from explorer.library.arrays import LibraryArrays
    from explorer.library.cache import LibraryCache


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(os.fspath(path)))


def rows_for(paths: Sequence[Path], folder: Path, arrays: LibraryArrays, what: str) -> list[int]:
    """Rows of `arrays` for `paths`, given relative to the working folder or to the library folder."""
    index = {_key(p): i for i, p in enumerate(arrays.paths)}
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
            raise CommandError(f"{what} track not in the analysed library: {p}")
    return rows


@dataclass
class Taste:
    """Rows liked and disliked now, and the full sets once the ones stored in the library are added."""

    likes: list[int]
    dislikes: list[int]
    all_likes: list[int] = field(default_factory=list)
    all_dislikes: list[int] = field(default_factory=list)

    @property
    def remembered(self) -> int:
        return len(self.all_likes) + len(self.all_dislikes) - len(self.likes) - len(self.dislikes)


def gather_taste(arrays: LibraryArrays, likes: list[int], dislikes: list[int], *, use_stored: bool) -> Taste:
    """What is given now, plus (with `use_stored`) what the library remembers; given rows override stored ones."""
    from explorer.analysis.recommend import liked_rows

    if set(likes) & set(dislikes):
        raise CommandError("a track cannot be both liked and disliked")
    stored_likes, stored_dislikes = liked_rows(arrays.liked) if use_stored else ([], [])
    given = set(likes) | set(dislikes)
    taste = Taste(
        likes,
        dislikes,
        sorted(set(likes) | {int(r) for r in stored_likes if r not in given}),
        sorted(set(dislikes) | {int(r) for r in stored_dislikes if r not in given}),
    )
    if not taste.all_likes and not taste.all_dislikes:
        raise CommandError("give at least one --like (or --dislike) track")
    return taste


def save_taste(cache: LibraryCache, arrays: LibraryArrays, taste: Taste) -> None:
    for row in taste.likes:
        cache.set_like(int(arrays.track_ids[row]), 1)
    for row in taste.dislikes:
        cache.set_like(int(arrays.track_ids[row]), -1)


def recommend_for(arrays: LibraryArrays, taste: Taste, n: int) -> list[Recommendation]:
    from explorer.analysis.display import track_titles
    from explorer.analysis.recommend import recommend

    if n < 1:
        raise CommandError("--n must be at least 1")
    return recommend(arrays.embeddings, taste.all_likes, taste.all_dislikes, n=n, titles=track_titles(arrays))


def report_lines(arrays: LibraryArrays, taste: Taste, recs: list[Recommendation]) -> list[str]:
    from explorer.analysis.display import track_title

    lines = [
        f"from {len(taste.all_likes)} liked and {len(taste.all_dislikes)} disliked tracks"
        + (f" ({taste.remembered} remembered in the library)" if taste.remembered else "")
        + f", among {len(arrays)} analysed:"
    ]
    if not recs:
        lines.append("no other analysed tracks to recommend")
    for rank, rec in enumerate(recs, 1):
        title, artist = track_title(arrays, rec.index), arrays.artists[rec.index]
        lines.append(f"{rank:>3}. {f'{artist} – {title}' if artist else title}  (score {rec.score:+.2f})")
        lines.append(f"     {arrays.paths[rec.index]}")
        lines.append(f"     {rec.explanation}")
    return lines


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_library_arguments(p)
    p.add_argument("--like", type=Path, nargs="+", default=[], metavar="PATH", help="tracks you like")
    p.add_argument("--dislike", type=Path, nargs="+", default=[], metavar="PATH", help="tracks you dislike")
    p.add_argument("--n", type=int, default=10, help="how many recommendations (default 10)")
    p.add_argument(
        "--no-stored", action="store_true", help="ignore the likes saved in the library (from the app or --save)"
    )
    p.add_argument("--save", action="store_true", help="remember these likes/dislikes in the library")
    p.add_argument("--m3u8", type=Path, default=None, metavar="OUT", help="also write the list as a playlist")


def run(args: argparse.Namespace) -> int:
    from explorer.analysis.display import track_title
    from explorer.analysis.playlists import save_m3u8

    folder = Path(os.path.abspath(args.folder))
    with open_indexed(folder, args.cache, writable=args.save) as cache:
        arrays = load_analysed(cache, args.folder)
        taste = gather_taste(
            arrays,
            rows_for(args.like, folder, arrays, "liked"),
            rows_for(args.dislike, folder, arrays, "disliked"),
            use_stored=not args.no_stored,
        )
        recs = recommend_for(arrays, taste, args.n)
        if args.save:
            save_taste(cache, arrays, taste)
    print("\n".join(report_lines(arrays, taste, recs)))
    if args.m3u8 is not None and recs:
        saved = save_m3u8(
            [arrays.paths[r.index] for r in recs],
            args.m3u8,
            titles=[track_title(arrays, r.index) for r in recs],
            durations=[float(arrays.durations[r.index]) for r in recs],
        )
        print(f"playlist: {saved.path} ({saved.written} tracks)")
        for why in saved.skipped:
            print(f"  skipped (M3U8 cannot hold this path): {why}")
    if args.save:
        print(f"saved {len(taste.likes)} like(s) and {len(taste.dislikes)} dislike(s) in the library")
    return 0


COMMAND = Command("recommend", "recommend tracks of an indexed folder from liked/disliked tracks", add_arguments, run)
