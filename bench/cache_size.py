"""Bytes per track in the library cache: the old layout (full float16 mels) and the small default, measured on
the same indexed tracks, plus the in-place migration from one to the other.

    python bench/cache_size.py                                      # the 20 demo excerpts
    python bench/cache_size.py --source /data/4q/audio --tracks 200 # 200 4Q clips

Indexes copies of the files once with `keep_mels=True` (what every cache held before), measures, then runs the
migration (`drop_mels`: delete + VACUUM, likes kept) and measures again. Per-track bytes are the pages of the
per-track tables and indexes (SQLite's dbstat) divided by the track count; the whole file, including the fixed
pages of the schema (16 KiB each), is reported too. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AUDIO_EXT = {".ogg", ".mp3", ".opus", ".m4a", ".flac", ".wav"}


def measure(cache) -> dict:
    from explorer.library.compact import bytes_per_table

    cache.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n = cache.con.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
    fixed = ("sqlite_", "meta", "schema_migrations", "generation", "kept_likes")
    pages = {k: v for k, v in bytes_per_table(cache).items() if not k.startswith(fixed)}
    rows = {k: v for k, v in bytes_per_table(cache, payload=True).items() if not k.startswith(fixed)}
    return {
        "tracks": n,
        "file_bytes": os.path.getsize(cache.db_path),
        "file_bytes_per_track": round(os.path.getsize(cache.db_path) / n),
        "page_bytes_per_track": round(sum(pages.values()) / n),
        "row_bytes_per_track": round(sum(rows.values()) / n),
        "row_bytes_per_track_by_table": {k: round(v / n) for k, v in sorted(rows.items(), key=lambda kv: -kv[1])},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT / "resources" / "demo")
    parser.add_argument("--tracks", type=int, default=0, help="first N audio files of --source (0 = all)")
    parser.add_argument("--model", default="resources/models/default", help="checkpoint folder, or 'none'")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    from core.inference import EmotionModel
    from explorer.library.cache import LibraryCache
    from explorer.library.compact import drop_mels, set_keep_mels
    from explorer.library.indexer import index_library

    files = sorted(p for p in args.source.iterdir() if p.suffix.lower() in AUDIO_EXT)
    files = files[: args.tracks] if args.tracks else files
    model = None if args.model == "none" else EmotionModel.load(ROOT / args.model, device="cpu", profile="fast")
    with tempfile.TemporaryDirectory(prefix="qfx-cache-size-") as tmp:
        lib = Path(tmp) / "lib"
        lib.mkdir()
        for f in files:
            shutil.copy2(f, lib / f.name)
        cache = LibraryCache.open(lib, Path(tmp) / "cache")
        started = time.monotonic()
        summary = index_library(
            lib, cache, workers=args.workers, model=model if model is not None else False, keep_mels=True
        )
        elapsed = time.monotonic() - started
        for (tid,) in cache.con.execute("SELECT id FROM tracks LIMIT 5").fetchall():
            cache.set_like(int(tid), 1)
        old = measure(cache)
        started = time.monotonic()
        set_keep_mels(cache, False)  # the default setting: the next run (here: the migration alone) drops them
        notice = drop_mels(cache)
        migrate_s = time.monotonic() - started
        small = measure(cache)
        likes = len(cache.likes())
        cache.close()
    print(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "source": str(args.source),
                "analysed": summary.analysed,
                "index_seconds": round(elapsed, 1),
                "model": args.model,
                "with_mels": old,
                "small": small,
                "migration_seconds": round(migrate_s, 2),
                "likes_after_migration": likes,
                "notice": notice,
            }
        )
    )


if __name__ == "__main__":
    main()
