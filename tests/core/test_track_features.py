"""extract_track_features on real demo files: shapes, agreement with the stage functions, caching round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.audio import AudioDecodeError, load_excerpt
from core.features.genre import GENRES, genre_vector
from core.features.interpretive import DESCRIPTOR_NAMES
from core.features.lowlevel import LOWLEVEL_NAMES, lowlevel_descriptors
from core.features.mel import N_MELS, melon_mel
from core.features.muq_embed import MUQ_DIM, tiny_muq_embedder
from core.features.track import EXTRACTOR_VERSION, TrackFeatures, extract_track_features

FILES = ["wesnoth_knolls.opus", "warzone2100_aftermath_track17.m4a", "wesnoth_the_city_falls.flac"]


@pytest.fixture(scope="module")
def muq():
    torch.set_num_threads(1)
    return tiny_muq_embedder()


@pytest.fixture(scope="module")
def features(demo_dir, muq) -> dict[str, TrackFeatures]:
    return {name: extract_track_features(demo_dir / name, muq=muq) for name in FILES}


def test_shapes_and_values(features):
    assert isinstance(EXTRACTOR_VERSION, str) and EXTRACTOR_VERSION
    for name, tf in features.items():
        assert tf.path.endswith(name)
        assert (
            tf.duration == pytest.approx(30.0, abs=0.1) and 0.0 <= tf.excerpt_start < 0.05
        )  # 30 s window of a ~30 s file
        assert tf.mel.shape[0] == N_MELS and 1800 < tf.mel.shape[1] < 1950 and tf.mel.dtype == np.float32
        assert tf.lowlevel.shape == (len(LOWLEVEL_NAMES),) and np.isfinite(tf.lowlevel).all()
        assert tf.interpretive.shape == (len(DESCRIPTOR_NAMES),) and np.isfinite(tf.interpretive).all()
        assert tf.muq.shape == (MUQ_DIM,) and np.isfinite(tf.muq).all()
        assert tf.genre.shape == (len(GENRES),) and tf.genre.sum() == 1.0
        assert set(tf.timings) >= {"decode", "mel", "descriptors", "muq"}
    assert features["wesnoth_knolls.opus"].tags["title"] == "The Knolls of Doldesh"
    np.testing.assert_array_equal(features["wesnoth_knolls.opus"].genre, genre_vector("Classical"))
    np.testing.assert_array_equal(features["warzone2100_aftermath_track17.m4a"].genre, genre_vector("Electronic"))
    a, b = features["wesnoth_knolls.opus"], features["warzone2100_aftermath_track17.m4a"]
    assert np.abs(a.lowlevel - b.lowlevel).max() > 0 and np.abs(a.muq - b.muq).max() > 1e-4


def test_matches_stage_functions(demo_dir, features, muq):
    path = demo_dir / "wesnoth_the_city_falls.flac"
    ex = load_excerpt(path, rates=(16000, 24000))
    tf = features[path.name]
    np.testing.assert_allclose(tf.mel, melon_mel(ex.audio[16000]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tf.lowlevel, lowlevel_descriptors(ex.audio[16000]), rtol=1e-5)
    np.testing.assert_allclose(tf.muq, muq.embed([ex.audio[24000]])[0], atol=1e-5)


def test_options_and_given_tags(demo_dir):
    tf = extract_track_features(
        demo_dir / "wesnoth_suspense.mp3",
        tags={"genre": "Jazz; (17)"},
        compute_mel=False,
        excerpt_length=10.0,
        keep_audio24k=True,
    )
    assert tf.muq is None and tf.mel is None
    assert tf.audio24k.dtype == np.float32 and abs(tf.audio24k.size - 240000) <= 24
    assert tf.tags == {"genre": "Jazz; (17)"}
    np.testing.assert_array_equal(tf.genre, genre_vector(["Jazz", "Pop/Rock"]))
    assert tf.excerpt_start == pytest.approx(0.3 * tf.duration, abs=0.05)  # window at 30 % of the track
    assert tf.duration == pytest.approx(30.0, abs=0.1)


def test_npz_round_trip(features, tmp_path):
    tf = features["wesnoth_knolls.opus"]
    tf.to_npz(tmp_path / "f.npz")
    back = TrackFeatures.from_npz(tmp_path / "f.npz")
    assert back.path == tf.path and back.tags == tf.tags
    assert back.duration == tf.duration and back.excerpt_start == tf.excerpt_start
    for name in ("mel", "lowlevel", "interpretive", "muq", "genre"):
        np.testing.assert_array_equal(getattr(back, name), getattr(tf, name))
    partial = TrackFeatures(
        path="x",
        duration=1.0,
        excerpt_start=0.0,
        mel=None,
        lowlevel=tf.lowlevel,
        interpretive=tf.interpretive,
        muq=None,
        genre=tf.genre,
    )
    partial.to_npz(tmp_path / "p.npz")
    again = TrackFeatures.from_npz(tmp_path / "p.npz")
    assert again.mel is None and again.muq is None and again.tags == {}


def test_undecodable_file_raises_audio_decode_error(tmp_path):
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"this is not audio" * 100)
    with pytest.raises(AudioDecodeError):
        extract_track_features(bad)
