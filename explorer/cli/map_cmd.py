"""`qfx map FOLDER --out map.png`: the app's map of an indexed library, drawn headless.

The drawing itself is the window's (explorer.ui.map_render, so the PNG and the app show the same picture); it is
handed in by the command list, so this module never imports the window layer.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from explorer.cli.command import Command
from explorer.cli.errors import CommandError
from explorer.cli.library import add_library_arguments, load_analysed, open_indexed

if TYPE_CHECKING:
    from explorer.analysis.filtering import TrackFilter
    from explorer.analysis.scene import MapScene
    from explorer.library.arrays import LibraryArrays

MIN_SIZE = (320, 240)
MAX_SIZE = (8000, 8000)
Render = Callable[..., Path]  # (scene, out, (w, h), *, titles, title) -> the written PNG


def parse_k(value: str) -> int | Literal["auto"]:
    if value == "auto":
        return "auto"
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("K must be 'auto' or 2..6") from None
    if not 2 <= k <= 6:
        raise argparse.ArgumentTypeError("K must be 'auto' or 2..6")
    return k


def parse_size(value: str) -> tuple[int, int]:
    """'1200x900' -> (1200, 900), within MIN_SIZE..MAX_SIZE (smaller cannot hold the legend, larger is a typo)."""
    try:
        width, height = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1200x900, not {value!r}") from None
    if not (MIN_SIZE[0] <= width <= MAX_SIZE[0] and MIN_SIZE[1] <= height <= MAX_SIZE[1]):
        raise argparse.ArgumentTypeError(
            f"size {width}x{height} is outside {MIN_SIZE[0]}x{MIN_SIZE[1]} .. {MAX_SIZE[0]}x{MAX_SIZE[1]}"
        )
    return width, height


def output_path(out: str | os.PathLike[str]) -> Path:
    """The PNG to write; its folder must already exist (a typo must not create folders)."""
    path = Path(os.path.abspath(os.fspath(out)))
    if path.is_dir():
        raise CommandError(f"--out is a folder, not a file: {path}")
    if not path.parent.is_dir():
        raise CommandError(f"folder for --out does not exist: {path.parent}")
    return path


def require_present(arrays: LibraryArrays, filt: TrackFilter) -> None:
    """Every genre, emotion and quadrant asked for occurs in the library: asking for Jazz in a library without
    Jazz is as much an error as asking for an unknown emotion, not an empty map."""
    from explorer.analysis.filtering import TrackFilter, facet_counts, filter_mask

    filter_mask(arrays, filt)  # an unknown name raises AnalysisError, exactly as in the app
    everything = facet_counts(
        arrays, TrackFilter(emotion_top_k=filt.emotion_top_k, emotion_threshold=filt.emotion_threshold)
    )
    for what, wanted, present in (
        ("genre", filt.genres, everything.genres),
        ("emotion", filt.emotions, everything.emotions),
        ("quadrant", filt.quadrants, everything.quadrants),
    ):
        by_name = {name.casefold(): (name, n) for name, n in present.items()}
        for name in wanted:
            if by_name.get(name.strip().casefold(), ("", 0))[1] == 0:
                have = ", ".join(f"{n} ({c})" for n, c in present.items() if c) or "none"
                raise CommandError(f"no track in this library has {what} {name!r}; present: {have}")


@dataclass(frozen=True)
class MapResult:
    scene: MapScene
    title: str
    png: Path
    inferred_genres: int = 0  # tracks without a genre tag, whose genres come from the audio
    tracks: int = 0


def draw_map(
    arrays: LibraryArrays,
    library_name: str,
    filt: TrackFilter,
    k: int | Literal["auto"],
    out: Path,
    size: tuple[int, int],
    render: Render,
) -> MapResult:
    """Build the filtered, clustered, interpreted map of `arrays` and draw it to `out` with `render`."""
    from explorer.analysis import build_map_scene
    from explorer.analysis.display import k_text, track_titles

    require_present(arrays, filt)
    scene = build_map_scene(arrays, filt, k=k)
    title = f"{library_name} · {filt.describe()} · {len(scene)} tracks · {k_text(scene.k, scene.k_auto)}"
    png = render(scene, out, size, titles=track_titles(arrays), title=title)
    inferred = int(arrays.genre_inferred.sum()) if len(arrays.genre_inferred) == len(arrays) else 0
    return MapResult(scene, title, Path(png), inferred, len(arrays))


def report_lines(result: MapResult) -> list[str]:
    from explorer.analysis.display import axis_title

    scene = result.scene
    lines = [result.title]
    lines += [f"  {'x' if axis == 0 else 'y'}: {axis_title(scene, axis)}" for axis in (0, 1)]
    lines += [f"  {c + 1}: {profile.size} tracks, {profile.sentence}" for c, profile in enumerate(scene.profiles)]
    lines += [f"  note: {note}" for note in scene.notes]
    if result.inferred_genres:
        lines.append(
            f"  genres: {result.inferred_genres} of {result.tracks} tracks have no genre tag; their genres "
            "are inferred from audio (shown as 'Genre (from audio)')"
        )
    lines.append(f"wrote {result.png}")
    return lines


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_library_arguments(p)
    p.add_argument("--genre", action="append", default=[], metavar="G", help="keep tracks of this genre (repeatable)")
    p.add_argument(
        "--emotion", action="append", default=[], metavar="E", help="keep tracks with this emotion (repeatable)"
    )
    p.add_argument("--quadrant", action="append", default=[], metavar="Q", help="keep tracks in Q1..Q4 (repeatable)")
    p.add_argument("--k", type=parse_k, default="auto", help="subcategories: auto or 2..6 (default auto)")
    p.add_argument(
        "--size",
        type=parse_size,
        default=(1200, 900),
        help=f"image size WxH in pixels, {MIN_SIZE[0]}x{MIN_SIZE[1]} to {MAX_SIZE[0]}x{MAX_SIZE[1]} (default 1200x900)",
    )
    p.add_argument("--out", type=Path, required=True, help="PNG to write (its folder must exist)")


def adapter(render: Callable[[], Render]) -> Callable[[argparse.Namespace], int]:
    """The `run` of the map command, drawing with the renderer `render()` returns (imported only when run)."""

    def run(args: argparse.Namespace) -> int:
        from explorer.analysis import TrackFilter

        out = output_path(args.out)
        filt = TrackFilter.of(genres=args.genre, emotions=args.emotion, quadrants=args.quadrant)
        with open_indexed(args.folder, args.cache) as cache:
            arrays = load_analysed(cache, args.folder)
        result = draw_map(arrays, Path(os.path.abspath(args.folder)).name, filt, args.k, out, args.size, render())
        print("\n".join(report_lines(result)))
        return 0

    return run


def command(render: Callable[[], Render]) -> Command:
    return Command(
        "map",
        "draw the map of an indexed library to a PNG",
        add_arguments,
        adapter(render),
        "Draw the explorer's map (filtered, clustered, axes interpreted) to a PNG.",
    )
