"""DEAM reader on annotation CSVs written in both DEAM formats here, and (extra layer) on the real static annotation
CSVs, with generated audio files named after the song ids."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.data.deam import DeamError, read_deam, read_static_annotations, va_to_quadrant


def _layout(tmp_path: Path, deam_dir: Path, ids: list[int]) -> Path:
    root = tmp_path / "DEAM"
    ann = root / "annotations" / "annotations averaged per song" / "song_level"
    ann.mkdir(parents=True)
    for f in deam_dir.glob("static_annotations_averaged_songs_*.csv"):
        shutil.copy(f, ann / f.name)
    audio = root / "DEAM_audio" / "MEMD_audio"
    audio.mkdir(parents=True)
    t = np.arange(8000) / 16000
    for i, sid in enumerate(ids):
        sf.write(audio / f"{sid}.wav", 0.1 * np.sin(2 * np.pi * (220 + 50 * i) * t), 16000)
    return root


def test_both_annotation_formats_and_audio(tmp_path: Path) -> None:
    """The 1..2000 file's columns and the 2000..2058 file's (spaces and extra columns in the header)."""
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "static_annotations_averaged_songs_1_2000.csv").write_text(
        "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n2,3.1,0.94,3,0.63\n3,7.5,1.7,5,1.6\n"
        "10,6.2,1,6.9,1\n"
    )
    (ann / "static_annotations_averaged_songs_2000_2058.csv").write_text(
        "song_id, valence_mean, valence_std, valence_ max_mean, valence_max_std, arousal_mean, arousal_std\n"
        "2001,3.2,0.98,5.0,1.41,6.6,0.8\n2002,6.4,0.49,8.2,0.98,4.2,1.17\n"
    )
    root = _layout(tmp_path, ann, [2, 2002])
    items = read_deam(root)
    assert [i.song_id for i in items] == [2, 3, 10, 2001, 2002]
    quadrants = {i.song_id: i.quadrant for i in items}
    assert quadrants == {2: "Q3", 3: None, 10: "Q1", 2001: "Q2", 2002: "Q4"}  # 3 sits on the arousal axis
    assert read_static_annotations(ann / "static_annotations_averaged_songs_2000_2058.csv")[2001] == (3.2, 6.6)
    assert [i.song_id for i in items if i.audio_path is not None] == [2, 2002]
    assert {i.song_id: i.quadrant for i in read_deam(root, boundary="high")}[3] == "Q1"  # arousal 5 counts as high


def test_real_annotations_and_audio(tmp_path: Path, deam_dir: Path) -> None:
    root = _layout(tmp_path, deam_dir, [2, 3, 2001])
    items = read_deam(root)
    assert len(items) == 1744 + 58
    assert [i.song_id for i in items] == sorted(i.song_id for i in items)
    by_id = {i.song_id: i for i in items}
    assert (by_id[2].valence, by_id[2].arousal, by_id[2].quadrant) == (3.1, 3.0, "Q3")
    assert (by_id[2001].valence, by_id[2001].arousal, by_id[2001].quadrant) == (3.2, 6.6, "Q2")
    assert by_id[2002].quadrant == "Q1"  # 6.4 / 5.2
    with_audio = [i for i in items if i.audio_path is not None]
    assert [i.song_id for i in with_audio] == [2, 3, 2001]
    wave, sr = sf.read(by_id[3].audio_path)
    assert sr == 16000 and len(wave) == 8000
    on_axis = [i for i in items if i.quadrant is None]
    assert on_axis and all(i.valence == 5.0 or i.arousal == 5.0 for i in on_axis)
    counts = {q: sum(i.quadrant == q for i in items) for q in ("Q1", "Q2", "Q3", "Q4")}
    assert all(c > 50 for c in counts.values()) and sum(counts.values()) + len(on_axis) == len(items)
    high = {i.song_id: i.quadrant for i in read_deam(root, boundary="high")}
    assert None not in high.values()


def test_columns_with_spaces_in_second_file(deam_dir: Path) -> None:
    ratings = read_static_annotations(deam_dir / "static_annotations_averaged_songs_2000_2058.csv")
    assert ratings[2001] == (3.2, 6.6) and len(ratings) == 58


def test_quadrant_rule() -> None:
    assert va_to_quadrant(7, 7) == "Q1" and va_to_quadrant(3, 7) == "Q2"
    assert va_to_quadrant(3, 3) == "Q3" and va_to_quadrant(7, 3) == "Q4"
    assert va_to_quadrant(5, 7) is None
    assert va_to_quadrant(5, 7, "high") == "Q1" and va_to_quadrant(5, 5, "low") == "Q3"
    with pytest.raises(ValueError):
        va_to_quadrant(5, 5, "middle")  # type: ignore[arg-type]


def test_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DeamError, match="not found"):
        read_deam(tmp_path / "missing")
    with pytest.raises(DeamError, match="no static_annotations"):
        read_deam(tmp_path)
    bad = tmp_path / "static_annotations_averaged_songs_1_2.csv"
    bad.write_text("song_id, valence\n1,3\n")
    with pytest.raises(DeamError, match="columns"):
        read_deam(tmp_path)
    bad.write_text("song_id, valence_mean, arousal_mean\n1,3,x\n")
    with pytest.raises(DeamError, match=":2: malformed"):
        read_deam(tmp_path)
