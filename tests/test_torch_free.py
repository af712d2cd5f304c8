"""The runtime path without torch: indexing, the map, recommendations and the window, in processes that cannot
import torch (tests/no_torch hides the GPU/training extras), with results equal to the torch path's.

The wheel test (tests/test_wheel.py) checks the same on a real torch-free install; this one runs in seconds
inside the development venv, so `make test` always covers the lean path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
HIDER = ROOT / "tests" / "no_torch"


def _env(**extra: str) -> dict[str, str]:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(HIDER), str(ROOT)]),
        QT_QPA_PLATFORM="offscreen",
        OMP_NUM_THREADS="1",
    )
    env.pop("QFX_BACKEND", None)
    env.update(extra)
    return env


def _python(code: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(**env), capture_output=True, text=True, timeout=timeout
    )


def test_torch_is_really_hidden() -> None:
    out = _python(
        "import importlib.util, sys\n"
        "from core.runtime import torch_available, onnxruntime_available\n"
        "try:\n    import torch\nexcept ImportError:\n    print('hidden')\n"
        "print(torch_available(), onnxruntime_available())"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["hidden", "False", "True"]


def test_index_map_recommend_without_torch_match_the_torch_path(tmp_path: Path, demo_dir: Path) -> None:
    """fp32 graphs (the emotion model and MusiCNN), so the scores must equal torch's on the same features."""
    library = tmp_path / "library"
    shutil.copytree(demo_dir, library)
    cache = tmp_path / "cache"
    code = f"""
import json, sys
from explorer.cli.main import main
assert main(["index", {str(library)!r}, "--cache", {str(cache)!r}, "--workers", "2", "--quiet"]) == 0
assert main(["map", {str(library)!r}, "--cache", {str(cache)!r}, "--out", {str(tmp_path / "map.png")!r},
             "--size", "640x480"]) == 0
first = sorted(p for p in __import__("pathlib").Path({str(library)!r}).iterdir() if p.suffix == ".ogg")[0]
assert main(["recommend", {str(library)!r}, "--cache", {str(cache)!r}, "--like", str(first), "--n", "5"]) == 0
from core.runtime import load_emotion_model
model = load_emotion_model()
print("RESULT", json.dumps({{"model": type(model).__name__, "torch": "torch" in sys.modules}}))
"""
    out = _python(code, QFX_ONNX_PRECISION="fp32")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    result = json.loads(out.stdout.split("RESULT", 1)[1])
    assert result == {"model": "OnnxEmotionModel", "torch": False}
    assert "20 analysed" in out.stdout and " 0 failed" in out.stdout
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the same tracks through the torch path in this process: same features, predictions within 1e-4
    from core.features.track import extract_track_features
    from core.inference import EmotionModel
    from explorer.library.cache import LibraryCache

    with LibraryCache.open(library, cache) as c:
        arrays = c.load_arrays()
    assert len(arrays) == 20
    model = EmotionModel.load(device="cpu")
    rows = [0, 7, 13]
    feats = [extract_track_features(arrays.paths[i]) for i in rows]
    pred = model.predict(
        mel=[f.mel for f in feats],
        lowlevel=np.stack([f.lowlevel for f in feats]),
        genre=np.stack([f.genre for f in feats]),
        musicnn=np.stack([f.musicnn for f in feats]),
        interpretive=np.stack([f.interpretive for f in feats]),
    )
    assert np.abs(pred.tag_scores - arrays.tag_scores[rows]).max() <= 1e-4
    assert np.abs(pred.quadrant_probs - arrays.quadrant_probs[rows]).max() <= 1e-4
    assert np.abs(pred.embeddings - arrays.embeddings[rows]).max() <= 1e-4


def test_unexported_checkpoint_without_torch_says_what_to_do(tmp_path: Path) -> None:
    from core.inference_base import default_model_dir

    folder = tmp_path / "model"
    shutil.copytree(default_model_dir(), folder, ignore=shutil.ignore_patterns("*.onnx"))
    out = _python(f"from core.runtime import load_emotion_model\nload_emotion_model({str(folder)!r})")
    assert out.returncode != 0
    assert "RuntimeUnavailable" in out.stderr and "export_onnx.py" in out.stderr


@pytest.mark.slow
def test_window_opens_and_indexes_without_torch(tmp_path: Path, demo_dir: Path) -> None:
    """The desktop app (frozen-bundle launcher, offscreen) indexes the demo in the background and shows it."""
    library = tmp_path / "library"
    shutil.copytree(demo_dir, library)
    out = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "entry.py"), str(library), "--cache", str(tmp_path / "cache")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env=_env(QFX_SMOKE_TEST="200", QFX_SMOKE_TRACKS="20", QFX_LOG_DIR=str(tmp_path / "logs")),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "tracks=20" in out.stdout and "Traceback" not in out.stderr
