"""Display text for tracks, quadrants, K, descriptors, axes and index summaries: one formatter for the app and `qfx`.

Every screen and every command shows these facts, so each is decided once here: a track without a title tag shows
its file name, a quadrant reads "Q1 · happy / excited", an automatically chosen K says so, a descriptor column gets
its human label. No Qt: the window, the offscreen renderer and the CLI all call the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.emotions import QUADRANT_LABELS, QUADRANTS
from explorer.analysis.descriptors import pole_specs
from explorer.analysis.filtering import TrackFilter
from explorer.analysis.scene import MapScene
from explorer.library.arrays import LibraryArrays

if TYPE_CHECKING:  # the indexer pulls in the process pool; formatting its summary does not need it loaded
    from explorer.library.summary import IndexSummary

QUADRANT_NAMES: tuple[str, ...] = QUADRANTS  # "Q1".."Q4", from resources/emotions.json


def title_or_stem(title: str, path: str) -> str:
    """The title tag, or the file name without its extension when the tag is empty."""
    return title or Path(path).stem


def track_title(arrays: LibraryArrays, row: int) -> str:
    """The title shown for `row` of `arrays`."""
    return title_or_stem(arrays.titles[row], arrays.paths[row])


def track_titles(arrays: LibraryArrays) -> list[str]:
    """The titles shown for every row of `arrays`, in row order."""
    return [title_or_stem(t, p) for t, p in zip(arrays.titles, arrays.paths, strict=True)]


def quadrant_name(index: int) -> str:
    """'Q1'..'Q4' for the quadrant column index 0..3."""
    return QUADRANT_NAMES[int(index)]


def quadrant_hint(name: str) -> str:
    """'Q1 · happy / excited': the name with its valence × arousal words."""
    label = QUADRANT_LABELS.get(name, "")
    return f"{name} · {label}" if label else name


def top_quadrant_text(quadrant_probs: np.ndarray) -> str:
    """'Q2 (71%)': the most probable quadrant of one track's (4,) probabilities."""
    q = int(np.argmax(quadrant_probs))
    return f"{quadrant_name(q)} ({float(quadrant_probs[q]):.0%})"


def k_text(k: int, auto: bool) -> str:
    """'K = 4 (auto)' when K was chosen by the separation score, 'K = 4' when the user fixed it."""
    return f"K = {k}" + (" (auto)" if auto else "")


def descriptor_labels(names: Sequence[str]) -> dict[str, str]:
    """Human label per descriptor column ("Muffled ↔ Crisp" style names from resources/descriptors.json); a column
    the table does not know (an older cache) reads as its name with spaces."""
    return {spec.name: spec.label for spec in pole_specs(list(names))}


def axis_title(scene: MapScene, axis: int) -> str:
    """Short enough for a vertical axis: 'PC2 · 18% · Calm ↔ Energetic  (r = +0.64)'; details go to the tooltip."""
    label = scene.axis_labels[axis]
    share = float(scene.explained_variance[axis]) * 100
    text = f"PC{axis + 1} · {share:.0f}% · {label.short}"
    if label.clear and np.isfinite(label.r):
        text += f"  (r = {label.r:+.2f})"
    return text


def scene_summary(scene: MapScene, filt: TrackFilter) -> str:
    """'42 tracks · Jazz × Romantic · K = 3 (auto)', or why the map is empty."""
    if len(scene) == 0:
        return "No tracks to show" + (f" for {filt.describe()}" if not filt.is_empty else "")
    approx = " · clusters fitted on a sample" if scene.approximate else ""
    return f"{len(scene)} tracks · {filt.describe()} · {k_text(scene.k, scene.k_auto)}{approx}"


def index_summary_lines(summary: IndexSummary) -> list[str]:
    """The full report of an index run (`qfx index`): repairs, counts, what went offline, retries, failures."""
    from explorer.library.offline import offline_folders

    out = list(summary.notices)
    out.append(
        f"{summary.analysed} analysed ({summary.added} new, {summary.updated} changed, {summary.resumed} resumed, "
        f"{summary.retried} retried), {summary.moved} moved, {summary.removed} removed, {summary.unchanged} "
        f"unchanged, {summary.reanalysed} re-run with the new model, {len(summary.failed)} failed in "
        f"{summary.elapsed:.1f} s"
    )
    if summary.went_offline or summary.still_offline or summary.back_online:
        out.append(
            f"offline: {len(summary.went_offline)} track(s) went offline this run, {summary.still_offline} still "
            f"offline, {summary.back_online} back; offline tracks are kept (hidden from the map) until they return "
            "or `qfx prune` removes them"
        )
        out += [f"  went offline: {line}" for line in offline_folders(summary.went_offline)]
    if summary.restored_likes:
        out.append(f"{summary.restored_likes} like(s) restored to tracks that came back")
    if summary.failed_kinds.get("transient"):
        out.append(f"  {summary.failed_kinds['transient']} failure(s) look temporary and will be retried next run")
    out += [f"  failed: {path}: {reason}" for path, reason in summary.failed]
    if summary.model_errors:
        out.append(
            f"model errors: the emotion model failed on {len(summary.model_errors)} decoded file(s); their "
            "features are kept and the model runs again next time"
        )
        out += [f"  model error: {path}: {reason}" for path, reason in summary.model_errors[:10]]
    if summary.model_version is None:
        out.append("  no emotion model installed: features stored, emotions will be computed when one is")
    return out


def index_summary_status(summary: IndexSummary) -> str:
    """One short status-bar line for the same run."""
    done = summary.analysed + summary.reanalysed
    text = f"Library up to date: {done} analysed, {summary.unchanged} unchanged"
    if summary.failed:
        text += f", {len(summary.failed)} could not be read (see the log)"
    if summary.went_offline:
        text += f", {len(summary.went_offline)} went offline (kept until their folder is back or they are pruned)"
    text += f" in {summary.elapsed:.1f} s"
    if summary.model_version is None:
        text += " — no emotion model installed, so no map yet"
    return text
