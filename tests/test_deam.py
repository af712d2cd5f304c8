"""DEAM reader on the real static annotation CSVs, with generated audio files named after real song ids."""

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
