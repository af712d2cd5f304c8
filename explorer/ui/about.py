"""Help > About: version, licences (the AGPL obligation comes from Essentia), demo music credits and the model card.

The model card is read from the checkpoint's config.json (`training`, `model.branches`, `metrics`), so what the user
sees is what the loaded model was actually trained on and scored, not prose that can drift from it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from core.resources import resource_path
from explorer.version import app_version

APP_NAME = "QuadFusion Explorer"
PROJECT_LICENCE = "AGPL-3.0-or-later"
PAPER = "Music Recommendation Integrating Emotion and Genre via Multi-label Ranking Learning"

# (component, what it is used for, licence). The first rows carry obligations users must know about.
LICENCES: tuple[tuple[str, str, str], ...] = (
    ("QuadFusion Explorer", "this application", "AGPL-3.0-or-later (required because it links Essentia, AGPL-3.0)"),
    ("Essentia", "audio decoding and reference descriptors (MTG, Universitat Pompeu Fabra)", "AGPL-3.0"),
    ("MuQ model code", "optional MuQ audio embeddings (muq package)", "MIT"),
    ("MuQ pretrained weights", "not shipped; used only if you install them", "CC-BY-NC 4.0 (non-commercial use only)"),
    ("ONNX Runtime", "emotion model inference (the default runtime)", "MIT"),
    (
        "MusiCNN-MSD weights (musicnn 0.1.0, Jordi Pons, MTG, Universitat Pompeu Fabra)",
        "shipped audio tagger: 50 MSD tags and a 200-d embedding, genre from audio",
        "ISC",
    ),
    ("PyTorch, torchaudio, torchvision", "training, MuQ and GPU inference (optional extras)", "BSD-3-Clause"),
    ("Qt 6 / PySide6", "user interface", "LGPL-3.0"),
    ("pyqtgraph", "the map", "MIT"),
    (
        "NumPy, SciPy, scikit-learn",
        "numerics, PCA, clustering; scikit-learn only in the training tools",
        "BSD-3-Clause",
    ),
    ("Hugging Face transformers, safetensors, tokenizers", "MuQ building blocks, checkpoint format", "Apache-2.0"),
    ("soundfile / libsndfile", "decoding Opus, FLAC, Ogg, WAV", "BSD-3-Clause / LGPL-2.1-or-later"),
    ("sounddevice / PortAudio", "audio output", "MIT"),
    ("python-soxr / libsoxr", "resampling", "LGPL-2.1-or-later"),
    ("mutagen", "reading tags", "GPL-2.0-or-later"),
    ("imbalanced-learn", "class balancing in training", "MIT"),
    ("platformdirs, tqdm, einops", "cache paths, progress, tensor ops", "MIT / MPL-2.0"),
)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"  # metrics (0.6193) and learning rates (0.0003) alike
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]], depth: int = 0) -> None:
    """Nested metric dicts -> ('validation / ndcg@3', '0.712') rows; long lists (per-class arrays) are summarised."""
    if isinstance(value, Mapping) and depth < 4:
        for key, sub in value.items():
            _flatten(f"{prefix} / {key}" if prefix else str(key), sub, out, depth + 1)
    elif isinstance(value, (list, tuple)) and len(value) > 12:
        out.append((prefix, f"{len(value)} values"))
    elif value not in ("", None, [], {}):
        out.append((prefix, _fmt(value)))


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table cellspacing='2'>{body}</table>"


def model_card_html(meta: Mapping[str, Any] | None, location: str | None = None) -> str:
    """The model card: training data and recipe, input branches, output heads and the stored metrics."""
    if not meta:
        where = f"<p>No readable checkpoint in <tt>{html.escape(location)}</tt>.</p>" if location else ""
        return (
            "<p><b>No emotion model is installed.</b></p>" + where + "<p>The explorer stores features and shows "
            "the map once a model is installed in <tt>resources/models/default</tt> (or chosen in "
            "<i>Settings ▸ Emotion model…</i>, or named by <tt>QFX_MODEL</tt>) and the library is re-indexed.</p>"
        )
    model = meta.get("model") or {}
    training = dict(meta.get("training") or {})
    recipe = training.pop("config", None)
    rows = [
        ("Training data", _fmt(training.pop("dataset", "not recorded"))),
        ("Input branches", _fmt(model.get("branches", "not recorded"))),
        ("Output heads", _fmt(model.get("heads", "not recorded"))),
        ("Emotion tags", f"{len(meta.get('tags', []))}: {_fmt(meta.get('tags', []))}"),
        ("Genre vocabulary", f"{len(meta.get('genres', []))} genres"),
        ("Feature extractor", _fmt(meta.get("extractor_version", "?"))),
    ]
    if location:
        rows.insert(0, ("Folder", location))
    parts = [f"<h3>Model card</h3>{_table(rows)}"]
    metrics: list[tuple[str, str]] = []
    _flatten("", meta.get("metrics") or {}, metrics)
    parts.append(f"<h4>Metrics</h4>{_table(metrics) if metrics else '<p>none recorded</p>'}")
    extra: list[tuple[str, str]] = []
    _flatten("", training, extra)
    if isinstance(recipe, Mapping):
        _flatten("recipe", recipe, extra)
    if extra:
        parts.append(f"<h4>Training</h4>{_table(extra)}")
    return "".join(parts)


def licences_html() -> str:
    rows = "".join(
        f"<tr><td><b>{html.escape(n)}</b></td><td>{html.escape(u)}</td><td>{html.escape(lic)}</td></tr>"
        for n, u, lic in LICENCES
    )
    return (
        f"<p>{APP_NAME} is free software under the <b>GNU Affero General Public License v3.0 or later</b> "
        f"({PROJECT_LICENCE}): you may redistribute and modify it under those terms; if you let others use a "
        f"modified version over a network you must offer them its source. It is licensed this way because it "
        f"links Essentia, which is AGPL-3.0.</p>"
        f"<p><b>MuQ weights</b> are CC-BY-NC 4.0: if you install them, embeddings computed with them are for "
        f"non-commercial use. The MuQ code is MIT.</p>"
        f"<table cellspacing='4'><tr><th align='left'>Component</th><th align='left'>Used for</th>"
        f"<th align='left'>Licence</th></tr>{rows}</table>"
    )


def credits_markdown() -> str:
    """resources/demo/CREDITS.md as shipped (who made the demo music and under which licence)."""
    path = resource_path("demo", "CREDITS.md")
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return "Demo library credits are not installed."


def _browser(*, html_text: str = "", markdown: str = "") -> QTextBrowser:
    view = QTextBrowser()
    view.setOpenExternalLinks(True)
    if markdown:
        view.setMarkdown(markdown)
    else:
        view.setHtml(html_text)
    return view


class AboutDialog(QDialog):
    def __init__(
        self,
        parent: QWidget | None = None,
        model_meta: Mapping[str, Any] | None = None,
        model_location: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.resize(720, 560)
        icon_path = resource_path("icons", "quadfusion-explorer-128.png")
        header = QHBoxLayout()
        if icon_path.is_file():
            self.setWindowIcon(QIcon(str(icon_path)))
            logo = QLabel()
            logo.setPixmap(QPixmap(str(icon_path)).scaled(96, 96, Qt.KeepAspectRatio, Qt.SmoothTransformation))
            header.addWidget(logo)
        self.version = app_version()
        self.title = QLabel(
            f"<h2>{APP_NAME}</h2><p>Version {html.escape(self.version)} · {PROJECT_LICENCE}</p>"
            f"<p>Rediscover your own music by emotion and genre.<br>Implements QuadFusionNet from "
            f"<i>{html.escape(PAPER)}</i>.</p>"
        )
        self.title.setTextFormat(Qt.RichText)
        self.title.setWordWrap(True)
        header.addWidget(self.title, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(_browser(html_text=model_card_html(model_meta, model_location)), "Model card")
        self.tabs.addTab(_browser(html_text=licences_html()), "Licences")
        self.tabs.addTab(_browser(markdown=credits_markdown()), "Demo music")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)

    def tab_text(self, title: str) -> str:
        """Plain text of the tab called `title` (used by tests and for copying)."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == title:
                return self.tabs.widget(i).toPlainText()
        raise KeyError(title)


def show_about(
    parent: QWidget | None = None, model_meta: Mapping[str, Any] | None = None, model_location: str | None = None
) -> AboutDialog:
    """Open the About dialog (window-modal, non-blocking). model_meta None = read the installed model's config;
    the window passes the active model's (Settings choice or QFX_MODEL) and its folder."""
    if model_meta is None:
        from explorer.library.model_choice import active_model

        model_meta = active_model().meta
    dialog = AboutDialog(parent, model_meta, model_location)
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    dialog.open()
    return dialog
