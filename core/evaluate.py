"""Evaluate a saved checkpoint on a 4Q-style folder, from the audio, exactly as the app would run it.

Features come from the feature cache (extracted once per file), predictions from `core.inference.EmotionModel`
(so the checkpoint's own normalisation and mel length are used), metrics from `core.metrics`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.data.fourq import has_split_column, read_fourq
from core.datasets import build_arrays
from core.emotions import QUADRANTS
from core.feature_cache import FeatureCache
from core.metrics import confusion_matrix, macro_f1, ndcg_at_k


def evaluate_checkpoint(
    checkpoint: str | Path | None,
    data: str | Path,
    *,
    split: str | None = "test",
    cache_dir: str | Path | None = None,
    show_bar: bool = True,
    device: str | None = None,
) -> dict[str, Any]:
    """Metrics of `checkpoint` (None = shipped default) on `data`'s `split` (ignored when there is no split column).

    Raises core.checkpoint.CheckpointError for a missing/damaged checkpoint and core.data.fourq.FourQError for a
    bad data folder.
    """
    from core.inference import EmotionModel

    model = EmotionModel.load(checkpoint, device=device)
    use_split = split if split and has_split_column(data) else None
    clips = read_fourq(data, use_split)
    arrays = build_arrays(clips, FeatureCache(cache_dir), with_mel="mel" in model.branches, show_bar=show_bar)
    mels = None
    if arrays.mel is not None and arrays.mel_lengths is not None:
        mels = [m[:, : int(n)] for m, n in zip(arrays.mel, arrays.mel_lengths)]
    pred = model.predict(mel=mels, lowlevel=arrays.lowlevel, genre=arrays.genre, muq=arrays.muq)
    result: dict[str, Any] = {
        "checkpoint": str(checkpoint) if checkpoint else "default",
        "model_version": model.version,
        "branches": list(model.branches),
        "data": str(data),
        "split": use_split or "all",
        "n_clips": len(clips),
    }
    if not np.isnan(pred.quadrant_probs).any():
        y_pred = pred.quadrant_probs.argmax(axis=1)
        f1, per_class = macro_f1(arrays.quadrant, y_pred, len(QUADRANTS))
        result.update(
            macro_f1=f1,
            per_class_f1={q: float(v) for q, v in zip(QUADRANTS, per_class)},
            accuracy=float((y_pred == arrays.quadrant).mean()),
            confusion=confusion_matrix(arrays.quadrant, y_pred, len(QUADRANTS)).tolist(),
        )
    if not np.isnan(pred.tag_scores).any():
        has = arrays.has_tags
        result.update({"ndcg@3": ndcg_at_k(arrays.relevance[has], pred.tag_scores[has], k=3),
                       "n_ranked": int(has.sum()), "n_without_tags": int((~has).sum())})
    return result


def format_report(result: dict[str, Any]) -> str:
    """Human-readable summary printed by `qfx evaluate`."""
    lines = [f"checkpoint {result['checkpoint']} ({'+'.join(result['branches'])}, version {result['model_version']})",
             f"data {result['data']} split={result['split']}: {result['n_clips']} clips"]
    if "macro_f1" in result:
        per = "  ".join(f"{q} {v * 100:.1f}" for q, v in result["per_class_f1"].items())
        lines.append(f"4-class  macro-F1 {result['macro_f1'] * 100:.1f} %   per class F1: {per}   "
                     f"accuracy {result['accuracy'] * 100:.1f} %")
    if "ndcg@3" in result:
        lines.append(f"ranking  nDCG@3 {result['ndcg@3']:.3f} over {result['n_ranked']} clips with tags "
                     f"({result['n_without_tags']} clips without tags left out)")
    return "\n".join(lines)


__all__ = ["evaluate_checkpoint", "format_report"]
