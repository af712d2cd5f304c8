"""Analysis on a real indexed library (the demo excerpts): the map scene and `qfx recommend` end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from explorer.analysis import build_map_scene, pearson_matrix, read_m3u8
from explorer.cli.main import main


@pytest.fixture(scope="module")
def indexed(index_demo_copy, tmp_path_factory):
    library, cache_dir, _ = index_demo_copy(tmp_path_factory.mktemp("analysis_lib"))
    return library, cache_dir


@pytest.fixture(scope="module")
def arrays(indexed):
    from explorer.library.cache import LibraryCache

    with LibraryCache.open(indexed[0], indexed[1]) as cache:
        return cache.load_arrays(muq=False)


def test_scene_on_real_descriptors(arrays):
    from core.features.interpretive import descriptor_table

    table = {s.name: s for s in descriptor_table()}
    scene = build_map_scene(arrays)
    assert len(scene) == len(arrays) == 20
    assert 1 <= scene.k <= 6 and len(scene.profiles) == scene.k
    r = pearson_matrix(scene.coords, arrays.descriptors[scene.indices])
    for axis, label in enumerate(scene.axis_labels):
        best = int(np.argmax(np.abs(r[axis])))
        assert label.descriptor == arrays.descriptor_names[best]
        assert label.r == pytest.approx(r[axis, best], abs=1e-6)
        if label.clear:
            spec = table[label.descriptor]
            expected = (spec.low_pole, spec.high_pole) if label.r > 0 else (spec.high_pole, spec.low_pole)
            assert (label.negative_end.split(" / ")[0], label.positive_end.split(" / ")[0]) == expected
            assert spec.label in label.text
    for p in scene.profiles:
        for name, _ in p.terms:
            spec = table[name]
            assert spec.low_pole.lower() in p.sentence or spec.high_pole.lower() in p.sentence


def test_recommend_cli_end_to_end(indexed, arrays, tmp_path, capsys):
    library, cache_dir = indexed
    liked = Path(arrays.paths[0])
    disliked = Path(arrays.paths[1])
    out = tmp_path / "for me.m3u8"
    rc = main(
        [
            "recommend",
            str(library),
            "--like",
            str(liked),
            "--dislike",
            disliked.name,
            "--n",
            "3",
            "--cache",
            str(cache_dir),
            "--save",
            "--m3u8",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0, text
    assert text.count("which you liked") == 3
    title = arrays.titles[0] or liked.stem
    assert f"near “{title}”" in text
    entries = read_m3u8(out)
    assert len(entries) == 3 and all(e.path.exists() for e in entries)
    assert liked not in [e.path for e in entries] and disliked not in [e.path for e in entries]

    from explorer.library.cache import LibraryCache

    with LibraryCache.open(library, cache_dir) as cache:
        likes = cache.likes()
    assert likes == {int(arrays.track_ids[0]): 1, int(arrays.track_ids[1]): -1}
    # the saved likes are used when no --like is given
    assert main(["recommend", str(library), "--n", "2", "--cache", str(cache_dir)]) == 0
    assert "remembered in the library" in capsys.readouterr().out


def test_recommend_cli_errors(indexed, tmp_path, capsys):
    library, cache_dir = indexed
    assert main(["recommend", str(tmp_path), "--like", "x.mp3", "--cache", str(cache_dir)]) == 1
    assert "not indexed yet" in capsys.readouterr().err
    from explorer.library.cache import library_db_name

    assert not (cache_dir / library_db_name(tmp_path)).exists(), "a refused folder must not get a cache"
    assert main(["recommend", str(library), "--like", "missing.mp3", "--cache", str(cache_dir)]) == 1
    assert "not in the analysed library" in capsys.readouterr().err
