"""Settings ▸ Emotion model… / MuQ weights folder…: a checkpoint is checked before it is kept, persisted, overridden
by QFX_MODEL, and the open library is re-indexed with it (model re-run on stored features, no decoding)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QSettings

from explorer.library.model_choice import active_model
from explorer.ui import main_window as mw
from explorer.ui.main_window import MainWindow
from ui_helpers import RecordingPlayer


def random_checkpoint(out: Path, seed: int, branches=("mel", "genre", "lowlevel"), dataset="random init") -> Path:
    import torch

    from core.checkpoint import save_checkpoint
    from core.emotions import TAGS
    from core.features.genre import GENRES
    from core.features.lowlevel import LOWLEVEL_NAMES
    from core.features.track import EXTRACTOR_VERSION
    from core.model import ModelConfig, QuadFusionNet

    torch.manual_seed(seed)
    config = ModelConfig(branches=tuple(branches), mel_frames=256)
    norm = {"lowlevel": {"mean": np.zeros(len(LOWLEVEL_NAMES)), "std": np.ones(len(LOWLEVEL_NAMES))}}
    if "mel" in branches:
        norm["mel"] = {"mean": -3.5, "std": 2.0}
    if "muq" in branches:
        norm["muq"] = {"mean": np.zeros(config.muq_dim), "std": np.ones(config.muq_dim)}
    meta = {
        "tags": list(TAGS),
        "genres": list(GENRES),
        "normalization": norm,
        "extractor_version": str(EXTRACTOR_VERSION),
        "training": {"dataset": dataset},
    }
    return save_checkpoint(out, QuadFusionNet(config).eval(), config, meta)


@pytest.fixture
def window(qtbot, indexed, tmp_path, monkeypatch):
    monkeypatch.delenv("QFX_MODEL", raising=False)
    monkeypatch.delenv("QFX_MUQ_DIR", raising=False)
    library, cache_dir, model_dir = indexed
    cache_copy = tmp_path / "cache"
    shutil.copytree(cache_dir, cache_copy)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    if Path(model_dir).resolve() != active_model(None, None).directory.resolve():
        settings.setValue("model/dir", str(model_dir))  # the library was indexed with the stand-in model
    win = MainWindow(player=RecordingPlayer(), settings=settings, cache_dir=cache_copy, index_workers=1)
    qtbot.addWidget(win)
    win.show()
    win.open_library(library, index=False)
    yield win
    win.close()


def _wait_indexed(qtbot, win) -> list:
    done: list = []
    win.library.worker.succeeded.connect(done.append)
    qtbot.waitUntil(
        lambda: bool(done) and not win.library.worker.isRunning() and not win.index_status.cancel_button.isVisible(),
        timeout=120000,
    )
    return done


def test_choosing_a_model_checks_persists_and_reindexes(window, qtbot, tmp_path, monkeypatch):
    win = window
    before = win.library.arrays.tag_scores.copy()
    first_label = win.model_label.text()
    was_builtin = win.models.active.source == "built-in"
    ckpt = random_checkpoint(tmp_path / "my-model", seed=7, dataset="seed 7 for the model-choice test")
    assert win.models.choose_model(str(ckpt))
    assert win.settings.model_dir() == str(ckpt.resolve())
    assert win.model_label.text().startswith("Model: my-model") and "mel + genre + lowlevel" in win.model_label.text()
    assert "seed 7 for the model-choice test" in win.model_label.toolTip()
    assert win.library.worker is not None
    summary = _wait_indexed(qtbot, win)[0]
    # The small cache keeps no mel (docs/indexing.md): the new model version decodes the files again.
    assert summary.analysed == 20 and summary.reanalysed == 0
    assert not np.allclose(win.library.arrays.tag_scores, before)

    about = []
    monkeypatch.setattr("explorer.ui.about.AboutDialog.open", lambda self: about.append(self))
    win.show_about()
    card = about[0].tab_text("Model card")
    assert str(ckpt.resolve()) in card and "seed 7 for the model-choice test" in card

    # a new window reads the stored choice; QFX_MODEL still overrides it
    again = MainWindow(player=RecordingPlayer(), settings=win.settings.q, cache_dir=tmp_path / "c2")
    qtbot.addWidget(again)
    assert again.models.active.path == str(ckpt.resolve()) and again.models.active.source == "settings"
    monkeypatch.setenv("QFX_MODEL", str(tmp_path / "elsewhere"))
    third = MainWindow(player=RecordingPlayer(), settings=win.settings.q, cache_dir=tmp_path / "c3")
    qtbot.addWidget(third)
    assert third.models.active.source == "QFX_MODEL" and "unreadable" in third.model_label.text()
    monkeypatch.delenv("QFX_MODEL")

    if was_builtin:  # back to the built-in model: the same scores as at the start
        win.models.use_builtin_model()
        assert (
            win.settings.model_dir() is None
            and win.models.active.path is None
            and win.model_label.text() == first_label
        )
        _wait_indexed(qtbot, win)
        np.testing.assert_allclose(win.library.arrays.tag_scores, before, atol=1e-4)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_corrupt_model_folder_is_a_dialog(window, tmp_path, monkeypatch, damage):
    win = window
    shown: list[tuple] = []
    monkeypatch.setattr(mw, "show_error", lambda parent, title, msg, details="": shown.append((title, msg, details)))
    bad = tmp_path / "bad"
    if damage == "garbage":
        bad.mkdir()
        (bad / "config.json").write_text("{not json")
        (bad / "model.safetensors").write_bytes(b"\0" * 64)
    elif damage == "truncated":
        random_checkpoint(bad, seed=1)
        weights = bad / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])
    else:
        bad.mkdir()
    label = win.model_label.text()
    assert not win.models.choose_model(str(bad))
    assert len(shown) == 1
    title, msg, details = shown[0]
    assert title == "Not a usable emotion model" and str(bad) in msg and "Traceback" not in msg + details
    assert win.settings.model_dir() != str(bad.resolve()) and win.model_label.text() == label
    assert not win.library.is_indexing()


def test_muq_weights_folder_checked_in_the_background(window, qtbot, tmp_path, monkeypatch):
    from core.features.muq_embed import tiny_muq_embedder

    win = window
    shown: list[tuple] = []
    monkeypatch.setattr(mw, "show_error", lambda parent, title, msg, details="": shown.append((title, msg)))
    infos: list[tuple] = []
    monkeypatch.setattr(mw, "show_info", lambda parent, title, msg: infos.append((title, msg)))

    corrupt = tmp_path / "corrupt-muq"
    corrupt.mkdir()
    (corrupt / "config.json").write_text("{}")
    (corrupt / "model.safetensors").write_bytes(b"not a safetensors file")
    win.models.choose_muq_dir(str(corrupt))
    assert win.models.checking and not shown  # the GUI thread did not wait for the load
    assert not win.muq_action.isEnabled()  # one check at a time
    # the error and the re-enabled action arrive in one GUI event: once the error is shown, the action is usable
    qtbot.waitUntil(lambda: bool(shown), timeout=60000)
    assert not win.models.checking
    assert shown[0][0] == "MuQ weights not usable" and "CC-BY-NC" in shown[0][1]
    assert win.settings.muq_dir() is None and win.muq_action.isEnabled()

    # a model with a MuQ branch but no weights yet: told what to do, nothing re-indexed
    muq_model = random_checkpoint(tmp_path / "muq-model", seed=3, branches=("muq", "genre", "lowlevel"))
    assert win.models.choose_model(str(muq_model))
    assert infos and "MuQ weights" in infos[0][0] and not win.library.is_indexing()
    assert win.models.active.uses_muq and win.models.active.loader_args() == (str(muq_model.resolve()), None)

    good = tmp_path / "tiny-muq"
    tiny_muq_embedder().model.save_pretrained(good)
    win.models.choose_muq_dir(str(good))
    qtbot.waitUntil(lambda: win.settings.muq_dir() is not None, timeout=60000)
    assert len(shown) == 1 and win.settings.muq_dir() == str(good.resolve())
    assert win.models.active.loader_args() == (str(muq_model.resolve()), str(good.resolve()))
    assert win.library.worker is not None  # re-indexing with MuQ started (it decodes every file: stop it here)
    win.library.cancel_indexing(wait=True)
