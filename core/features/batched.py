"""Mel, the 8 low-level and the interpretive descriptors of a batch of equal-length clips, in torch (GPU or CPU).

The batched twin of `core.features.interpretive.all_descriptors` + `core.features.mel.melon_mel`: the same
definitions (docs/descriptors.md), written over (B, T) tensors with masks where the numpy code picks a per-clip
subset of frames. It lets a GPU indexing run keep its CPU workers to decoding; `tests/core/test_batched_features.py`
checks it against the numpy extractors on real clips (CPU tensors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
import torch

from core.features import interpretive as np_interp
from core.features import rhythm as np_rhythm
from core.features import tonal as np_tonal
from core.features.batched_spectral import F64, BatchAnalysis, masked_mean, masked_quantile, power_db, safe_div
from core.features.lowlevel import HIGH_BAND_HZ, LOW_BAND_HZ
from core.features.mel import MelonMel
from core.features.spectral import SALIENT_PEAK_DB

F = torch.nn.functional


@dataclass
class BatchFeatures:
    """Per-clip features of one batch, as CPU numpy arrays in the order of the input waves."""

    mel: np.ndarray  # (B, 48, T) float32
    lowlevel: np.ndarray  # (B, 8) float32
    interpretive: np.ndarray  # (B, D) float32, `DESCRIPTOR_NAMES` order


def _median(x: torch.Tensor) -> torch.Tensor:
    return torch.quantile(x.to(F64), 0.5, dim=1)


def lowlevel_batch(an: BatchAnalysis, diss: torch.Tensor) -> torch.Tensor:
    """(B, 8) in `LOWLEVEL_NAMES` order; `diss` is the (B, T) default-peak dissonance of every frame."""
    b, t = an.frame_db.shape
    db = an.frame_db
    if t > 1:
        slope = _median((db[:, 1:] - db[:, :-1]).abs() * an.long_rate)
        diff = an.mag[:, 1:] - an.mag[:, :-1]
        flux = _median(torch.sqrt((diff.to(F64) ** 2).sum(dim=-1)))
    else:
        slope = flux = torch.zeros(b, dtype=F64, device=db.device)
    per_bin = an.power.to(F64).sum(dim=1)
    total = per_bin.sum(dim=1)
    low = safe_div(per_bin[:, an.freqs < LOW_BAND_HZ].sum(dim=1), total)
    high = safe_div(per_bin[:, an.freqs >= HIGH_BAND_HZ].sum(dim=1), total)
    cols = (
        slope,
        masked_mean(diss, an.active),
        masked_quantile(an.centroid, an.active, 0.9),
        masked_quantile(an.centroid, an.active, 0.1),
        high,
        low,
        db.std(dim=1, unbiased=False),
        flux,
    )
    return torch.stack([c.to(F64) for c in cols], dim=1)


def _windowed_db(energy_ms: torch.Tensor, frames: int) -> torch.Tensor:
    frames = max(1, min(frames, energy_ms.shape[1]))
    return power_db(energy_ms.unfold(1, frames, 1).mean(dim=-1))


def _dynamics(an: BatchAnalysis) -> dict[str, torch.Tensor]:
    energy_ms = an.frame_energy / an.frames.shape[-1]
    db = _windowed_db(energy_ms, round(np_interp.LRA_WINDOW_S * an.long_rate))
    gated = db > np_interp.LRA_ABS_GATE_DB
    rel = power_db(masked_mean(10.0 ** (db / 10.0), gated)) + np_interp.LRA_REL_GATE_DB
    gated2 = gated & (db > rel[:, None])
    lra = masked_quantile(db, gated2, 0.95) - masked_quantile(db, gated2, 0.10)
    lra = torch.where(gated2.any(dim=1), lra, torch.zeros_like(lra))
    db = _windowed_db(energy_ms, round(np_interp.DYN_WINDOW_S * an.long_rate))
    keep = (db > db.max(dim=1, keepdim=True).values - 60.0) & (db > -90.0)
    dev = (db - masked_mean(db, keep)[:, None]).abs()
    dyn = torch.where(keep.any(dim=1), masked_mean(dev, keep), torch.zeros_like(lra))
    rms = power_db((an.wave.to(F64) ** 2).mean(dim=1))
    return {"rms_level": rms, "loudness_range": lra, "dynamic_complexity": dyn}


def _uniform(x: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    """scipy.ndimage.uniform_filter1d for odd sizes: mode 'constant' (zeros) or 'nearest' (edge values)."""
    half = size // 2
    x3 = x[:, None]
    if mode == "constant":
        return F.avg_pool1d(x3, size, stride=1, padding=half, count_include_pad=True)[:, 0]
    return F.avg_pool1d(F.pad(x3, (half, half), mode="replicate"), size, stride=1)[:, 0]


def _acf_tempo(x: torch.Tensor, rate: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(found, bpm, clarity) per row, as `rhythm._acf_tempo` (found False where it returns None)."""
    b, n = x.shape
    zeros = torch.zeros(b, dtype=F64, device=x.device)
    lag_min = int(np.floor(60.0 * rate / np_rhythm.MAX_BPM))
    lag_max = min(int(np.ceil(60.0 * rate / np_rhythm.MIN_BPM)), n - 2)
    if lag_max <= lag_min + 2:
        return torch.zeros(b, dtype=torch.bool, device=x.device), zeros, zeros
    spec = torch.fft.rfft(x, 2 * n, dim=1)
    acf = torch.fft.irfft(spec.real**2 + spec.imag**2, 2 * n, dim=1)[:, :n]
    ok = acf[:, 0] > 1e-12
    acf = acf / torch.where(ok, acf[:, 0], torch.ones_like(acf[:, 0]))[:, None]
    lags = torch.arange(lag_min, lag_max + 1, device=x.device)
    a = acf[:, lags]
    local = (a > acf[:, lags - 1]) & (a >= acf[:, lags + 1]) & (a > 0)
    bpm = 60.0 * rate / lags.to(F64)
    prior = torch.exp(-0.5 * (torch.log2(bpm / np_rhythm.PRIOR_BPM) / np_rhythm.PRIOR_OCTAVES) ** 2)
    best = lags[torch.argmax(torch.where(local, a * prior, -math.inf), dim=1)]
    rows = torch.arange(b, device=x.device)
    pa, pb, pc = acf[rows, best - 1], acf[rows, best], acf[rows, best + 1]
    den = pa - 2.0 * pb + pc
    shift = torch.where(den < 0, 0.5 * (pa - pc) / torch.where(den < 0, den, -torch.ones_like(den)), zeros)
    return ok & local.any(dim=1), 60.0 * rate / (best.to(F64) + shift), torch.clamp(pb, 0.0, 1.0)


def _rhythm(an: BatchAnalysis) -> dict[str, torch.Tensor]:
    comp = torch.log1p(100.0 * an.short_mag)
    rise = torch.clamp(comp[:, 1:] - comp[:, :-1], min=0.0).mean(dim=-1)
    env = torch.cat([torch.zeros_like(rise[:, :1]), rise], dim=1).to(F64)  # (B, T2)
    rate = an.short_rate
    ref = torch.maximum(torch.quantile(env, 0.99, dim=1), 0.25 * env.max(dim=1).values)
    peak_w = 2 * max(1, round(np_rhythm.PEAK_HALF_WIDTH_S * rate)) + 1
    mean_w = 2 * max(1, round(np_rhythm.MEAN_HALF_WIDTH_S * rate)) + 1
    is_max = env >= F.max_pool1d(env[:, None], peak_w, stride=1, padding=peak_w // 2)[:, 0]
    thresh = torch.clamp(np_rhythm.ONSET_DELTA * ref, min=np_rhythm.MIN_ONSET_RISE)
    sel = is_max & (env >= _uniform(env, mean_w, "constant") + thresh[:, None]) & (env > 0)
    starts = sel[:, :1].sum(dim=1) + (sel[:, 1:] & ~sel[:, :-1]).sum(dim=1)
    onsets = torch.where(ref > 1e-4, starts, torch.zeros_like(starts)).to(F64)
    smooth = F.avg_pool1d(F.pad(env[:, None], (1, 1), mode="replicate"), 3, stride=1)[:, 0]  # reflect == edge here
    found1, bpm1, clar1 = _acf_tempo(smooth - env.mean(dim=1, keepdim=True), rate)
    width = 2 * round(np_rhythm.DETREND_S * rate / 2) + 1
    found2, bpm2, clar2 = _acf_tempo(smooth - _uniform(env, width, "nearest"), rate)
    zero = torch.zeros_like(bpm1)
    tempo = torch.where(found1, bpm1, torch.where(found2, bpm2, zero))
    clarity = torch.where(found1, clar1, torch.where(found2, clar2, zero))
    pulse = onsets >= np_rhythm.MIN_ONSETS_FOR_TEMPO
    return {
        "tempo": torch.where(pulse, tempo, zero),
        "pulse_clarity": torch.where(pulse, clarity, zero),
        "onset_density": onsets / max(an.duration, 1e-9),
    }


@lru_cache(maxsize=4)
def _chroma_matrix(n_bins: int, sr: int) -> np.ndarray:
    freqs = (np.arange(n_bins) * (sr / (2 * (n_bins - 1)))).astype(np.float32)
    return np_tonal.chroma_matrix(tuple(float(f) for f in freqs))


def _zscore_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    std = x.std(dim=-1, unbiased=False, keepdim=True)
    ok = std > 1e-12
    z = torch.where(
        ok, (x - x.mean(dim=-1, keepdim=True)) / torch.where(ok, std, torch.ones_like(std)), torch.zeros_like(x)
    )
    return z, ok[..., 0]


def _tonality(an: BatchAnalysis) -> dict[str, torch.Tensor]:
    dev = an.mag.device
    w = torch.from_numpy(_chroma_matrix(an.mag.shape[-1], an.sr)).to(dev)
    chroma = an.mag.to(F64) @ w  # (B, T, 12)
    s = chroma.sum(dim=-1, keepdim=True)
    chroma = torch.where(s > 0, chroma / torch.where(s > 0, s, torch.ones_like(s)), torch.zeros_like(chroma))
    mean = masked_mean(chroma, an.active)  # (B, 12)
    total = mean.sum(dim=1)
    z, ok = _zscore_rows(mean)
    degenerate = (total <= 0) | ~ok
    key = (z @ torch.from_numpy(np_tonal._profiles()).to(dev).T / 12.0).max(dim=1).values
    p = mean / torch.where(total > 0, total, torch.ones_like(total))[:, None]
    entropy = -(p * torch.log(torch.where(p > 0, p, torch.ones_like(p)))).sum(dim=1) / np.log(12.0)
    zf, frame_ok = _zscore_rows(chroma)
    rt = zf @ torch.from_numpy(np_tonal._triads()).to(dev).T / 12.0
    diff = rt[..., :12].max(dim=-1).values - rt[..., 12:].max(dim=-1).values
    use = frame_ok & an.active
    mode = torch.where(use.any(dim=1), masked_mean(diff, use), torch.zeros_like(total))
    zero = torch.zeros_like(total)
    return {
        "key_strength": torch.where(degenerate, zero, key),
        "mode": torch.where(degenerate, zero, mode),
        "chroma_entropy": torch.where(degenerate, (total > 0).to(F64), entropy),
    }


@lru_cache(maxsize=4)
def _dct_matrix(n: int) -> np.ndarray:
    """(n, N_MFCC) orthonormal DCT-II columns 1..N_MFCC (scipy's `dct(type=2, norm="ortho")` rows)."""
    return scipy.fft.dct(np.eye(n), type=2, norm="ortho", axis=1)[:, 1 : np_interp.N_MFCC + 1]


def _timbre(an: BatchAnalysis) -> dict[str, torch.Tensor]:
    act, dev = an.active, an.mag.device
    power = an.power.to(F64)
    freqs = an.freqs
    total = power.sum(dim=-1)
    cum = torch.cumsum(power, dim=-1)
    idx = torch.argmax((cum >= np_interp.ROLLOFF_SHARE * total[..., None]).to(torch.uint8), dim=-1)
    rolloff = torch.where(total > 0, freqs.to(F64)[idx], torch.zeros_like(total))
    band = power[..., freqs >= 30.0]
    flatness = safe_div(torch.exp(torch.log(band + 1e-20).mean(dim=-1)), band.mean(dim=-1))
    melmat = torch.from_numpy(np_interp._mel_matrix(power.shape[-1], an.sr)).to(dev)
    mel_db = 10.0 * torch.log10(power @ melmat + 1e-10)
    mfcc = mel_db @ torch.from_numpy(_dct_matrix(np_interp.N_MELS)).to(dev)  # (B, T, 12)
    mu = masked_mean(mfcc, act)
    std = torch.sqrt(masked_mean((mfcc - mu[:, None, :]) ** 2, act)).mean(dim=1)
    variation = torch.where(act.sum(dim=1) > 1, std, torch.zeros_like(std))
    signs = torch.signbit(an.frames)
    zcr = (signs[..., 1:] != signs[..., :-1]).sum(dim=-1).to(F64) / an.frames.shape[-1]
    per_bin = power.sum(dim=1)
    low_share = safe_div(per_bin[:, freqs < np_interp.LOW_END_HZ].sum(dim=1), per_bin.sum(dim=1))
    low_end = torch.clamp(10.0 * torch.log10(torch.clamp(low_share, min=1e-12)), min=-60.0)
    m = an.mag
    mid = m[..., 1:-1]
    peaks = (mid > m[..., :-2]) & (mid >= m[..., 2:]) & (mid > np_interp.COMPLEXITY_THRESHOLD)
    return {
        "brightness": masked_quantile(an.centroid, act, 0.5),
        "rolloff": masked_quantile(rolloff, act, 0.5),
        "flatness": masked_mean(flatness, act),
        "timbre_variation": variation,
        "zero_crossing_rate": masked_mean(zcr, act),
        "low_end_weight": low_end,
        "spectral_complexity": masked_mean(peaks.sum(dim=-1), act),
    }


def interpretive_batch(an: BatchAnalysis) -> torch.Tensor:
    """(B, D) interpretive descriptors in `DESCRIPTOR_NAMES` order."""
    values = {**_dynamics(an), **_rhythm(an), **_tonality(an), **_timbre(an)}
    values["dissonance"] = masked_mean(an.dissonance(SALIENT_PEAK_DB), an.active)
    return torch.stack([values[n].to(F64) for n in np_interp.DESCRIPTOR_NAMES], dim=1)


@lru_cache(maxsize=8)
def _mel_module(device: str) -> MelonMel:
    return MelonMel().to(device).eval()


def batch_features(wave16k: torch.Tensor, *, compute_mel: bool = True) -> BatchFeatures:
    """Features of a (B, N) batch of equal-length 16 kHz clips (already validated, finite), on wave16k's device."""
    with torch.inference_mode():
        an = BatchAnalysis(wave16k)
        low = lowlevel_batch(an, an.dissonance())
        interp = interpretive_batch(an)
        mel = _mel_module(str(wave16k.device))(an.wave) if compute_mel else None
        out = torch.cat([low, interp], dim=1).to(torch.float32).cpu().numpy()
        mel_np = mel.cpu().numpy() if mel is not None else np.zeros((wave16k.shape[0], 0, 0), np.float32)
    return BatchFeatures(mel=mel_np, lowlevel=out[:, : low.shape[1]], interpretive=out[:, low.shape[1] :])
