"""Teaching on the real demo library indexed with the shipped model: calibration, storage, `qfx teach`/`qfx export`."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.analysis.display import index_summary_lines
from explorer.library.cache import LibraryCache
from explorer.library.teaching import (
    TEACH_KINDS,
    Correction,
    TeachingError,
    add_correction,
    list_corrections,
    remove_correction,
    reset_corrections,
)

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


@pytest.fixture(scope="module")
def library(demo_dir, tmp_path_factory) -> tuple[Path, Path]:
    """The demo copied and indexed with the shipped default model (the one users get)."""
    from core.inference import default_model_dir
    from explorer.library.indexer import index_library

    base = tmp_path_factory.mktemp("teach")
    root, cache_dir = base / "library", base / "cache"
    shutil.copytree(demo_dir, root)
    with LibraryCache.open(root, cache_dir) as cache:
        summary = index_library(root, cache, workers=2, model=str(default_model_dir()))
    assert not summary.failed, summary.failed
    return root, cache_dir


@pytest.fixture()
def cache(library):
    with LibraryCache.open(*library) as c:
        reset_corrections(c)
        yield c


def _row(arrays, stem: str) -> int:
    return [Path(p).stem for p in arrays.paths].index(stem)


def test_battle_epic_as_q2_lifts_frantic_and_leaves_sad(cache, library):
    raw = cache.load_arrays()
    assert raw.corrections_applied == 0 and raw.raw_quadrant_probs is raw.quadrant_probs
    add_correction(cache, library[0] / "wesnoth_battle-epic.mp3", "Q2")
    arrays = cache.load_arrays()
    assert arrays.corrections_applied == 1
    epic, frantic, sad = (_row(arrays, s) for s in ("wesnoth_battle-epic", "wesnoth_frantic", "wesnoth_sad"))
    q = arrays.quadrant_probs
    assert q[epic].argmax() == 1, q[epic]  # the taught track shows what it was taught
    assert q[frantic, :2].sum() > 0.5, (raw.quadrant_probs[frantic], q[frantic])
    assert q[frantic].argmax() in (0, 1)
    assert q[sad].argmax() == raw.quadrant_probs[sad].argmax()
    assert np.abs(q[sad] - raw.quadrant_probs[sad]).max() < 0.03, (raw.quadrant_probs[sad], q[sad])
    # the model's own values are kept, unchanged
    np.testing.assert_array_equal(arrays.raw_quadrant_probs, raw.quadrant_probs)
    np.testing.assert_array_equal(arrays.raw_tag_scores, raw.tag_scores)
    # tags follow: Excitement climbs on the taught track, the calm tags fall
    exc, quiet = arrays.tag_names.index("Excitement"), arrays.tag_names.index("Quiet")
    assert arrays.tag_scores[epic, exc] > 2 * raw.tag_scores[epic, exc]
    assert arrays.tag_scores[epic, quiet] < raw.tag_scores[epic, quiet]
    np.testing.assert_allclose(arrays.tag_scores.sum(1), 1, atol=1e-5)
    # the other analyses see the calibrated numbers too
    from explorer.analysis.filtering import quadrant_of

    assert quadrant_of(arrays.quadrant_probs)[epic] == 1


def test_reset_restores_the_model_values(cache, library):
    raw = cache.load_arrays()
    add_correction(cache, library[0] / "wesnoth_battle-epic.mp3", "Q2")
    add_correction(cache, library[0] / "wesnoth_knolls.opus", "more_energetic")
    assert not np.array_equal(cache.load_arrays().quadrant_probs, raw.quadrant_probs)
    assert reset_corrections(cache) == 2
    back = cache.load_arrays()
    assert back.corrections_applied == 0 and list_corrections(cache) == []
    np.testing.assert_array_equal(back.quadrant_probs, raw.quadrant_probs)
    np.testing.assert_array_equal(back.tag_scores, raw.tag_scores)
    assert reset_corrections(cache) == 0


def test_relative_corrections_on_real_tracks(cache, library):
    raw = cache.load_arrays()
    row = _row(raw, "wesnoth_suspense")
    add_correction(cache, library[0] / "wesnoth_suspense.mp3", "more-energetic")
    up = cache.load_arrays().quadrant_probs[row, :2].sum()
    assert up > raw.quadrant_probs[row, :2].sum() + 0.1
    add_correction(cache, library[0] / "wesnoth_suspense.mp3", "calmer")
    assert cache.load_arrays().quadrant_probs[row, :2].sum() < up


def test_list_remove_and_persistence(cache, library):
    root, cache_dir = library
    add_correction(cache, root / "wesnoth_battle-epic.mp3", "Q2")
    add_correction(cache, "wesnoth_sad.ogg", "calmer")  # relative to the library folder
    add_correction(cache, str(root / "wesnoth_frantic.mp3"), "q1")
    listed = list_corrections(cache)
    assert [c.kind for c in listed] == ["Q2", "calmer", "Q1"]
    assert [Path(c.path).name for c in listed] == ["wesnoth_battle-epic.mp3", "wesnoth_sad.ogg", "wesnoth_frantic.mp3"]
    assert all(isinstance(c, Correction) and c.active for c in listed)
    assert listed[0].created_at <= listed[1].created_at <= listed[2].created_at
    assert listed[0].created.tzinfo is not None
    before = cache.load_arrays()
    cache.close()
    with LibraryCache.open(root, cache_dir) as reopened:  # stored in the cache: a new handle sees the same
        assert list_corrections(reopened) == listed
        again = reopened.load_arrays()
        np.testing.assert_array_equal(again.quadrant_probs, before.quadrant_probs)
        np.testing.assert_array_equal(again.tag_scores, before.tag_scores)
        assert remove_correction(reopened, listed[1].id) and not remove_correction(reopened, listed[1].id)
        assert [c.kind for c in list_corrections(reopened)] == ["Q2", "Q1"]


def test_bad_corrections_are_refused_and_store_nothing(cache, library, tmp_path):
    root = library[0]
    with pytest.raises(TeachingError, match="unknown correction"):
        add_correction(cache, root / "wesnoth_sad.ogg", "happier")
    with pytest.raises(TeachingError, match="not in the library"):
        add_correction(cache, root / "no_such_track.mp3", "Q1")
    outside = tmp_path / "elsewhere.ogg"
    shutil.copy(root / "wesnoth_sad.ogg", outside)
    with pytest.raises(TeachingError, match="not in the library"):
        add_correction(cache, outside, "Q1")
    assert list_corrections(cache) == []
    assert TEACH_KINDS == ("Q1", "Q2", "Q3", "Q4", "more_energetic", "calmer")


def _assert_export_matches(arrays, doc: dict, rows: list[dict]) -> None:
    assert len(doc["tracks"]) == len(rows) == len(arrays)
    for i, (rec, row) in enumerate(zip(doc["tracks"], rows)):
        assert rec["path"] == row["path"] == arrays.paths[i]
        assert rec["title"] == row["title"] == (arrays.titles[i] or Path(arrays.paths[i]).stem)
        genres = [g for g, on in zip(arrays.genre_names, arrays.genres[i]) if on > 0.5]
        assert rec["genres"] == genres and row["genres"] == "; ".join(genres)
        probs = np.array([rec["quadrant_probs"][q] for q in ("Q1", "Q2", "Q3", "Q4")], dtype=np.float32)
        np.testing.assert_array_equal(probs, arrays.quadrant_probs[i])  # exact: the very float32 values
        np.testing.assert_array_equal(
            np.array([row[q] for q in ("Q1", "Q2", "Q3", "Q4")], dtype=np.float32), arrays.quadrant_probs[i]
        )
        assert rec["quadrant"] == row["quadrant"] == f"Q{int(arrays.quadrant_probs[i].argmax()) + 1}"
        ranked = [t["tag"] for t in rec["tags"]]
        assert ranked == [arrays.tag_names[j] for j in np.argsort(-arrays.tag_scores[i], kind="stable")]
        assert row["ranked_tags"] == "; ".join(ranked)
        scores = np.array([t["score"] for t in rec["tags"]], dtype=np.float32)
        assert (np.diff(scores) <= 0).all()
        np.testing.assert_array_equal(
            np.array([{t["tag"]: t["score"] for t in rec["tags"]}[n] for n in arrays.tag_names], dtype=np.float32),
            arrays.tag_scores[i],
        )
        np.testing.assert_array_equal(
            np.array([row[n] for n in arrays.tag_names], dtype=np.float32), arrays.tag_scores[i]
        )


def test_export_equals_load_arrays_after_teaching(cache, library, tmp_path):
    from explorer.library.export import export_library

    add_correction(cache, library[0] / "wesnoth_battle-epic.mp3", "Q2")
    arrays = cache.load_arrays()
    out_json, out_csv = tmp_path / "lib.json", tmp_path / "lib.csv"
    export_library(arrays, library[0], json_path=out_json, csv_path=out_csv)
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    with open(out_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert doc["corrections_applied"] == 1
    _assert_export_matches(arrays, doc, rows)
    epic = _row(arrays, "wesnoth_battle-epic")
    assert doc["tracks"][epic]["quadrant"] == "Q2"  # the taught value, not the model's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.csv", "lib.json"]  # no temporary files left


def test_failed_export_keeps_the_old_file(tmp_path):
    from explorer.library.export import atomic_write_text

    target = tmp_path / "out.json"
    target.write_text("previous export\n")
    with pytest.raises(UnicodeEncodeError):  # fails half-way through writing (a lone surrogate at the end)
        atomic_write_text(target, "x" * 100_000 + "\udcff")
    assert target.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_text(tmp_path / "missing" / "out.json", "{}")


def _qfx(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "explorer.cli.main", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_round_trip(cache, library, tmp_path):
    root, cache_dir = library
    raw = cache.load_arrays()
    c = ("--cache", str(cache_dir))
    done = _qfx(
        "teach",
        str(root),
        *c,
        "--track",
        str(root / "wesnoth_battle-epic.mp3"),
        "--quadrant",
        "Q2",
        "--more-energetic",
        "wesnoth_knolls.opus",
    )
    assert done.returncode == 0, done.stderr
    assert "wesnoth_battle-epic.mp3: Q" in done.stdout and "-> Q2" in done.stdout
    listed = _qfx("teach", str(root), *c, "--list")
    assert listed.returncode == 0, listed.stderr
    assert "Q2" in listed.stdout and "more_energetic" in listed.stdout and "wesnoth_knolls.opus" in listed.stdout
    assert [x.kind for x in list_corrections(cache)] == ["Q2", "more_energetic"]

    out_json, out_csv = tmp_path / "taught.json", tmp_path / "taught.csv"
    exported = _qfx("export", str(root), *c, "--json", str(out_json), "--csv", str(out_csv))
    assert exported.returncode == 0, exported.stderr
    assert "calibrated by 2 correction(s)" in exported.stdout
    taught = cache.load_arrays()
    with open(out_csv, newline="", encoding="utf-8") as fh:
        _assert_export_matches(taught, json.loads(out_json.read_text(encoding="utf-8")), list(csv.DictReader(fh)))

    bad = _qfx("teach", str(root), *c, "--track", "wesnoth_sad.ogg", "--quadrant", "Q7")
    assert bad.returncode == 1 and "Q1, Q2, Q3 or Q4" in bad.stderr
    unpaired = _qfx("teach", str(root), *c, "--track", "wesnoth_sad.ogg")
    assert unpaired.returncode == 1 and "needs a --quadrant" in unpaired.stderr
    missing = _qfx("teach", str(root), *c, "--calmer", "nope.ogg")
    assert missing.returncode == 1 and "not in the library" in missing.stderr
    assert len(list_corrections(cache)) == 2  # refused commands stored nothing

    reset = _qfx("teach", str(root), *c, "--reset")
    assert reset.returncode == 0 and "forgot 2 correction(s)" in reset.stdout
    exported = _qfx("export", str(root), *c, "--json", str(out_json))
    assert exported.returncode == 0, exported.stderr
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["corrections_applied"] == 0
    np.testing.assert_array_equal(
        np.array([[t["quadrant_probs"][q] for q in ("Q1", "Q2", "Q3", "Q4")] for t in doc["tracks"]], np.float32),
        raw.quadrant_probs,
    )
    nothing = _qfx("export", str(root), *c)
    assert nothing.returncode == 1 and "--json" in nothing.stderr
    unindexed = _qfx("teach", str(tmp_path), *c, "--list")
    assert unindexed.returncode == 1 and "not indexed" in unindexed.stderr


def test_correction_follows_a_moved_removed_and_returning_track(cache, library, tmp_path):
    """Last in this module: it moves a file of the shared library (and puts it back)."""
    from explorer.library.indexer import index_library

    root = library[0]
    home = root / "wesnoth_battle-epic.mp3"
    add_correction(cache, home, "Q2")
    (root / "sub").mkdir()
    moved = root / "sub" / "wesnoth_battle-epic.mp3"
    os.replace(home, moved)
    try:
        summary = index_library(root, cache, workers=1)
        assert summary.moved == 1, index_summary_lines(summary)
        [c] = list_corrections(cache)
        assert c.active and Path(c.path) == moved
        arrays = cache.load_arrays()
        assert arrays.quadrant_probs[arrays.paths.index(str(moved))].argmax() == 1

        (root / "sub" / "notes.txt").write_text("an emptied folder would read as an unmounted drive (offline)")
        os.replace(moved, tmp_path / moved.name)  # gone from a readable, non-empty folder: the track is removed
        summary = index_library(root, cache, workers=1)
        assert summary.removed == 1, index_summary_lines(summary)
        [c] = list_corrections(cache)
        assert not c.active and Path(c.path) == moved  # kept, shown where it was, without effect
        assert cache.load_arrays().corrections_applied == 0

        os.replace(tmp_path / moved.name, home)  # the same content comes back (a new track id)
        index_library(root, cache, workers=1)
        [c] = list_corrections(cache)
        assert c.active and Path(c.path) == home  # found again by content fingerprint
        arrays = cache.load_arrays()
        assert arrays.corrections_applied == 1
        assert arrays.quadrant_probs[arrays.paths.index(str(home))].argmax() == 1
    finally:
        for stray in (moved, tmp_path / moved.name):
            if stray.exists():
                os.replace(stray, home)
        (root / "sub" / "notes.txt").unlink(missing_ok=True)
        (root / "sub").rmdir()
        index_library(root, cache, workers=1)


def test_export_carries_the_inferred_genre_flag_and_odd_file_names(tmp_path):
    from explorer.library.export import export_library
    from synthetic import synthetic_library

    arrays = synthetic_library(3, seed=1)
    odd = os.fsdecode(b"/music/caf\xe9 \xff.mp3")  # not valid UTF-8: a surrogate-escaped str
    arrays.paths[1] = odd
    arrays.genre_inferred = np.array([True, False, True])  # set by the library when genres come from audio
    export_library(arrays, "/music", json_path=tmp_path / "a.json", csv_path=tmp_path / "a.csv")
    doc = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert [t["genre_inferred"] for t in doc["tracks"]] == [True, False, True]
    assert doc["tracks"][1]["path"] == odd and os.fsencode(doc["tracks"][1]["path"]) == b"/music/caf\xe9 \xff.mp3"
    raw_csv = (tmp_path / "a.csv").read_bytes()
    assert b"/music/caf\xe9 \xff.mp3" in raw_csv  # the file name's own bytes
    with open(tmp_path / "a.csv", newline="", encoding="utf-8", errors="surrogateescape") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["genre_inferred"] for r in rows] == ["true", "false", "true"] and rows[1]["path"] == odd
    _assert_export_matches(arrays, doc, rows)
    arrays.genre_inferred = np.zeros(0, dtype=bool)  # not filled in (an older cache): no column, no field
    export_library(arrays, "/music", json_path=tmp_path / "a.json", csv_path=tmp_path / "a.csv")
    assert "genre_inferred" not in json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["tracks"][0]
    assert "genre_inferred" not in (tmp_path / "a.csv").read_text(encoding="utf-8", errors="replace").splitlines()[0]
