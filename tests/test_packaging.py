"""Fast packaging checks: the PyInstaller spec, the Linux packaging files and the About dialog (offscreen).

The slow end-to-end check (build the bundle, install the .deb into a scratch root, run it) is `make package-test`.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "pyinstaller.spec"
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"


# --- pyinstaller.spec --------------------------------------------------------------------------------------------


def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _calls(tree: ast.Module, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name]


def _literal_list(tree: ast.Module, var: str) -> list:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == var for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{var} not assigned in the spec")


def test_spec_builds_two_executables_into_one_folder():
    tree = _spec_tree()
    exe_names = {kw.value.value for call in _calls(tree, "EXE") for kw in call.keywords if kw.arg == "name"}
    assert exe_names == {"qfx-explorer", "qfx"}
    (collect,) = _calls(tree, "COLLECT")
    assert [a.id for a in collect.args[:2]] == ["gui", "cli"], "both executables share one COLLECT"
    for call in _calls(tree, "EXE"):
        kws = {kw.arg for kw in call.keywords}
        assert "exclude_binaries" in kws or any(isinstance(k.value, ast.Name) for k in call.keywords if k.arg is None)
    (analysis,) = _calls(tree, "Analysis")
    script = ast.unparse(analysis.args[0])
    assert "entry.py" in script and (PACKAGING / "entry.py").is_file()


def test_spec_ships_resources_and_excludes_test_and_unused_packages():
    tree = _spec_tree()
    text = SPEC.read_text(encoding="utf-8")
    assert 'datas = [(str(ROOT / "resources"), "resources")]' in text
    excludes = _literal_list(tree, "excludes")
    for name in ("pytest", "_pytest", "pytestqt", "tkinter", "IPython", "matplotlib", "triton"):
        assert name in excludes, name
    # never exclude what the app imports at run time (the gpu flavour also imports torch and MuQ)
    for needed in (
        "torch",
        "torchgen",
        "torch.testing._internal",
        "muq",
        "x_clip",
        "torchvision",
        "essentia",
        "PySide6",
        "pyqtgraph",
        "soundfile",
        "sklearn",
        "onnxruntime",
    ):
        assert needed not in excludes, needed
    # the lean cpu flavour leaves out torch and exactly the modules that import it
    torch_only = _literal_list(tree, "TORCH_ONLY")
    assert {"torch", "torchaudio", "torchvision", "muq", "transformers", "core.inference", "core.model"} <= set(
        torch_only
    )
    for needed in (
        "onnxruntime",
        "core.onnx_runtime",
        "core.runtime",
        "core.inference_base",
        "core.checkpoint",
        "core.features.mel_numpy",
        "core.features.track",
        "essentia",
        "PySide6",
        "scipy",
    ):
        assert needed not in torch_only, needed
    # what the spec ships must exist in the tree
    for rel in (
        "resources/demo/CREDITS.md",
        "resources/genres.json",
        "resources/emotions.json",
        "resources/descriptors.json",
        "resources/icons/quadfusion-explorer-256.png",
    ):
        assert (ROOT / rel).is_file(), rel


def test_frozen_launcher_dispatches_on_executable_name():
    """packaging/entry.py must call freeze_support first (the indexer's forkserver re-runs the executable)."""
    tree = ast.parse((PACKAGING / "entry.py").read_text(encoding="utf-8"))
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    first = ast.unparse(main.body[0])
    assert first == "multiprocessing.freeze_support()"
    body = ast.unparse(main)
    assert "explorer.cli.main" in body and "explorer.app" in body and "'qfx'" in body


# --- Linux packaging files ---------------------------------------------------------------------------------------


def test_desktop_entry_is_valid():
    entry = PACKAGING / "linux" / "quadfusion-explorer.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(entry, encoding="utf-8")
    de = parser["Desktop Entry"]
    assert de["Type"] == "Application" and de["Exec"].startswith("qfx-explorer")
    assert de["Icon"] == "quadfusion-explorer"
    assert "Audio" in de["Categories"].split(";")
    # a music explorer is no handler for every folder of the desktop (it was registered for inode/directory)
    assert "inode/directory" not in de.get("MimeType", "")
    validator = "/usr/bin/desktop-file-validate"
    if os.path.exists(validator):
        result = subprocess.run([validator, str(entry)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_icons_are_square_pngs_of_the_declared_sizes():
    for size in (48, 128, 256):
        data = (ICONS / f"quadfusion-explorer-{size}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (size, size)
    assert (ICONS / "quadfusion-explorer.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"


def test_deb_control_template_and_build_script():
    control = (PACKAGING / "linux" / "control.in").read_text(encoding="utf-8")
    fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", control, flags=re.M))
    assert fields["Package"] == "@PACKAGE@" and fields["Conflicts"] == "@CONFLICTS@"
    assert fields["Architecture"] == "@ARCH@" and fields["Version"] == "@VERSION@"
    for dep in ("libportaudio2", "libxcb-cursor0"):
        assert dep in fields["Depends"]
    script = PACKAGING / "build_linux.sh"
    assert os.access(script, os.X_OK)
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_other_platform_recipes_exist():
    iss = (PACKAGING / "windows" / "quadfusion-explorer.iss").read_text(encoding="utf-8")
    assert "qfx-explorer.exe" in iss and "dist\\quadfusion-explorer" in iss
    mac = PACKAGING / "macos" / "build_dmg.sh"
    assert "hdiutil create" in mac.read_text(encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(mac)], capture_output=True).returncode == 0


# --- About dialog ------------------------------------------------------------------------------------------------


@pytest.fixture()
def trained_checkpoint(tmp_path: Path) -> Path:
    """A real checkpoint written by core.checkpoint, with a training record and metrics like core.train stores."""
    import numpy as np

    from core.checkpoint import save_checkpoint
    from core.emotions import TAGS
    from core.features.genre import GENRES
    from core.features.track import EXTRACTOR_VERSION
    from core.model import ModelConfig, QuadFusionNet

    config = ModelConfig(branches=("genre", "lowlevel"))
    meta = {
        "tags": list(TAGS),
        "genres": list(GENRES),
        "extractor_version": str(EXTRACTOR_VERSION),
        "normalization": {"lowlevel": {"mean": np.zeros(8), "std": np.ones(8)}},
        "training": {
            "dataset": "4Q audio emotion dataset (train split, 640 clips)",
            "best_epoch": 17,
            "config": {"seed": 3, "epochs": 40, "task": "both"},
        },
        "metrics": {
            "validation": {"ndcg@3": 0.7134, "macro_f1": 0.5021},
            "test": {"ndcg@3": 0.6987, "per_class_f1": [0.6, 0.5, 0.4, 0.55]},
        },
    }
    return save_checkpoint(tmp_path / "ckpt", QuadFusionNet(config), config, meta)


def test_about_dialog_shows_version_licences_credits_and_model_card(qtbot, trained_checkpoint):
    from explorer.library.model_choice import active_model
    from explorer.ui.about import show_about

    meta = active_model(str(trained_checkpoint)).meta
    assert meta is not None and meta["model"]["branches"] == ["genre", "lowlevel"]
    dialog = show_about(None, meta)
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    assert "0.1.0" in dialog.version and "0.1.0" in dialog.title.text()

    card = dialog.tab_text("Model card")
    assert "4Q audio emotion dataset (train split, 640 clips)" in card
    assert "genre, lowlevel" in card
    assert re.search(r"validation / ndcg@3\s+0\.713", card)
    assert re.search(r"test / per_class_f1\s+0\.6", card)
    assert "recipe / seed" in card

    licences = dialog.tab_text("Licences")
    assert "AGPL-3.0-or-later" in licences and "Essentia" in licences
    assert "CC-BY-NC 4.0" in licences and "MIT" in licences

    credits = dialog.tab_text("Demo music")
    assert "Tyler Johnson" in credits and "LupusMechanicus" in credits and "GPL-2+" in credits


def test_about_dialog_without_a_model_explains_it(qtbot, tmp_path, monkeypatch):
    from explorer.library.model_choice import active_model
    from explorer.ui.about import show_about

    monkeypatch.setenv("QFX_MODEL", str(tmp_path / "missing"))
    assert active_model().meta is None
    dialog = show_about(None)
    qtbot.addWidget(dialog)
    assert "No emotion model is installed" in dialog.tab_text("Model card")
    with pytest.raises(KeyError):
        dialog.tab_text("Nope")


def test_main_window_help_menu_opens_about(qtbot, tmp_path, monkeypatch):
    """The Help > About action is wired to show_about; a renamed or missing action fails the test."""
    from PySide6.QtWidgets import QApplication

    from explorer.ui.about import AboutDialog
    from explorer.ui.main_window import MainWindow

    monkeypatch.setenv("QFX_MODEL", str(tmp_path / "missing"))
    window = MainWindow(cache_dir=tmp_path / "cache")
    qtbot.addWidget(window)
    actions = {
        a.text().replace("&", ""): a
        for menu in window.menuBar().actions()
        if menu.menu()
        for a in menu.menu().actions()
    }
    about = next((a for text, a in actions.items() if text.startswith("About")), None)
    assert about is not None, f"no Help > About action among {sorted(actions)}"
    about.trigger()
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, AboutDialog) and w.isVisible()]
    assert dialogs, "About dialog did not open"
    for d in dialogs:
        d.close()
