"""Indexing throughput and cache read speed.

    python bench/index.py                         # demo library copied to 520 tracks, CPU, random-init model
    python bench/index.py --tracks 1000 --muq full-random --workers 15     # GPU box: full-size MuQ (random weights)
    python bench/index.py --tracks 2000 --source DIR --copy-source --muq full-random --pipeline gpu   # GPU pipeline
    python bench/index.py --model none            # decode + features only (no emotion model)
    python bench/index.py --load-arrays 100000    # synthetic 100k-track cache: time load_arrays() only
    python bench/index.py --tracks 200 --source /data/4q/audio --model default   # real clips, the shipped model
    python bench/index.py --stages 40 --source /data/4q/audio   # CPU ms per stage and track, one thread, in-process
    python bench/index.py --tracks 51 --source DIR_OF_FULL_LENGTH_FILES --model default   # full-length tracks
    QFX_BACKEND=torch python bench/index.py ...   # the torch runtime instead of ONNX Runtime (core/runtime.py)

Runs without torch (the lean install): `--model random` then needs torch, use `--model default`.

The machine may be shared: besides the wall-clock rate, the CPU seconds of every process of the run (main,
forkserver, workers) are summed, and `cpu_bound_tracks_per_min_2_cores` = 2 x 60 / (CPU s per track) is the rate
two otherwise idle cores would reach if the pipeline kept both busy; the load average before/after is printed too.
The CPU of the bench's own /proc sampler thread is measured and left out. Every worker reports the CPU seconds of each
stage of each file (tags, decode, resample, mel, descriptors, MusiCNN, model: `worker_cpu_ms_per_track`); what the
workers spent beyond those stages (start-up, model loading, pickling, waiting on the queue) is
`worker_cpu_ms_per_track["other"]`, and the main process's share (scan, fingerprints, plan, SQLite) `main`.

`--stages` runs in-process under the workers' environment (one BLAS/OpenMP thread, the pool's malloc settings; it
re-executes itself with them), so its figures are a worker's. It skips the mel when the indexer would (the model has no
mel branch and the cache keeps no mels; `--with-mel` to time it anyway).

Copies (not links) of the demo excerpts go to a temporary folder, so every track is a distinct file that must be
decoded. Reports tracks/min over the whole `index_library` call (scan, plan, decode, features, model, SQLite
writes), where the GPU pipeline's time went ("stages": decode summed over workers, features / MuQ / model summed
over GPU batches, SQLite and the main thread's waits for a full GPU queue) and peak resident
memory: the main process (getrusage), the largest worker (RSS) and all processes together (PSS)
(sampled from /proc, since workers are children of the forkserver). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import report  # noqa: E402

AUDIO_EXT = {".ogg", ".mp3", ".opus", ".m4a", ".flac", ".wav"}


def machine(device: str) -> str:
    from core.runtime import onnxruntime_available, torch_available

    cpu = platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    desc = f"{cpu}, {os.cpu_count()} logical cores"
    if onnxruntime_available():
        import onnxruntime

        desc += f", onnxruntime {onnxruntime.__version__}"
    if torch_available():
        import torch

        desc += f", torch {torch.__version__}"
        if device == "cuda" and torch.cuda.is_available():
            desc += f", GPU {torch.cuda.get_device_name(0)}"
    return desc


def _device() -> str:
    from core.runtime import torch_cuda_available

    return "cuda" if torch_cuda_available() else "cpu"


class MemorySampler:
    """Peak resident memory of this process plus all its descendants (workers are the forkserver's children, which
    getrusage(RUSAGE_CHILDREN) never sees), sampled from /proc every 0.5 s (PSS every 2 s: reading smaps is what
    costs; at 0.2 s with PSS each time the sampler took ~20 % of a core from a 2-core run)."""

    def __init__(self) -> None:
        import threading

        self.peak_total_kb = 0
        self.peak_worker_kb = 0
        self.cpu_ticks: dict[int, int] = {}  # pid -> last seen utime + stime (clock ticks), children included
        self.own_cpu_s = 0.0  # this sampler thread's CPU (it runs in the main process): not the indexer's
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def _tree() -> dict[int, int]:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        tree, frontier = {}, [os.getpid()]
        while frontier:
            pid = frontier.pop()
            tree[pid] = 1
            frontier += [c for c, p in parents.items() if p == pid and c not in tree]
        return tree

    @staticmethod
    def _proc_kb(path: str, key: str) -> int:
        """One "Key:   N kB" field of a /proc file; 0 when the process is gone or the field is missing."""
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    @classmethod
    def _rss_kb(cls, pid: int) -> int:
        return cls._proc_kb(f"/proc/{pid}/status", "VmRSS:")

    @classmethod
    def _pss_kb(cls, pid: int) -> int:
        """Proportional set size: pages shared by the forked workers are counted once in a sum."""
        return cls._proc_kb(f"/proc/{pid}/smaps_rollup", "Pss:")

    @staticmethod
    def _cpu_ticks(pid: int) -> int | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            return None

    @property
    def cpu_s(self) -> float:
        """CPU seconds of every descendant seen in the tree (workers exited since their last sample lose < 0.5 s)."""
        return sum(v for pid, v in self.cpu_ticks.items() if pid != os.getpid()) / os.sysconf("SC_CLK_TCK")

    def _loop(self) -> None:
        n = 0
        while not self._stop.wait(0.5):
            t0 = time.thread_time()
            self._sample(pss=n % 4 == 0)  # PSS (smaps) is the costly read: every 2 s
            self.own_cpu_s += time.thread_time() - t0
            n += 1

    def _sample(self, pss: bool) -> None:
        tree = self._tree()
        for pid in tree:
            ticks = self._cpu_ticks(pid)
            if ticks is not None:
                self.cpu_ticks[pid] = max(ticks, self.cpu_ticks.get(pid, 0))
        rss = {pid: self._rss_kb(pid) for pid in tree}
        if pss:
            self.peak_total_kb = max(self.peak_total_kb, sum(self._pss_kb(pid) for pid in tree))
        workers = [v for pid, v in rss.items() if pid != os.getpid()]
        self.peak_worker_kb = max([self.peak_worker_kb] + workers)

    def __enter__(self) -> MemorySampler:
        if sys.platform.startswith("linux"):
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


def make_library(
    dest: Path, n_tracks: int, skip_ext: set[str], source: Path | None = None, copy_source: bool = False
) -> int:
    if source is not None and not copy_source:  # a real collection: links to its first n files (each analysed once)
        files = sorted(p for p in source.iterdir() if p.suffix in AUDIO_EXT)[:n_tracks]
        dest.mkdir(parents=True, exist_ok=True)
        for src in files:
            (dest / src.name).symlink_to(src.resolve())
        return len(files)
    folder = source if source is not None else ROOT / "resources" / "demo"  # copies, cycled to n_tracks
    sources = sorted(p for p in folder.iterdir() if p.suffix in AUDIO_EXT and p.suffix.lstrip(".") not in skip_ext)
    copies = 0
    while copies < n_tracks:
        folder = dest / f"copy{copies // len(sources):03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for src in sources[: n_tracks - copies]:
            shutil.copyfile(src, folder / src.name)
            copies += 1
    return copies


def _gpu_peak_mem_gb() -> float:
    import torch  # only on CUDA runs: the lean install has no torch

    return round(torch.cuda.max_memory_allocated() / 1e9, 1)


def random_model(directory: Path, with_muq: bool) -> Path:
    """Random weights, the real architecture and full-length (30 s) mel input: same compute as a trained model."""
    import torch

    from core.checkpoint import save_checkpoint
    from core.emotions import TAGS
    from core.features.genre import GENRES
    from core.model import ModelConfig, QuadFusionNet

    torch.manual_seed(0)
    branches = ("mel", "muq", "genre", "lowlevel") if with_muq else ("mel", "genre", "lowlevel")
    config = ModelConfig(branches=branches, mel_frames=1876)
    norm = {"mel": {"mean": 0.0, "std": 1.0}, "lowlevel": {"mean": [0.0] * 8, "std": [1.0] * 8}}
    if with_muq:
        norm["muq"] = {"mean": [0.0] * 1024, "std": [1.0] * 1024}
    meta = {"tags": list(TAGS), "genres": list(GENRES), "extractor_version": "1", "normalization": norm}
    return save_checkpoint(directory, QuadFusionNet(config), config, meta)


def build_muq(kind: str, device: str):
    if kind == "none":  # before the import: muq_embed imports torch, which the lean install lacks
        return None
    from core.features.muq_embed import MuQEmbedder, full_size_random_muq, tiny_muq_embedder

    if kind == "tiny":
        return tiny_muq_embedder(device=device)
    return MuQEmbedder(full_size_random_muq(), device=device)


def bench_indexing(args: argparse.Namespace) -> dict:
    from explorer.library.cache import LibraryCache
    from explorer.library.indexer import index_library

    device = _device()
    with tempfile.TemporaryDirectory(prefix="qfx-bench-", dir=args.tmp) as tmp:
        tmp_path = Path(tmp)
        n = make_library(tmp_path / "lib", args.tracks, set(args.skip_ext), args.source, args.copy_source)
        from explorer.library.gpu_run import resolve_pipeline

        pipeline = resolve_pipeline(args.pipeline)
        model = (
            {"none": False, "default": None}.get(args.model)
            if args.model in ("none", "default")
            else (random_model(tmp_path / "model", args.muq != "none") if args.model == "random" else Path(args.model))
        )
        t0 = time.monotonic()
        muq = build_muq(args.muq, device)
        muq_build_s = time.monotonic() - t0
        cache = LibraryCache.open(tmp_path / "lib", tmp_path / "cache")
        last = [0.0]

        def progress(p) -> None:
            if args.verbose and time.monotonic() - last[0] > 5:
                last[0] = time.monotonic()
                print(f"  {p.stage} {p.done}/{p.total} {p.rate * 60:.0f}/min", file=sys.stderr)

        load_before = os.getloadavg()[0]
        stage_cpu = _collect_stage_cpu()
        with MemorySampler() as mem:
            self0 = sum(os.times()[:2])
            summary = index_library(
                tmp_path / "lib",
                cache,
                workers=args.workers,
                model=model,
                muq=muq,
                progress=progress,
                batch_size=args.batch,
                pipeline=pipeline or "cpu",
            )
            main_cpu_s = sum(os.times()[:2]) - self0 - mem.own_cpu_s
        cpu_s = mem.cpu_s + main_cpu_s  # workers + forkserver (sampled) + this process (exact, less the sampler)
        load_after = os.getloadavg()[0]
        rows = len(cache.load_arrays(muq=False))
        t1 = time.monotonic()
        again = index_library(
            tmp_path / "lib", cache, workers=args.workers, model=model, muq=muq, pipeline=pipeline or "cpu"
        )
        rescan_s = time.monotonic() - t1
        db_mb = sum(f.stat().st_size for f in (tmp_path / "cache").iterdir()) / 1e6
        cache.close()
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "bench": "index",
        "machine": machine(device),
        "device": device,
        "tracks": n,
        "workers": args.workers or os.cpu_count(),
        "muq": args.muq,
        "model": args.model,
        "runtime": os.environ.get("QFX_BACKEND") or "auto",
        "batch": args.batch,
        "source": str(args.source or "demo copies"),
        "elapsed_s": round(summary.elapsed, 2),
        "tracks_per_min": round(60 * summary.analysed / summary.elapsed, 1),
        "cpu_s_per_track": round(cpu_s / max(summary.analysed, 1), 3),
        "cpu_bound_tracks_per_min_2_cores": round(2 * 60 * summary.analysed / max(cpu_s, 1e-9), 1),
        "main_cpu_s_per_track": round(main_cpu_s / max(summary.analysed, 1), 3),
        "worker_cpu_ms_per_track": _stage_table(stage_cpu, mem.cpu_s, summary.analysed),
        "sampler_cpu_s": round(mem.own_cpu_s, 2),
        "load_avg_before_after": [round(load_before, 1), round(load_after, 1)],
        "analysed": summary.analysed,
        "failed": len(summary.failed),
        "rows": rows,
        "failures": sorted({r for _, r in summary.failed})[:5],
        "reindex_unchanged_s": round(rescan_s, 2),
        "reindex_analysed": again.analysed,
        "cache_mb": round(db_mb, 1),
        "muq_build_s": round(muq_build_s, 1),
        "peak_rss_main_mb": round(self_kb / 1024),
        "peak_rss_reaped_children_mb": round(child_kb / 1024),
        "peak_rss_largest_worker_mb": round(mem.peak_worker_kb / 1024),
        "peak_pss_all_processes_mb": round(mem.peak_total_kb / 1024),
        "pipeline": "gpu" if pipeline is not None else "cpu",
        "stages": pipeline.summary() if pipeline is not None else None,
        "gpu_peak_mem_gb": _gpu_peak_mem_gb() if device == "cuda" else None,
    }


def _collect_stage_cpu() -> dict[str, float]:
    """Sums (seconds) of the per-stage CPU times that workers attach to each analysed file, by stage."""
    from explorer.library.batches import BatchRun

    totals: dict[str, float] = {}
    accept = BatchRun.accept

    def counting_accept(self, res) -> None:
        for stage, secs in (getattr(res.features, "cpu_timings", None) or {}).items():
            totals[stage] = totals.get(stage, 0.0) + secs
        accept(self, res)

    BatchRun.accept = counting_accept  # this bench process only
    return totals


def _stage_table(totals: dict[str, float], workers_cpu_s: float, n: int) -> dict[str, float]:
    """CPU ms per analysed track by stage, plus the workers' CPU outside those stages ("other")."""
    n = max(n, 1)
    table = {k: round(1000 * v / n, 1) for k, v in sorted(totals.items()) if v > 0}
    table["other"] = round(1000 * (workers_cpu_s - sum(totals.values())) / n, 1)
    return table


def bench_stages(args: argparse.Namespace) -> dict:
    """CPU milliseconds per track of each stage of one track's analysis, single-threaded in this process: where the
    time goes. Stages call the same functions as core.features.track.extract_track_features, one at a time."""
    import numpy as np

    from core.audio import _decode_native, _resample, audio_duration, excerpt_window
    from core.features.genre import genre_vector
    from core.features.interpretive import all_descriptors
    from core.features.mel_numpy import melon_mel
    from core.metadata import read_tags
    from core.runtime import load_emotion_model

    with tempfile.TemporaryDirectory(prefix="qfx-bench-", dir=args.tmp) as tmp:
        n = make_library(Path(tmp) / "lib", args.stages, set(args.skip_ext), args.source)
        files = sorted(p for p in (Path(tmp) / "lib").rglob("*") if p.suffix in AUDIO_EXT)[:n]
        model = (
            None
            if args.model == "none"
            else load_emotion_model(None if args.model in ("default", "random") else args.model, device="cpu")
        )
        if model is not None and hasattr(model, "set_threads"):
            model.set_threads(1)
        elif model is not None:
            import torch

            torch.set_num_threads(1)
        from explorer.library.indexer import needs_mel

        with_mel = args.with_mel or needs_mel(model, keep_mels=False)
        stages = ("tags", "decode", "resample", "mel", "descriptors", "musicnn", "model")
        spent = dict.fromkeys(stages, 0.0)
        load_before = os.getloadavg()[0]

        def timed(stage: str, fn, *a, **kw):
            t = time.process_time()
            out = fn(*a, **kw)
            spent[stage] += time.process_time() - t
            return out

        musicnn = None
        if model is None or getattr(model, "uses_musicnn", False):
            from core.features.track import default_musicnn, musicnn_vectors

            musicnn = default_musicnn()
            if hasattr(musicnn, "set_threads"):
                musicnn.set_threads(1)
            musicnn_vectors(musicnn, [np.zeros(16000, np.float32) + 0.01])
        if model is not None:  # warm-up (session creation, first-call allocations) is not per-track cost
            model.predict(
                mel=[np.zeros((48, 1876), np.float32)],
                lowlevel=np.zeros((1, 8)),
                genre=genre_vector(None)[None],
                musicnn=np.zeros((1, 250), np.float32),
                muq=None,
            )
        for path in files:
            tags = timed("tags", read_tags, path)

            def decode():
                start, win = excerpt_window(audio_duration(path))
                return _decode_native(path, start, win)

            audio, sr, _ = timed("decode", decode)
            wave = timed("resample", _resample, audio, sr, 16000)
            mel = timed("mel", melon_mel, wave) if with_mel else None
            low, _ = timed("descriptors", all_descriptors, wave)
            vec = timed("musicnn", musicnn_vectors, musicnn, [wave]) if musicnn is not None else None
            if model is not None:
                timed(
                    "model",
                    model.predict,
                    mel=[mel],
                    lowlevel=low[None],
                    genre=genre_vector(tags.get("genre"))[None],
                    musicnn=vec,
                    muq=None,
                )
        per = {k: round(1000 * v / max(n, 1), 1) for k, v in spent.items()}
    total = sum(spent.values()) / max(n, 1)
    return {
        "bench": "stages",
        "machine": machine("cpu"),
        "tracks": n,
        "source": str(args.source or "demo copies"),
        "runtime": type(model).__name__ if model is not None else None,
        "musicnn_runtime": type(musicnn).__name__ if musicnn is not None else None,
        "cpu_ms_per_track": per,
        "mel": "computed" if with_mel else "skipped (no mel branch, small cache)",
        "total_cpu_s_per_track": round(total, 3),
        "cpu_bound_tracks_per_min_2_cores": round(2 * 60 / max(total, 1e-9), 1),
        "load_avg_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def bench_load_arrays(n: int, tmp: str | None, with_muq: bool = True) -> dict:
    """Fill a cache with `n` synthetic analysed tracks (what an indexer writes) and time load_arrays()."""
    import numpy as np

    from core.features.genre import GENRES
    from core.features.interpretive import DESCRIPTOR_NAMES
    from explorer.library.cache import LibraryCache

    rng = np.random.default_rng(0)
    d, g = len(DESCRIPTOR_NAMES), len(GENRES)
    with tempfile.TemporaryDirectory(prefix="qfx-bench-", dir=tmp) as tmpdir:
        root = Path(tmpdir) / "lib"
        cache = LibraryCache.open(root, Path(tmpdir) / "cache")
        t0 = time.monotonic()
        chunk = 10_000
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            ids = range(start + 1, start + m + 1)
            genre = np.zeros((m, g), "<f4")
            genre[np.arange(m), rng.integers(0, g, m)] = 1
            cols = {
                "low": rng.normal(size=(m, 8)),
                "desc": rng.normal(size=(m, d)),
                "emb": rng.normal(size=(m, 128)),
                "tags": rng.dirichlet(np.ones(12), m),
                "quad": rng.dirichlet(np.ones(4), m),
            }
            cols = {k: np.ascontiguousarray(v, dtype="<f4") for k, v in cols.items()}  # one draw per chunk
            fps = rng.bytes(16 * m)
            with cache.transaction() as con:
                con.executemany(
                    "INSERT INTO tracks (id, path, size, mtime_ns, fingerprint, title, artist, album, genre, genres,"
                    " status, added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,'[]','done',0,0)",
                    [
                        (
                            i,
                            f"{root}/artist{i % 997}/album{i % 89}/{i:06d} - some title.mp3".encode(),
                            5_000_000,
                            i,
                            fps[16 * k : 16 * k + 16],
                            f"Title {i}",
                            f"Artist {i % 997}",
                            f"Album {i % 89}",
                            "Rock",
                        )
                        for k, i in enumerate(ids)
                    ],
                )
                con.executemany(
                    "INSERT INTO features (track_id, extractor_version, duration, excerpt_start, genre, lowlevel,"
                    " interpretive) VALUES (?,?,?,?,?,?,?)",  # named: later schema versions add columns
                    [
                        (i, "1", 200.0, 60.0, genre[k].tobytes(), cols["low"][k].tobytes(), cols["desc"][k].tobytes())
                        for k, i in enumerate(ids)
                    ],
                )
                if with_muq:  # 4 KiB a track: 4 GB at 10^6, which the map never reads
                    muq = rng.normal(size=(m, 1024)).astype("<f4")
                    con.executemany("INSERT INTO muq VALUES (?,?)", [(i, muq[k].tobytes()) for k, i in enumerate(ids)])
                con.executemany(
                    "INSERT INTO analysis VALUES (?,?,?,?,?)",
                    [
                        (i, "m1", cols["tags"][k].tobytes(), cols["quad"][k].tobytes(), cols["emb"][k].tobytes())
                        for k, i in enumerate(ids)
                    ],
                )
        cache.refresh_snapshot()  # what the indexer does at the end of a run
        fill_s = time.monotonic() - t0
        cache.close()
        import gc

        gc.collect()
        out = {"bench": "load_arrays", "tracks": n, "fill_s": round(fill_s, 1)}
        for muq in (False, True) if with_muq else (False,):
            times = []
            for _ in range(3):
                cache = LibraryCache.open(root, Path(tmpdir) / "cache")  # fresh connection: no statement cache
                t0, c0 = time.perf_counter(), time.process_time()
                arrays = cache.load_arrays(muq=muq)
                times.append(time.perf_counter() - t0)
                out[f"load_arrays_{'with' if muq else 'without'}_muq_cpu_s"] = round(time.process_time() - c0, 3)
                cache.close()
            assert len(arrays) == n
            out[f"load_arrays_{'with' if muq else 'without'}_muq_s"] = round(min(times), 3)
            out[f"rss_with_arrays_{'with' if muq else 'without'}_muq_mb"] = round(
                MemorySampler._rss_kb(os.getpid()) / 1024
            )  # the whole process, holding the loaded arrays
        out["machine"] = machine("cpu")
    return out


def _as_a_worker() -> None:
    """Re-run this process under the environment the indexer gives its workers (explorer.library.pool): one
    BLAS/OpenMP thread (two on a loaded 2-core machine made the descriptors' matrix products 5-10x slower) and
    the malloc settings, which glibc only reads at start-up."""
    from explorer.library.pool import worker_environment

    wanted = worker_environment()
    if all(os.environ.get(k) == v for k, v in wanted.items()):
        return
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **wanted})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=520)
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    ap.add_argument("--muq", choices=("none", "tiny", "full-random"), default="none")
    ap.add_argument(
        "--model",
        default="random",
        help="'random' (random-init, full size; needs torch), 'default' (the shipped model), 'none', or a "
        "checkpoint folder",
    )
    ap.add_argument("--stages", type=int, default=0, metavar="N", help="only profile the stages on N tracks")
    ap.add_argument("--with-mel", action="store_true", help="--stages: time the mel even when indexing skips it")
    ap.add_argument("--batch", type=int, default=32, help="files per model batch / transaction")
    ap.add_argument(
        "--source",
        type=Path,
        default=None,
        help="index links to the first N audio files of this folder instead of demo copies",
    )
    ap.add_argument(
        "--copy-source",
        action="store_true",
        help="with --source: index --tracks copies of its files (cycled) instead of links to the first N",
    )
    ap.add_argument(
        "--pipeline",
        choices=("auto", "cpu", "gpu"),
        default="auto",
        help="gpu: decode-only workers + batched GPU features/MuQ/model (auto: gpu when CUDA is present)",
    )
    ap.add_argument("--skip-ext", nargs="*", default=[], help="leave out demo files with these extensions (e.g. m4a)")
    ap.add_argument(
        "--load-arrays", type=int, default=0, metavar="N", help="only time load_arrays() on N synthetic tracks"
    )
    ap.add_argument("--no-muq-column", action="store_true", help="--load-arrays without the MuQ column (10^6 runs)")
    ap.add_argument("--tmp", default=None, help="where the copied library and cache go")
    ap.add_argument("--out", type=Path, default=None, help="also append the JSON line to this file")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.stages:
        _as_a_worker()
    if args.load_arrays:
        result = bench_load_arrays(args.load_arrays, args.tmp, not args.no_muq_column)
    elif args.stages:
        result = bench_stages(args)
    else:
        result = bench_indexing(args)
    report(result, args.out)


if __name__ == "__main__":
    main()
