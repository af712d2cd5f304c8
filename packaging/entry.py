"""Frozen-bundle launcher: one script behind both executables, dispatching on the executable's name.

Why a separate launcher: the indexer's worker pool uses multiprocessing (forkserver on Linux, spawn elsewhere), and a
frozen executable must call `multiprocessing.freeze_support()` before anything else, or every helper process would
re-run the CLI/GUI argument parser. `qfx` (or `qfx.exe`) runs the command line; any other name runs the desktop app.

`QFX_SMOKE_TEST=SECONDS` (GUI only) starts the app, lets it run SECONDS, prints one line describing the main window
and quits with 0 (1 if no main window appeared); with `QFX_SMOKE_TRACKS=N` it quits as soon as N tracks are loaded
and fails if they never are. `make package-test` uses it to run the bundled GUI (and its background indexing).
`QFX_SELF_TEST=1` runs `_self_test()` instead: proves the bundle carries what the analysis needs at run time
(Essentia and libsndfile decoding, the features, the shipped model on ONNX Runtime; torch and MuQ with its x_clip
data in the gpu flavour).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path


def _install_smoke_test(seconds: float, want_tracks: int = 0) -> None:
    """Quit the GUI after `seconds` (or as soon as `want_tracks` tracks are loaded), reporting the main window.

    Reuses the QApplication that explorer.app creates. Exit status 1 when no main window appeared or fewer than
    `want_tracks` tracks were loaded (e.g. background indexing failed inside the bundle).
    """
    import time

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    deadline = time.monotonic() + seconds

    def main_window():
        return next((w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow"), None)

    def n_tracks(win) -> int:
        library = getattr(win, "library", None)  # the window's library controller holds the loaded arrays
        arrays = getattr(library, "arrays", None)
        return len(arrays) if arrays is not None else 0

    def poll() -> None:
        win = main_window()
        done = win is not None and want_tracks > 0 and n_tracks(win) >= want_tracks
        if not done and time.monotonic() < deadline:
            return
        timer.stop()
        ok = win is not None and n_tracks(win) >= want_tracks
        if win is None:
            print("smoke-test: no main window", flush=True)
        else:
            print(
                f"smoke-test: main window up: {win.windowTitle()!r}, visible={win.isVisible()}, tracks={n_tracks(win)}",
                flush=True,
            )
            win.close()  # runs the window's own shutdown (cancels indexing, stops playback)
        app.exit(0 if ok else 1)

    timer = QTimer(app)
    timer.timeout.connect(poll)
    timer.start(250)


def _self_test() -> int:
    """One line per check; exit status 0 only when all pass. Uses the demo library shipped in resources/.

    Both flavours: Essentia and libsndfile decoding, the features, the default model on the runtime this bundle
    picks (ONNX Runtime in the lean bundle) giving valid probabilities. The gpu flavour also checks torch and MuQ."""
    import numpy as np

    from core.audio import load_audio
    from core.features.track import extract_track_features
    from core.resources import resource_path
    from core.runtime import load_emotion_model, torch_available

    demo = resource_path("demo")
    mp3 = load_audio(demo / "wesnoth_frantic.mp3", 16000, duration=5.0)  # Essentia route
    opus = load_audio(demo / "wesnoth_knolls.opus", 24000, duration=5.0)  # libopus route (libsndfile without it)
    from core.opus_decode import available as libopus_available

    route = "libopus" if libopus_available() else "libsndfile"
    print(f"self-test: decoded mp3 {mp3.shape} opus {opus.shape} (Opus through {route})")
    ok = mp3.size > 0 and opus.size > 0
    from core.features.track import default_musicnn

    print(f"self-test: MusiCNN on {type(default_musicnn()).__name__}")
    feats = extract_track_features(demo / "wesnoth_sad.ogg")
    model = load_emotion_model(device="cpu")
    pred = model.predict(
        mel=[feats.mel],
        lowlevel=feats.lowlevel[None],
        genre=feats.genre[None],
        musicnn=None if feats.musicnn is None else feats.musicnn[None],
        interpretive=feats.interpretive[None],
    )
    valid = bool(np.isfinite(pred.embeddings).all()) and abs(float(pred.tag_scores.sum()) - 1.0) < 1e-4
    print(
        f"self-test: default model on {type(model).__name__} ({model.profile}, {model.version[:12]}), "
        f"top tag {model.tags[int(pred.tag_scores[0].argmax())]}, valid={valid}"
    )
    ok = ok and valid
    if torch_available():
        import torch

        from core.features.muq_embed import tiny_muq_embedder

        torch.set_num_threads(1)
        y = torch.nn.Conv2d(1, 4, 3)(torch.randn(2, 1, 64, 64))
        print(f"self-test: torch {torch.__version__} cpu conv {tuple(y.shape)} cuda={torch.cuda.is_available()}")
        emb = tiny_muq_embedder().embed([opus.astype(np.float32)])
        print(f"self-test: tiny MuQ embedding {emb.shape} finite={bool(np.isfinite(emb).all())}")
        ok = ok and emb.shape == (1, 1024)
    else:
        print("self-test: torch not bundled (lean flavour)")
    print("self-test: ok" if ok else "self-test: FAILED")
    return 0 if ok else 1


def main() -> int:
    multiprocessing.freeze_support()
    if os.environ.get("QFX_SELF_TEST"):
        return _self_test()
    if Path(sys.executable).stem.lower() == "qfx":
        from explorer.cli.main import main as cli_main

        return cli_main()
    smoke = os.environ.get("QFX_SMOKE_TEST")
    if smoke:
        _install_smoke_test(float(smoke), int(os.environ.get("QFX_SMOKE_TRACKS") or 0))
    from explorer.app import main as app_main

    return app_main()


if __name__ == "__main__":
    sys.exit(main())
