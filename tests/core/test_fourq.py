"""4Q reader on the demo laid out as a 4Q folder, on a minimal user layout without a split column, and (extra layer)
on the real dataset."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.data.fourq import FourQError, has_split_column, read_fourq


def test_real_folder_splits(fourq_dir):
    clips = read_fourq(fourq_dir)
    train = read_fourq(fourq_dir, "train")
    test = read_fourq(fourq_dir, "test")
    assert len(clips) == 800 and len(train) == 640 and len(test) == 160
    assert not {c.song_id for c in train} & {c.song_id for c in test}
    clip = test[0]
    assert clip.audio_path.exists() and clip.audio_path.stem == clip.song_id
    assert clip.quadrant in ("Q1", "Q2", "Q3", "Q4") and clip.genres and clip.moods
    assert clip.relevance.shape == (12,)
    assert sum(c.has_tags for c in clips) == 672


def test_demo_folder_splits(demo_fourq_dir):
    clips = read_fourq(demo_fourq_dir)
    train = read_fourq(demo_fourq_dir, "train")
    test = read_fourq(demo_fourq_dir, "test")
    assert has_split_column(demo_fourq_dir)
    assert len(clips) == 20 and len(train) == 16 and len(test) == 4
    assert not {c.song_id for c in train} & {c.song_id for c in test}
    assert all(c.audio_path.exists() and c.audio_path.stem == c.song_id for c in clips)
    assert {c.quadrant for c in test} == {"Q1", "Q2", "Q3", "Q4"}
    assert sum(c.has_tags for c in clips) == 19  # one clip's moods map to no tag
    assert train[0].tags() == {"Happiness": 2, "Excitement": 1} and train[0].relevance.shape == (12,)


def test_layout_without_split_column_and_any_extension(tmp_path, demo_files):
    (tmp_path / "audio").mkdir()
    mp3 = next(p for p in demo_files if p.suffix == ".mp3")
    flac = next(p for p in demo_files if p.suffix == ".flac")
    shutil.copy(mp3, tmp_path / "audio" / "a1.mp3")
    shutil.copy(flac, tmp_path / "audio" / "b2.flac")
    (tmp_path / "labels.csv").write_text(
        "song_id,quadrant,moods,genres\n"
        "a1,Q3,Sad; Wistful,Classical\n"
        "b2,q1,Happy; Energetic; Fun,Pop/Rock; Electronic\n"
    )
    assert not has_split_column(tmp_path)
    clips = read_fourq(tmp_path)
    assert [c.song_id for c in clips] == ["a1", "b2"]
    assert clips[0].audio_path.suffix == ".mp3" and clips[1].audio_path.suffix == ".flac"
    assert clips[1].quadrant == "Q1" and clips[0].split is None
    assert clips[1].tags() == {"Happiness": 2, "Excitement": 1}
    with pytest.raises(FourQError, match="no split column"):
        read_fourq(tmp_path, "train")


def test_genre_vector_from_allmusic_genres(labelled_dir):
    from core.features import genre

    clip = read_fourq(labelled_dir, "test")[0]
    vec = clip.genre_vector()
    assert vec.shape == (len(genre.GENRES),) and vec.dtype == np.float32 and vec.sum() >= 1


def test_clear_errors(tmp_path):
    with pytest.raises(FourQError, match="labels.csv"):
        read_fourq(tmp_path)
    (tmp_path / "audio").mkdir()
    (tmp_path / "labels.csv").write_text("song_id,quadrant,moods\nx,Q9,Sad\n")
    with pytest.raises(FourQError, match="quadrant"):
        read_fourq(tmp_path, require_audio=False)
    (tmp_path / "labels.csv").write_text("song_id,quadrant,moods\nx,Q2,Sad\n")
    with pytest.raises(FourQError, match="no audio"):
        read_fourq(tmp_path)
