"""Batched torch versions of the shared framing, STFT, masked statistics and dissonance (GPU or CPU tensors).

The CPU extractors (`core.features.spectral`, `dissonance`) analyse one clip at a time with numpy; an indexing run
on a GPU hands them a whole batch of equal-length excerpts instead, so the per-track CPU cost is only decoding.
Every function here mirrors its numpy counterpart step by step (same framing, window, floors, peak rules) and
`tests/core/test_batched_features.py` checks the two against each other on real clips. Statistics the numpy code takes
over a per-clip subset of frames ("active" frames, gated windows) are taken here over a (B, T) mask.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from core.features import dissonance as np_diss
from core.features.spectral import (
    ACTIVE_FLOOR_DB,
    ACTIVE_RANGE_DB,
    LONG_FRAME,
    LONG_HOP,
    SAMPLE_RATE,
    SHORT_FRAME,
    SHORT_HOP,
    SILENCE_DB,
    hann,
)

F64 = torch.float64


def frames(wave: torch.Tensor, frame: int, hop: int) -> torch.Tensor:
    """(B, T, frame) view of whole frames from sample 0, like `spectral.frame_signal` (short clips zero-padded)."""
    if wave.shape[1] < frame:
        wave = torch.nn.functional.pad(wave, (0, frame - wave.shape[1]))
    return wave.unfold(1, frame, hop)


def magnitude(fr: torch.Tensor) -> torch.Tensor:
    """(B, T, frame//2+1) float32 magnitudes of Hann-windowed frames (the numpy path's window, sum 2)."""
    win = torch.from_numpy(hann(fr.shape[-1])).to(fr.device)
    return torch.fft.rfft(fr * win, dim=-1).abs()


def power_db(power: torch.Tensor) -> torch.Tensor:
    return torch.clamp(10.0 * torch.log10(torch.clamp(power, min=1e-30)), min=SILENCE_DB)


def safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num/den with 0 where den is 0 (float64)."""
    num, den = num.to(F64), den.to(F64)
    return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(num))


def masked_quantile(x: torch.Tensor, mask: torch.Tensor, q: float) -> torch.Tensor:
    """(B,) linear-interpolated quantile (numpy's default) of each row's masked values; NaN for an empty row."""
    return torch.nanquantile(torch.where(mask, x.to(F64), torch.nan), q, dim=1)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B,) mean of each row's masked values (0 for an empty row); x (B, T) or (B, T, K) with mask (B, T)."""
    m = mask.to(F64)
    while m.ndim < x.ndim:
        m = m.unsqueeze(-1)
    count = mask.sum(dim=1).to(F64)
    while count.ndim < x.ndim - 1:
        count = count.unsqueeze(-1)
    return (x.to(F64) * m).sum(dim=1) / torch.clamp(count, min=1.0)


class BatchAnalysis:
    """A batch of equal-length 16 kHz clips, framed and transformed once; the batched `spectral.Analysis`."""

    def __init__(self, wave: torch.Tensor, sr: int = SAMPLE_RATE) -> None:
        if wave.ndim != 2:
            raise ValueError(f"expected a (B, N) batch of waveforms, got shape {tuple(wave.shape)}")
        self.wave = wave.to(torch.float32)
        self.sr = sr
        self.frames = frames(self.wave, LONG_FRAME, LONG_HOP)  # (B, T, 2048)
        self.mag = magnitude(self.frames)  # (B, T, 1025) float32
        self.power = self.mag * self.mag  # float32, as the numpy path
        self.freqs = torch.arange(LONG_FRAME // 2 + 1, device=wave.device, dtype=torch.float32) * (sr / LONG_FRAME)
        f = self.frames.to(F64)
        self.frame_energy = (f * f).sum(dim=-1)  # (B, T)
        self.frame_db = power_db(self.frame_energy / LONG_FRAME)
        db = self.frame_db
        active = (db > db.max(dim=1, keepdim=True).values - ACTIVE_RANGE_DB) & (db > ACTIVE_FLOOR_DB)
        self.active = torch.where(active.any(dim=1, keepdim=True), active, torch.ones_like(active))
        mag64 = self.mag.to(F64)
        self.centroid = safe_div(mag64 @ self.freqs.to(F64), mag64.sum(dim=-1))  # (B, T), every frame
        self._short_mag: torch.Tensor | None = None

    @property
    def n_samples(self) -> int:
        return int(self.wave.shape[1])

    @property
    def duration(self) -> float:
        return self.n_samples / self.sr

    @property
    def long_rate(self) -> float:
        return self.sr / LONG_HOP

    @property
    def short_rate(self) -> float:
        return self.sr / SHORT_HOP

    @property
    def short_mag(self) -> torch.Tensor:  # (B, T2, 257)
        if self._short_mag is None:
            self._short_mag = magnitude(frames(self.wave, SHORT_FRAME, SHORT_HOP))
        return self._short_mag

    def dissonance(self, min_rel_db: float | None = None, frame_chunk: int = 65536) -> torch.Tensor:
        """(B, T) per-frame sensory dissonance of every frame (mask with `.active` for the clip statistics)."""
        b, t, _ = self.mag.shape
        flat = self.mag.reshape(b * t, -1)
        out = [
            frame_dissonance(flat[s : s + frame_chunk], self.sr / LONG_FRAME, min_rel_db)
            for s in range(0, b * t, frame_chunk)
        ]
        return torch.cat(out).reshape(b, t)


def _peaks(
    mag: torch.Tensor, bin_hz: float, min_rel_db: float | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded per-frame peaks (freqs (F, P), mags (F, P), valid (F, P)), sorted by frequency: the same candidates,
    cap and parabolic refinement as `dissonance._local_peaks` + `_kept` + `_refine`."""
    kmax = int(np_diss.PEAK_MAX_FREQ / bin_hz)
    sub = mag[:, : kmax + 2].to(F64)
    ninf = torch.full((sub.shape[0], 1), -math.inf, dtype=F64, device=sub.device)
    left = torch.cat([ninf, sub[:, :-1]], dim=1)
    right = torch.cat([sub[:, 1:], ninf], dim=1)
    is_peak = (sub > left) & (sub >= right) & (sub > 0)
    if min_rel_db is not None:
        is_peak &= sub >= sub[:, : kmax + 1].max(dim=1, keepdim=True).values * 10.0 ** (min_rel_db / 20.0)
    is_peak = is_peak[:, : kmax + 1]
    rank = torch.cumsum(is_peak.to(torch.int32), dim=1)
    is_peak &= rank <= np_diss.MAX_PEAKS
    p = max(1, int(is_peak.sum(dim=1).max().item()) if is_peak.numel() else 1)
    sub, left, right = sub[:, : kmax + 1], left[:, : kmax + 1], right[:, : kmax + 1]
    a, c = left, right
    interior = torch.isfinite(a) & torch.isfinite(c)
    a, c = torch.where(interior, a, sub), torch.where(interior, c, sub)
    den = a - 2.0 * sub + c
    shift = torch.where(
        den != 0, 0.5 * (a - c) / torch.where(den != 0, den, torch.ones_like(den)), torch.zeros_like(den)
    )
    cols = torch.arange(kmax + 1, device=mag.device, dtype=F64)
    f_all = (cols + shift) * bin_hz
    m_all = sub - 0.25 * (a - c) * shift
    slot = torch.where(is_peak, rank - 1, torch.full_like(rank, p))  # non-peaks go to a dropped overflow slot
    n = mag.shape[0]
    freqs = torch.zeros((n, p + 1), dtype=F64, device=mag.device).scatter_(1, slot.long(), f_all)
    mags = torch.zeros((n, p + 1), dtype=F64, device=mag.device).scatter_(1, slot.long(), m_all)
    counts = is_peak.sum(dim=1, keepdim=True)
    valid = torch.arange(p, device=mag.device)[None, :] < counts
    return freqs[:, :p], mags[:, :p], valid


def hz_to_bark(f: torch.Tensor) -> torch.Tensor:
    z = 26.81 * f / (1960.0 + f) - 0.53
    z = torch.where(z < 2.0, z + 0.15 * (2.0 - z), z)
    return torch.where(z > 20.1, z + 0.22 * (z - 20.1), z)


def bark_to_hz(z: torch.Tensor) -> torch.Tensor:
    z = torch.where(z < 2.0, (z - 0.3) / 0.85, z)
    z = torch.where(z > 20.1, (z - 4.422) / 1.22, z)
    return 1960.0 * (z + 0.53) / (26.28 - z)


def a_weighting_gain(f: torch.Tensor) -> torch.Tensor:
    f2 = f * f
    return (
        1.25893
        * 12200.0**2
        * f2
        * f2
        / ((f2 + 20.6**2) * (f2 + 12200.0**2) * torch.sqrt(f2 + 107.7**2) * torch.sqrt(f2 + 737.9**2))
    )


def plomp_levelt(df: torch.Tensor) -> torch.Tensor:
    res = torch.full_like(df, np_diss._PL_COEFFS[0])
    for c in np_diss._PL_COEFFS[1:]:
        res = res * df + c
    res = torch.clamp(res, 0.0, 1.0)
    return torch.where((df < 0) | (df > 1.18), torch.ones_like(res), res)


def frame_dissonance(mag: torch.Tensor, bin_hz: float, min_rel_db: float | None = None) -> torch.Tensor:
    """(F,) dissonance of (F, K) magnitude frames, as `dissonance.frame_dissonance`.

    Same walk as the numpy code: partner offsets o = 1, 2, ... over the frequency-sorted peaks, each offset one
    set of (F, P - o) tensor operations, stopping at the first offset where no pair of any frame is within 1.18
    critical bands (below 26 Bark the reach ratio only grows with the offset, so no later pair can be either)."""
    f, m, valid = _peaks(mag, bin_hz, min_rel_db)
    f = torch.where(valid, f, torch.zeros_like(f))
    loud = torch.where(valid, m * a_weighting_gain(f) ** 2, torch.zeros_like(m))
    total = loud.sum(dim=1)
    bark = hz_to_bark(f)
    cbw = 52548.0 / (bark * bark - 52.56 * bark + 690.39)
    low = torch.clamp(bark_to_hz(bark - 1.18), max=50.0)
    high = torch.clamp(bark_to_hz(bark + 1.18), max=10000.0)
    above50 = f > 50.0
    per_peak = torch.zeros_like(f)
    zero = torch.zeros((), dtype=f.dtype, device=f.device)
    for o in range(1, f.shape[1]):
        fi, fj = f[:, :-o], f[:, o:]
        ratio = (fj - fi) / torch.minimum(cbw[:, :-o], cbw[:, o:])
        reach = valid[:, o:] & (ratio <= 1.18)  # a valid partner implies a valid peak (valid ones come first)
        if not bool(reach.any()):
            break
        d = 1.0 - plomp_levelt(ratio)
        w = torch.where(reach & (d > 0), d * (loud[:, :-o] + loud[:, o:]), zero)
        per_peak[:, :-o] += torch.where(above50[:, :-o] & (fj < high[:, :-o]), w, zero)
        per_peak[:, o:] += torch.where(above50[:, o:] & (fi >= low[:, o:]), w, zero)
    share = safe_div(torch.minimum(per_peak, loud), total[:, None].expand_as(loud))
    return 0.5 * torch.where(valid, share, torch.zeros_like(share)).sum(dim=1)


def as_batch(waves: list[np.ndarray] | np.ndarray, device: torch.device | str) -> torch.Tensor:
    """(B, N) float32 tensor on `device` from equal-length 1-D waveforms."""
    arr = np.stack([np.asarray(w, dtype=np.float32) for w in waves]) if isinstance(waves, list) else waves
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).to(device)
