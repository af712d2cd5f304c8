"""MusiCNN in an indexing run: where it runs, and how its vectors reach the features and the emotion model.

On a CPU each worker runs MusiCNN on the file it just decoded (the cores are the bottleneck, and they are all
busy). With CUDA the main process runs it batched over each batch of finished files, like MuQ, before the model
needs it: the genre of an untagged file is inferred from it, and a model whose pretrained branch takes MusiCNN
reads it.
"""

from __future__ import annotations

from typing import Any


def gpu_musicnn(model: Any) -> Any:
    """MusiCNN on the GPU when the model runs on CUDA, or there is no model and CUDA is present; None leaves it
    to the CPU workers."""
    from core.runtime import torch_cuda_available

    device = getattr(model, "device", None)
    if device is not None and getattr(device, "type", "cpu") != "cuda":
        return None
    if device is None and not torch_cuda_available():  # never imports torch on a torch-free install
        return None
    from core.features.musicnn import load_musicnn

    return load_musicnn(device or "cuda")


def embed_batch(musicnn: Any, results: list[Any]) -> None:
    """Run the main-process MusiCNN on the workers' 16 kHz excerpts and settle each track's genre from it."""
    from core.features.track import apply_musicnn, musicnn_vectors

    if not results:
        return
    vectors = musicnn_vectors(musicnn, [r.audio16k for r in results])  # the whole batch in one pass
    for r, vec in zip(results, vectors):
        apply_musicnn(r.features, vec)  # may infer the genre, so before the model runs
        r.audio16k = None
