"""Distributed indexing on a real local Ray cluster (2 CPUs): same cache as a local run, incremental, per-file
failures, shipped bytes, and a clear refusal when workers cannot read the files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from explorer.cli.main import main as qfx  # noqa: E402
from explorer.library.cache import LibraryCache  # noqa: E402
from explorer.library.indexer import IndexingError, index_library  # noqa: E402
from explorer.library.ray_index import RayPipeline, choose_transfer  # noqa: E402
from tests.library_helpers import make_model  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", str(Path.cwd()))}},
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return make_model(tmp_path_factory.mktemp("model") / "model")


def _rows(cache: LibraryCache) -> dict[str, tuple]:
    out = {}
    q = (
        "SELECT t.path, t.status, t.error, f.lowlevel, f.interpretive, m.data, a.embedding FROM tracks t"
        " LEFT JOIN features f ON f.track_id=t.id LEFT JOIN mels m ON m.track_id=t.id"
        " LEFT JOIN analysis a ON a.track_id=t.id"
    )
    for path, status, error, *blobs in cache.con.execute(q):
        out[os.path.basename(os.fsdecode(bytes(path)))] = (
            status,
            error is None,
            *[None if b is None else np.frombuffer(b, "<f2" if i == 2 else "<f4") for i, b in enumerate(blobs)],
        )
    return out


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name][:2] == b[name][:2], name
        for x, y in zip(a[name][2:], b[name][2:]):
            assert (x is None) == (y is None), name
            if x is not None:
                np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-5, err_msg=name)


def test_ray_run_equals_local_run(cluster, model, tmp_path, demo_files):
    lib = tmp_path / "lib"
    lib.mkdir()
    for f in demo_files:
        shutil.copy2(f, lib / f.name)
    (lib / "broken.mp3").write_bytes(b"ID3" + os.urandom(2000))
    local = LibraryCache.open(lib, tmp_path / "local")
    s_local = index_library(lib, local, workers=2, model=model, pipeline="cpu")
    dist = LibraryCache.open(lib, tmp_path / "ray")
    pipe = RayPipeline(address=None)
    s_ray = index_library(lib, dist, model=model, pipeline=pipe, batch_size=8)
    assert pipe.transfer == "path" and pipe.times["tasks"] == 21
    assert (s_ray.analysed, len(s_ray.failed)) == (s_local.analysed, len(s_local.failed)) == (20, 1)
    assert s_ray.failed[0][0].endswith("broken.mp3")
    _same(_rows(local), _rows(dist))
    # incremental: nothing to do; a new file is the only one analysed, once
    again = index_library(lib, dist, model=model, pipeline=pipe)
    assert again.analysed == 0 and again.unchanged == 21
    shutil.copy2(demo_files[0], lib / "extra copy.ogg")
    again = index_library(lib, dist, model=model, pipeline=pipe)
    assert again.analysed == 1 and again.added == 1
    assert dist.con.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] == 22  # no duplicates
    local.close()
    dist.close()


def test_shipped_bytes_and_cli(cluster, model, tmp_path, demo_files):
    lib = tmp_path / "lib"
    lib.mkdir()
    for f in demo_files[:3]:
        shutil.copy2(f, lib / f.name)
    pipe = RayPipeline(address=None, ship_bytes=True)
    with LibraryCache.open(lib, tmp_path / "bytes") as cache:
        s = index_library(lib, cache, model=model, pipeline=pipe)
        assert pipe.transfer == "bytes" and s.analysed == 3 and not s.failed
        paths = sorted(os.path.basename(p) for p in cache.load_arrays().paths)
        assert paths == sorted(f.name for f in demo_files[:3])  # stored under the library's own paths
    with LibraryCache.open(lib, tmp_path / "local") as cache:
        index_library(lib, cache, workers=1, model=model, pipeline="cpu")
        local = _rows(cache)
    with LibraryCache.open(lib, tmp_path / "bytes") as cache:
        _same(local, _rows(cache))
    rc = qfx(["index", str(lib), "--cache", str(tmp_path / "cli"), "--model", str(model), "--ray", "auto", "--quiet"])
    assert rc == 0
    with LibraryCache.open(lib, tmp_path / "cli") as cache:
        assert len(cache.load_arrays()) == 3


def test_refuses_when_workers_cannot_read_the_files():
    assert choose_transfer({"10.0.0.1": [], "10.0.0.2": []}, ship_bytes=False) == "path"
    assert choose_transfer({"10.0.0.2": ["/music/a.ogg"]}, ship_bytes=True) == "bytes"
    with pytest.raises(IndexingError, match=r"1 of 2 Ray nodes cannot read.*10\.0\.0\.2.*--ray-ship-bytes"):
        choose_transfer({"10.0.0.1": [], "10.0.0.2": ["/music/a.ogg"]}, ship_bytes=False)
