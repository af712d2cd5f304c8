"""Issue 14, CPU indexing: a worker computes the mel only when something reads it, and reports the CPU seconds of
each stage of a real file (what bench/index.py sums per stage)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.runtime import load_emotion_model
from explorer.library.indexer import needs_mel
from explorer.library.worker import extract

DEMO = Path(__file__).resolve().parents[3] / "resources" / "demo"


def _demo_file() -> Path:
    return next(p for p in sorted(DEMO.iterdir()) if p.suffix in {".ogg", ".opus", ".mp3", ".flac"})


@pytest.mark.parametrize("with_mel", [False, True])
def test_worker_skips_the_mel_unless_asked_and_times_every_stage(with_mel: bool) -> None:
    res = extract(1, os.fsencode(_demo_file()), False, musicnn_here=True, with_mel=with_mel)
    assert res.error is None, res.error
    feats = res.features
    if with_mel:
        assert feats.mel is not None and feats.mel.shape[0] == 48 and feats.mel.shape[1] > 1000
    else:
        assert feats.mel is None
    assert feats.lowlevel.shape == (8,) and np.isfinite(feats.lowlevel).all()
    assert feats.musicnn is not None and feats.musicnn.shape == (250,)
    cpu = feats.cpu_timings
    for stage in ("tags", "decode", "resample", "descriptors", "musicnn"):
        assert stage in cpu and cpu[stage] >= 0.0, (stage, cpu)
    assert cpu["decode"] > 0 and cpu["descriptors"] > 0 and cpu["musicnn"] > 0
    if with_mel:
        assert cpu["mel"] > 0


def test_the_shipped_model_needs_no_mel_unless_the_library_keeps_mels() -> None:
    model = load_emotion_model()
    assert "mel" not in model.branches
    assert needs_mel(model, keep_mels=False) is False
    assert needs_mel(model, keep_mels=True) is True
    assert needs_mel(None, keep_mels=False) is False

    class MelModel:
        branches = ("mel", "genre", "lowlevel")

    assert needs_mel(MelModel(), keep_mels=False) is True


def test_pool_workers_start_with_one_thread_and_the_malloc_settings(tmp_path: Path) -> None:
    """glibc reads the malloc settings only at process start: they must be in the forkserver's environment."""
    from explorer.library.pool import WorkerSetup, kill_pool, new_pool, worker_environment

    wanted = worker_environment()
    assert {"OPENBLAS_NUM_THREADS", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"} <= set(wanted)
    before = {k: os.environ.get(k) for k in wanted}
    pool = new_pool(1, WorkerSetup(None, 0.0, str(tmp_path)))
    try:
        seen = {k: pool.submit(os.getenv, k).result(timeout=120) for k in wanted}
    finally:
        kill_pool(pool)
    assert seen == wanted
    assert {k: os.environ.get(k) for k in wanted} == before  # this process's own environment is left as it was
