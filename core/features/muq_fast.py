"""An inference-only rewrite of a loaded MuQ model for CUDA: the same function, far less memory traffic.

Measured on an H200 (bench/gpu_profile.py, 64 excerpts of 30 s per pass, bf16 autocast), MuQ-large spends about
half its time in its convolutional front end (two residual 3 x 3 blocks with 512 channels over the 128-band mel:
~0.8 TFLOP per excerpt, more than the 12 conformer layers) and much of the rest moving attention scores: the
eager attention writes a (B, 16, 750, 750) score tensor, autocast runs the softmax in float32, and the result is
cast back. What `speed_up_for_cuda` changes, none of which changes the function computed:

- every batch-norm that follows a convolution (the front end's five, each conformer layer's depthwise one) is
  folded into that convolution's weights (`torch.nn.utils.fusion.fuse_conv_bn_eval`): one pass fewer over
  activations of up to 6 GB per batch, each;
- the front end's weights are channels-last, so cuDNN runs its NHWC tensor-core kernels without transposing the
  activations around every convolution;
- self-attention calls `scaled_dot_product_attention` (fused flash/memory-efficient kernels) instead of
  materialising the scores; same scale, no mask (MuQEmbedder batches equal lengths only, without padding).

Embeddings agree with the unmodified model under the same autocast to rounding (cosine >= 0.9999 on real audio,
docs/benchmarks.md); `tests/core/test_muq_fast.py` checks the rewrite against the original on the CPU.
"""

from __future__ import annotations

import types
from typing import Any

import torch
from torch.nn.utils.fusion import fuse_conv_bn_eval

F = torch.nn.functional


def _fold_res2d(block: torch.nn.Module) -> None:
    """Fold a MuQ `Res2dModule`'s batch-norms into its convolutions (bn -> Identity), in place."""
    for conv, bn in (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")):
        if hasattr(block, conv) and isinstance(getattr(block, bn, None), torch.nn.BatchNorm2d):
            setattr(block, conv, fuse_conv_bn_eval(getattr(block, conv), getattr(block, bn)))
            setattr(block, bn, torch.nn.Identity())


def _fold_conv_module(module: torch.nn.Module) -> None:
    """Fold a conformer convolution module's batch-norm into its depthwise convolution, in place."""
    if isinstance(getattr(module, "batch_norm", None), torch.nn.BatchNorm1d):
        module.depthwise_conv = fuse_conv_bn_eval(module.depthwise_conv, module.batch_norm)
        module.batch_norm = torch.nn.Identity()


def _sdpa_forward(
    self: Any,
    hidden_states: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    relative_position_embeddings: torch.Tensor | None = None,
    output_attentions: bool = False,
) -> tuple[torch.Tensor, None]:
    """`Wav2Vec2ConformerSelfAttention.forward` (rotary or no position embeddings) through fused attention."""
    b, t, _ = hidden_states.shape
    qk_in = hidden_states
    if self.position_embeddings_type == "rotary":
        qk_in = self._apply_rotary_embedding(hidden_states, relative_position_embeddings)
    q = self.linear_q(qk_in).view(b, t, self.num_heads, self.head_size).transpose(1, 2)
    k = self.linear_k(qk_in).view(b, t, self.num_heads, self.head_size).transpose(1, 2)
    v = self.linear_v(hidden_states).view(b, t, self.num_heads, self.head_size).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask)
    out = out.transpose(1, 2).reshape(b, t, self.num_heads * self.head_size)
    return self.linear_out(out), None


def speed_up_for_cuda(model: torch.nn.Module) -> torch.nn.Module:
    """Rewrite an eval-mode `muq.MuQ` in place for fast inference (see the module docstring); returns it.

    Only for inference: the folded batch-norms no longer update, and attention weights are not returned."""
    if model.training:
        raise ValueError("speed_up_for_cuda is for eval-mode models only")
    inner = getattr(model, "model", model)
    front = getattr(inner, "conv", None)
    if front is not None:
        for block in front.modules():
            if hasattr(block, "conv1") and hasattr(block, "bn1"):
                _fold_res2d(block)
        front.to(memory_format=torch.channels_last)
    for module in inner.modules():
        name = type(module).__name__
        if name.endswith("ConvolutionModule"):
            _fold_conv_module(module)
        elif name.endswith("SelfAttention") and getattr(module, "position_embeddings_type", None) != "relative":
            module.forward = types.MethodType(_sdpa_forward, module)
    return model
