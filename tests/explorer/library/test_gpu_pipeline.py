"""The GPU-bound indexing pipeline (decode-only workers + batched feature/model stages), run on CPU tensors:
the cache it writes must equal a CPU-pipeline run's, with the same incremental and per-file-failure behaviour."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from explorer.library.cache import LibraryCache
from explorer.library.gpu_run import GpuPipeline, resolve_pipeline
from explorer.library.indexer import index_library
from tests.library_helpers import make_model


@pytest.fixture()
def small_library(tmp_path: Path, demo_files: list[Path]) -> Path:
    """Three real demo files (Ogg, Opus, MP3), one corrupt file and one empty file."""
    lib = tmp_path / "lib"
    lib.mkdir()
    for ext in (".ogg", ".opus", ".mp3"):
        src = next(p for p in demo_files if p.suffix == ext)
        shutil.copy2(src, lib / src.name)
    (lib / "broken.ogg").write_bytes(b"OggS" + os.urandom(3000))
    (lib / "empty.mp3").write_bytes(b"")
    return lib


def _snapshot(cache: LibraryCache) -> dict[str, dict]:
    out = {}
    rows = cache.con.execute(
        "SELECT t.path, t.status, t.error, f.lowlevel, f.interpretive, m.data, a.embedding, a.quadrant_probs"
        " FROM tracks t LEFT JOIN features f ON f.track_id=t.id LEFT JOIN mels m ON m.track_id=t.id"
        " LEFT JOIN analysis a ON a.track_id=t.id"
    )
    for path, status, error, low, interp, mel, emb, quad in rows:

        def arr(blob, dtype="<f4"):
            return None if blob is None else np.frombuffer(blob, dtype=dtype)

        out[os.path.basename(os.fsdecode(bytes(path)))] = {
            "status": status,
            "error": error,
            "lowlevel": arr(low),
            "interpretive": arr(interp),
            "mel": arr(mel, "<f2"),
            "embedding": arr(emb),
            "quadrants": arr(quad),
        }
    return out


def test_gpu_pipeline_cache_equals_cpu_pipeline(small_library: Path, tmp_path: Path) -> None:
    model = make_model(tmp_path / "model")
    cpu_cache = LibraryCache.open(small_library, tmp_path / "cpu")
    cpu = index_library(small_library, cpu_cache, workers=2, model=model, pipeline="cpu")
    pipe = GpuPipeline(devices=["cpu"], batch_size=2)
    gpu_cache = LibraryCache.open(small_library, tmp_path / "gpu")
    gpu = index_library(small_library, gpu_cache, workers=2, model=model, pipeline=pipe, batch_size=2)
    assert (gpu.analysed, len(gpu.failed)) == (cpu.analysed, len(cpu.failed)) == (3, 2)
    assert pipe.times.clips == 3 and pipe.times.batches >= 2  # really went through the batched stage
    a, b = _snapshot(cpu_cache), _snapshot(gpu_cache)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name]["status"] == b[name]["status"], name
        assert (a[name]["error"] is None) == (b[name]["error"] is None), name
        for key in ("lowlevel", "interpretive", "mel", "embedding", "quadrants"):
            if a[name][key] is None:
                assert b[name][key] is None, (name, key)
                continue
            np.testing.assert_allclose(b[name][key], a[name][key], rtol=1e-3, atol=1e-3, err_msg=f"{name} {key}")
    assert {n for n, r in b.items() if r["status"] == "done"} == {n for n, r in a.items() if r["status"] == "done"}
    again = index_library(small_library, gpu_cache, workers=2, model=model, pipeline=pipe)
    assert again.analysed == 0 and again.unchanged == 5  # incremental: nothing decoded twice (failures stay)
    (small_library / "broken.ogg").unlink()
    again = index_library(small_library, gpu_cache, workers=2, model=model, pipeline=pipe)
    assert again.removed == 1 and again.analysed == 0
    cpu_cache.close()
    gpu_cache.close()


def test_pipeline_choice() -> None:
    assert resolve_pipeline("cpu") is None
    with pytest.raises(ValueError, match="unknown indexing pipeline"):
        resolve_pipeline("tpu")
    pipe = GpuPipeline(devices=["cpu"])
    assert resolve_pipeline(pipe) is pipe
    if not GpuPipeline().devices:  # no CUDA here: auto falls back to the CPU pipeline, gpu refuses clearly
        assert resolve_pipeline("auto") is None
        with pytest.raises(RuntimeError, match="no CUDA device"):
            resolve_pipeline("gpu")


def test_spool_folders_of_killed_runs_are_removed() -> None:
    import subprocess
    import sys

    from explorer.library import gpu_pipeline

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    base = Path(gpu_pipeline.spool_dir()).parent
    stale = base / f"qfx-spool-{int(dead.stdout)}-old"
    live = base / f"qfx-spool-{os.getpid()}-mine"
    stale.mkdir()
    live.mkdir()
    (stale / "1.f32").write_bytes(b"\0" * 64)
    fresh = Path(gpu_pipeline.spool_dir())
    try:
        assert not stale.exists() and live.exists() and fresh.is_dir()
    finally:
        shutil.rmtree(live, ignore_errors=True)
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


def test_batches_follow_the_card_memory(monkeypatch) -> None:
    import torch

    from explorer.library.gpu_pipeline import sizing

    class Props:
        def __init__(self, gb: float) -> None:
            self.total_memory = int(gb * 2**30)

    sizes = {"cuda:0": 141, "cuda:1": 8}
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda d: Props(sizes[d]))
    assert sizing(["cuda:0"]) == (128, 64, 2)  # the measured H200 configuration (44 GB peak with full MuQ)
    assert sizing(["cuda:0", "cuda:1"]) == (12, 6, 1)  # the smallest card decides: an 8 GB desktop GPU
    assert sizing(["cpu"]) == (128, 64, 2)


def test_muq_through_the_spool_equals_the_cpu_pipeline(small_library: Path, tmp_path: Path) -> None:
    from core.features.muq_embed import tiny_muq_embedder

    muq = tiny_muq_embedder(device="cpu")
    out = {}
    for name, pipeline in (("cpu", "cpu"), ("gpu", GpuPipeline(devices=["cpu"], batch_size=2))):
        with LibraryCache.open(small_library, tmp_path / name) as cache:
            s = index_library(small_library, cache, workers=2, model=False, muq=muq, pipeline=pipeline)
            assert s.analysed == 3
            out[name] = {
                os.path.basename(os.fsdecode(bytes(p))): np.frombuffer(b, "<f4")
                for p, b in cache.con.execute("SELECT t.path, m.data FROM muq m JOIN tracks t ON t.id = m.track_id")
            }
    assert out["cpu"].keys() == out["gpu"].keys() and len(out["cpu"]) == 3
    for name in out["cpu"]:  # the 24 kHz excerpt travelled through /dev/shm intact
        np.testing.assert_allclose(out["gpu"][name], out["cpu"][name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_decode_workers_leave_cores_for_the_gpu_stage_threads() -> None:
    from explorer.library.gpu_pipeline import decode_workers

    assert decode_workers(16, 1, 2) == 12  # the measured H200 host: 12 decoders beat 15 (docs/benchmarks.md)
    assert decode_workers(128, 8, 2) == 110
    assert decode_workers(4, 1, 2) == 1 and decode_workers(2, 2, 2) == 1  # never none
