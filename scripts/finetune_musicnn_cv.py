"""Does fine-tuning MusiCNN on 4Q beat the frozen probe? Cross-validation on split=train only (GPU recommended).

    python scripts/finetune_musicnn_cv.py --data /path/to/4q --out results/finetune_cv.txt [--seeds 3]

The shipped model reads MusiCNN-MSD frozen: a logistic-regression probe and the network's pretrained branch see
its 250 outputs. With 640 labelled clips, adapting the network itself is the remaining lever short of new data.
This runs, per split seed and fold (the same stratified folds as every recipe search here):

* the frozen probe (standardised, class-balanced L2 logistic regression, C 0.01 / 0.03 / 0.1), on the mean of
  the 3 analysis patches and of all 10;
* linear probe, then fine-tune (LP-FT): a linear head initialised with the C 0.03 probe, trained with the
  network's back-end (dense layers), its mid-end too, or everything, by AdamW (head lr 1e-4, weight decay 1e-2),
  class-weighted cross-entropy with label smoothing 0.1, batches of 32 clips x 3 random 3 s patches, batch-norm
  statistics frozen at MSD's; scored after 5, 10, 15, 20 and 30 epochs on 3 and on 10 patches, alone and
  averaged 50/50 with the frozen probe.

The logistic regression is written in torch (LBFGS on sklearn's objective, probabilities within 2e-3 of
sklearn's) so that a GPU host needs nothing beyond torch and the app's audio stack.
"""

from __future__ import annotations

import argparse
import copy
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from _common import log, setup_torch

PATCHES = 10  # a 30 s excerpt has 10 non-overlapping 3 s patches
EPOCHS = (5, 10, 15, 20, 30)
PARTS = (("back", 1e-4), ("mid", 1e-4), ("all", 3e-5), ("all", 1e-4))  # what trains, at which learning rate
PROBE_CS = (0.01, 0.03, 0.1)
LP_C = 0.03  # the probe that initialises the head


def decode(path: str):
    """The app's 30 s analysis excerpt at 16 kHz."""
    from core.audio import load_excerpt

    return load_excerpt(path, rates=(16000,)).audio[16000]


def logistic(x_train, y_train, c: float):
    """(W, b) of a class-balanced L2 logistic regression on standardised features, folded back onto raw ones."""
    import numpy as np
    import torch

    mu, sd = x_train.mean(0), x_train.std(0)
    sd[sd < 1e-8] = 1.0
    a = torch.tensor((x_train - mu) / sd, dtype=torch.float64)
    y = torch.tensor(y_train)
    counts = np.bincount(y_train, minlength=4)
    weight = torch.tensor(len(y_train) / (4 * counts), dtype=torch.float64)[y]
    w = torch.zeros(a.shape[1], 4, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [w, b], max_iter=500, tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        ce = torch.nn.functional.cross_entropy(a @ w + b, y, reduction="none")
        loss = c * (weight * ce).sum() + 0.5 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        scale = torch.tensor(sd, dtype=torch.float64)[:, None]
        return (w / scale).float(), (b - torch.tensor(mu / sd, dtype=torch.float64) @ w).float()


def probe_probs(x_train, y_train, x_test, c: float):
    import torch

    w, b = logistic(x_train, y_train, c)
    return torch.softmax(torch.tensor(x_test, dtype=torch.float32) @ w + b, 1).numpy()


def make_model(base, part: str, head_init):
    """A copy of MusiCNN whose `part` trains, with a linear head on the patch-mean of its 250 outputs."""
    import torch
    from torch import nn

    class Tuned(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = copy.deepcopy(base)
            frozen_front = ("timbral", "temporal", "bn_in")
            for name, prm in self.net.named_parameters():
                trains = {
                    "all": True,
                    "mid": not name.startswith(frozen_front),
                    "back": name.startswith(("dense", "pool_bn")),
                }[part]
                prm.requires_grad_(trains)
            self.drop = nn.Dropout(0.2)
            self.head = nn.Linear(250, 4)
            with torch.no_grad():
                self.head.weight.copy_(head_init[0].T)
                self.head.bias.copy_(head_init[1])

        def forward(self, patches, per_clip: int):
            emb, tags = self.net(patches)
            return self.head(self.drop(torch.cat([emb, tags], 1).view(-1, per_clip, 250).mean(1)))

    return Tuned()


def fine_tune(base, patches, y, train_idx, part: str, lr: float, seed: int, picks3, epochs: tuple[int, ...], frozen3):
    """{epoch: {3: probs, 10: probs}} for every clip, after each of `epochs`; `frozen3` (the frozen network's
    3-patch means, from `prepare`) fits the probe that starts the head."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    dev = patches.device
    torch.manual_seed(seed)
    w, b = logistic(frozen3[train_idx], y[train_idx], LP_C)
    model = make_model(base, part, (w.to(dev), b.to(dev))).to(dev)
    model.net.eval()  # batch-norm statistics stay MSD's
    opt = torch.optim.AdamW(
        [
            {"params": [p for p in model.net.parameters() if p.requires_grad], "lr": lr},
            {"params": model.head.parameters(), "lr": 1e-4},
        ],
        weight_decay=1e-2,
    )
    class_w = torch.tensor(len(train_idx) / (4 * np.bincount(y[train_idx], minlength=4)), dtype=torch.float32)
    targets = torch.tensor(y, device=dev)
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for epoch in range(1, max(epochs) + 1):
        model.drop.train()
        for batch in torch.tensor(train_idx)[torch.randperm(len(train_idx), generator=gen)].split(32):
            pick = torch.randint(0, PATCHES, (len(batch), 3), generator=gen)
            x = patches[batch[:, None], pick].flatten(0, 1)
            loss = F.cross_entropy(model(x, 3), targets[batch.to(dev)], weight=class_w.to(dev), label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch in epochs:
            model.eval()
            with torch.no_grad():
                out[epoch] = {
                    n: torch.cat(
                        [
                            F.softmax(model((patches[c][:, picks3] if n == 3 else patches[c]).flatten(0, 1), n), 1)
                            for c in torch.arange(len(y)).split(32)
                        ]
                    )
                    .cpu()
                    .numpy()
                    for n in (3, PATCHES)
                }
    return out


def prepare(data: str, limit: int):
    """Labels, every clip's 10 log-mel patches on the device, the analysis-patch picks, the network and its frozen
    outputs (patch means over 3 and over 10 patches)."""
    import numpy as np
    import torch

    from core.data.fourq import read_fourq
    from core.features.musicnn import load_musicnn
    from core.features.musicnn_tags import ANALYSIS_PATCHES, patch_picks

    clips = read_fourq(data, "train")[: limit or None]
    y = np.array([c.quadrant_index for c in clips])
    embedder = load_musicnn(max_patches=None)
    dev = embedder.device
    # Short clips (a few) repeat their patches up to 10.
    patches = torch.stack(
        [
            p[torch.arange(PATCHES, device=dev) % len(p)]
            for p in (embedder.patches(decode(str(c.audio_path))) for c in clips)
        ]
    )
    picks3 = torch.tensor(patch_picks(PATCHES, ANALYSIS_PATCHES), device=dev)
    base = embedder.net
    frozen = {}
    with torch.no_grad():
        for n in (3, PATCHES):
            parts = []
            for c in torch.arange(len(y)).split(32):
                x = (patches[c][:, picks3] if n == 3 else patches[c]).flatten(0, 1)
                parts.append(torch.cat(base(x), 1).view(len(c), n, 250).mean(1))
            frozen[n] = torch.cat(parts).cpu().numpy()
    return y, patches, picks3, base, frozen


def run_seed(data: str, limit: int, seed: int, epochs: tuple[int, ...]) -> dict[str, tuple]:
    """Every setting's out-of-fold (macro-F1, per-quadrant F1) for one split seed (runs in its own process)."""
    import numpy as np

    from core.datasets import stratified_folds
    from core.metrics import macro_f1

    setup_torch(2)
    y, patches, picks3, base, frozen = prepare(data, limit)
    log(f"split seed {seed}: {len(y)} clips on {patches.device}")
    fold_id = stratified_folds(y, 5, seed)
    probe = {(n, c): np.zeros((len(y), 4)) for n in (3, PATCHES) for c in PROBE_CS}
    tuned: dict[tuple, np.ndarray] = {}
    for k in range(5):
        tr, held = np.flatnonzero(fold_id != k), np.flatnonzero(fold_id == k)
        for n, c in probe:
            probe[(n, c)][held] = probe_probs(frozen[n][tr], y[tr], frozen[n][held], c)
        for part, lr in PARTS:
            t0 = time.time()
            for epoch, by_n in fine_tune(
                base, patches, y, tr, part, lr, 100 * seed + k, picks3, epochs, frozen[3]
            ).items():
                for n, probs in by_n.items():
                    tuned.setdefault((part, lr, epoch, n), np.zeros((len(y), 4)))[held] = probs[held]
            log(f"seed {seed} fold {k} {part} lr {lr:g}: {time.time() - t0:.0f} s")
    out = {f"frozen probe, C {c:g}, {n} patches": probs for (n, c), probs in probe.items()}
    for (part, lr, epoch, n), probs in tuned.items():
        out[f"LP-FT {part}, lr {lr:g}, {epoch} epochs, {n} patches"] = probs
        out[f"LP-FT {part}, lr {lr:g}, {epoch} epochs, {n} patches + frozen probe"] = (
            0.5 * probs + 0.5 * probe[(n, LP_C)]
        )
    return {key: macro_f1(y, probs.argmax(1), 4) for key, probs in out.items()}


def main() -> None:
    import multiprocessing

    import numpy as np

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="4Q folder (labels.csv + audio/; only split=train is read)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", default="0,1,2", help="split seeds, comma-separated; each runs in its own process")
    ap.add_argument("--limit", type=int, default=0, help="first N clips only (smoke test)")
    ap.add_argument("--epochs", default=",".join(map(str, EPOCHS)), help="epochs at which to score")
    args = ap.parse_args()
    epochs = tuple(int(e) for e in args.epochs.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]
    spawn = multiprocessing.get_context("spawn")  # CUDA cannot be shared by forked processes
    with ProcessPoolExecutor(len(seeds), mp_context=spawn) as pool:
        jobs = [pool.submit(run_seed, args.data, args.limit, seed, epochs) for seed in seeds]
        per_seed = [job.result() for job in jobs]
    lines = [f"# python scripts/finetune_musicnn_cv.py (4Q split=train, 5 folds, split seeds {args.seeds})"]
    lines.append(f"{'setting':66s} {'macro-F1 %':>12s}  per quadrant (Q1-Q4)")
    for key in per_seed[0]:
        f1 = [s[key][0] for s in per_seed]
        per = " ".join(f"{100 * v:.1f}" for v in np.mean([s[key][1] for s in per_seed], axis=0))
        lines.append(f"{key:66s} {100 * np.mean(f1):5.1f} ± {100 * np.std(f1):3.1f}  {per}")
    Path(args.out).write_text("\n".join(lines) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
