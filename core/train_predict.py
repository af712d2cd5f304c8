"""Predictions and metrics of a trained QuadFusionNet on a whole clip set: softmax scores (optionally averaged over
test-time crops), embeddings, nDCG@3 and macro F1.

Split from core.train so that module keeps one job (fitting); validation inside `fit`, the training scripts and
the evaluation all score through these. Needs torch; core.train re-exports the public names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from core.datasets import FeatureArrays
from core.metrics import macro_f1, ndcg_at_k
from core.model import QuadFusionNet
from core.train_data import DeviceData

if TYPE_CHECKING:
    from core.train import TrainResult


@torch.no_grad()
def predict_tensors(
    model: QuadFusionNet, data: DeviceData, batch_size: int = 64, amp: bool = True, tta: tuple[int, int] | None = None
) -> dict[str, np.ndarray]:
    """Softmax tag scores, quadrant probabilities and embeddings for every clip (eval mode, full-length mel).

    `tta=(crop_frames, n_crops)`: scores and probabilities are the mean softmax over `n_crops` evenly spaced crops
    of the padded mel (as core.inference does); the embedding stays the full-length one.
    """
    model.eval()
    parts: dict[str, list[torch.Tensor]] = {}
    device = data.relevance.device
    use_amp = amp and device.type == "cuda"
    for start in range(0, data.n, batch_size):
        idx = torch.arange(start, min(start + batch_size, data.n), device=device)
        batch = data.batch(idx)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            out = model(**batch)
        for key, value in out.items():
            parts.setdefault(key, []).append(value.float())
        if tta is not None and "mel" in batch:
            acc: dict[str, torch.Tensor] = {}
            from core.inference import tta_starts

            starts = tta_starts(batch["mel"].shape[-1], tta[0], tta[1])
            for s0 in starts:
                crop = {**batch, "mel": batch["mel"][..., s0 : s0 + tta[0]]}
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                    o = model(**crop)
                for key in ("tag_logits", "quadrant_logits"):
                    if key in o:
                        acc[key] = acc.get(key, 0) + torch.softmax(o[key].float(), 1) / len(starts)
            for key, value in acc.items():
                parts.setdefault("tta_" + key, []).append(value)
    result = {k: torch.cat(v).cpu().numpy() for k, v in parts.items()}
    if "tag_logits" in result:
        result["tag_scores"] = (
            result.pop("tta_tag_logits") if "tta_tag_logits" in result else _softmax(result["tag_logits"])
        )
    if "quadrant_logits" in result:
        result["quadrant_probs"] = (
            result.pop("tta_quadrant_logits")
            if "tta_quadrant_logits" in result
            else _softmax(result["quadrant_logits"])
        )
    return result


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def score_predictions(relevance: np.ndarray, quadrant: np.ndarray, pred: dict[str, np.ndarray]) -> dict[str, Any]:
    """nDCG@3 over clips with at least one tag; macro/per-class F1 over all clips."""
    metrics: dict[str, Any] = {}
    if "tag_scores" in pred:
        has = relevance.sum(axis=1) > 0
        metrics["ndcg@3"] = ndcg_at_k(relevance[has], pred["tag_scores"][has], k=3)
        metrics["n_ranked"] = int(has.sum())
    if "quadrant_probs" in pred:
        f1, per_class = macro_f1(quadrant, pred["quadrant_probs"].argmax(axis=1), 4)
        metrics["macro_f1"] = f1
        metrics["per_class_f1"] = per_class.tolist()
        metrics["accuracy"] = float((pred["quadrant_probs"].argmax(axis=1) == quadrant).mean())
        metrics["n_classified"] = int(len(quadrant))
    return metrics


def evaluate_model(
    result: TrainResult, test: FeatureArrays, device: str | None = None, tta: tuple[int, int] | None = None
) -> dict[str, Any]:
    """Metrics of a trained model on another clip set (e.g. the 4Q test split), straight from arrays."""
    return score_predictions(test.relevance, test.quadrant, predict_arrays(result, test, device, tta))


def predict_arrays(
    result: TrainResult, arrays: FeatureArrays, device: str | None = None, tta: tuple[int, int] | None = None
) -> dict[str, np.ndarray]:
    """predict_tensors on a FeatureArrays with the result's own normalisation."""
    dev = next(result.model.parameters()).device if device is None else torch.device(device)
    data = DeviceData(arrays, result.normalization, result.model_config.branches, dev, result.config.pretrained)
    return predict_tensors(result.model, data, amp=result.config.amp, tta=tta)
