"""Evaluate a saved checkpoint on a 4Q-style folder, from the audio, exactly as the app would run it.

Two protocols, always both (docs/results.md):

* "metadata": the genre branch gets the curated genres from labels.csv (what a well-tagged library gives);
* "audio": audio only, as for an untagged file: the genre branch gets genres inferred from the audio (MusiCNN-MSD
  tags -> core.features.genre_infer), never anything from labels.csv.

Features come from the feature cache (extracted once per file), predictions from `core.inference.EmotionModel`
(so the checkpoint's own normalisation and mel length are used), metrics from `core.metrics`. The result's
top-level metrics are the metadata protocol's (as before); "protocols" holds both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.data.fourq import has_split_column, read_fourq
from core.datasets import FeatureArrays, build_arrays
from core.emotions import QUADRANTS
from core.feature_cache import FeatureCache
from core.metrics import confusion_matrix, macro_f1, ndcg_at_k

PROTOCOLS = ("metadata", "audio")
PROTOCOL_TITLES = {"metadata": "metadata genres (labels.csv)", "audio": "audio only (genres inferred from audio)"}


def protocol_metrics(model: Any, arrays: FeatureArrays, protocol: str) -> dict[str, Any]:
    """Macro-F1, per-class F1, accuracy, confusion and nDCG@3 of `model` (an EmotionModel) under one protocol."""
    arrays = arrays.with_genres(protocol)
    mels = None
    if arrays.mel is not None and arrays.mel_lengths is not None and "mel" in model.branches:
        mels = [m[:, : int(n)] for m, n in zip(arrays.mel, arrays.mel_lengths, strict=True)]
    pred = model.predict(mel=mels, lowlevel=arrays.lowlevel, genre=arrays.genre, muq=arrays.muq, musicnn=arrays.musicnn)
    result: dict[str, Any] = {"protocol": protocol}
    if not np.isnan(pred.quadrant_probs).any():
        y_pred = pred.quadrant_probs.argmax(axis=1)
        f1, per_class = macro_f1(arrays.quadrant, y_pred, len(QUADRANTS))
        result.update(
            macro_f1=f1,
            per_class_f1={q: float(v) for q, v in zip(QUADRANTS, per_class, strict=True)},
            accuracy=float((y_pred == arrays.quadrant).mean()),
            confusion=confusion_matrix(arrays.quadrant, y_pred, len(QUADRANTS)).tolist(),
        )
    if not np.isnan(pred.tag_scores).any():
        has = arrays.has_tags
        result.update(
            {
                "ndcg@3": ndcg_at_k(arrays.relevance[has], pred.tag_scores[has], k=3),
                "n_ranked": int(has.sum()),
                "n_without_tags": int((~has).sum()),
            }
        )
    return result


def evaluate_checkpoint(
    checkpoint: str | Path | None,
    data: str | Path,
    *,
    split: str | None = "test",
    cache_dir: str | Path | None = None,
    show_bar: bool = True,
    device: str | None = None,
) -> dict[str, Any]:
    """Metrics of `checkpoint` (None = shipped default) on `data`'s `split` under both protocols.

    Raises core.checkpoint.CheckpointError for a missing/damaged checkpoint and core.data.fourq.FourQError for a
    bad data folder.
    """
    from core.inference import EmotionModel

    model = EmotionModel.load(checkpoint, device=device)
    use_split = split if split and has_split_column(data) else None
    clips = read_fourq(data, use_split)
    arrays = build_arrays(
        clips, FeatureCache(cache_dir), with_mel="mel" in model.branches, show_bar=show_bar, musicnn=True
    )
    protocols = {p: protocol_metrics(model, arrays, p) for p in PROTOCOLS}
    result: dict[str, Any] = {
        "checkpoint": str(checkpoint) if checkpoint else "default",
        "model_version": model.version,
        "branches": list(model.branches),
        "pretrained": model.pretrained_kind,
        "profile": model.profile,
        "data": str(data),
        "split": use_split or "all",
        "n_clips": len(clips),
    }
    result.update({k: v for k, v in protocols["metadata"].items() if k != "protocol"})
    result["protocols"] = protocols
    return result


def format_report(result: dict[str, Any]) -> str:
    """Human-readable summary printed by `qfx evaluate`: one block per protocol."""
    # the pretrained branch keeps the name "muq" inside checkpoints; say which embedding it really reads
    pretrained = result.get("pretrained") or "muq"
    branches = "+".join(pretrained if b == "muq" else b for b in result["branches"])
    lines = [
        f"checkpoint {result['checkpoint']} ({branches}, version {result['model_version']})",
        f"data {result['data']} split={result['split']}: {result['n_clips']} clips",
    ]
    for name, metrics in result.get("protocols", {"metadata": result}).items():
        lines.append(f"[{PROTOCOL_TITLES.get(name, name)}]")
        if "macro_f1" in metrics:
            per = "  ".join(f"{q} {v * 100:.1f}" for q, v in metrics["per_class_f1"].items())
            lines.append(
                f"  4-class  macro-F1 {metrics['macro_f1'] * 100:.1f} %   per class F1: {per}   "
                f"accuracy {metrics['accuracy'] * 100:.1f} %"
            )
        if "ndcg@3" in metrics:
            lines.append(
                f"  ranking  nDCG@3 {metrics['ndcg@3']:.3f} over {metrics['n_ranked']} clips with tags "
                f"({metrics['n_without_tags']} clips without tags left out)"
            )
    return "\n".join(lines)


__all__ = ["PROTOCOLS", "evaluate_checkpoint", "format_report", "protocol_metrics"]
