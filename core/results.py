"""Results tables shaped like the paper's Table 2 (4-class per-class F1 + macro-F1) and Table 3 (nDCG@3).

Input: the row list written by scripts/train_grid.py (one dict per model x task x seed, metrics under 'test').
Output: Markdown for docs/results.md and a compact JSON summary (mean and std over seeds).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.emotions import QUADRANTS

MUQ_MISSING = "not run: MuQ weights unavailable"

# (row key, label shown, source model, task for Table 2, task for Table 3)
ROWS: tuple[tuple[str, str, str | None, str, str], ...] = (
    ("random", "Random", "random", "both", "both"),
    ("prior", "Popularity prior", "prior", "both", "both"),
    ("triplet", "Triplet network (Won et al. 2021)", "triplet", "quadrant", "tags"),
    ("mlp", "MLP + SMOTETomek", "mlp_smotetomek", "quadrant", "-"),
    ("full", "QuadFusionNet (mel + MuQ + genre + low-level)", None, "quadrant", "tags"),
    ("V2", "V2: no MuQ (mel + genre + low-level)", "V2", "quadrant", "tags"),
    ("V1", "V1: no mel (genre + low-level; MuQ also absent)", "V1", "quadrant", "tags"),
    ("V3", "V3: no genre (mel + low-level; MuQ also absent)", "V3", "quadrant", "tags"),
    ("V2joint", "V2 joint multi-task (both heads, one model; shipped)", "V2", "joint", "joint"),
)


def _collect(rows: list[dict], model: str, task: str, key: str) -> np.ndarray:
    values = [
        r["test"][key]
        for r in rows
        if r.get("model") == model and r.get("task") == task and "test" in r and key in r["test"]
    ]
    return np.asarray(values, dtype=np.float64)


def _ms(values: np.ndarray, scale: float = 1.0, digits: int = 1) -> str:
    if values.size == 0:
        return "—"
    values = values * scale
    return f"{values.mean():.{digits}f} ± {values.std(ddof=0):.{digits}f}"


def summarize(rows: list[dict]) -> dict[str, Any]:
    """Mean/std per table row; rows that could not run carry their reason."""
    out: dict[str, Any] = {}
    for key, label, model, t2, t3 in ROWS:
        entry: dict[str, Any] = {"label": label}
        if model is None:
            entry["not_run"] = MUQ_MISSING
            out[key] = entry
            continue
        f1 = (
            np.stack(
                [
                    np.asarray(r["test"]["per_class_f1"])
                    for r in rows
                    if r.get("model") == model and r.get("task") == t2 and "per_class_f1" in r.get("test", {})
                ]
            )
            if t2 != "-" and _collect(rows, model, t2, "macro_f1").size
            else np.zeros((0, 4))
        )
        macro = _collect(rows, model, t2, "macro_f1") if t2 != "-" else np.zeros(0)
        ndcg = _collect(rows, model, t3, "ndcg@3") if t3 != "-" else np.zeros(0)
        if macro.size:
            entry["macro_f1"] = {"mean": float(macro.mean()), "std": float(macro.std()), "n": int(macro.size)}
            entry["per_class_f1"] = {
                q: {"mean": float(f1[:, i].mean()), "std": float(f1[:, i].std())} for i, q in enumerate(QUADRANTS)
            }
        if ndcg.size:
            entry["ndcg@3"] = {"mean": float(ndcg.mean()), "std": float(ndcg.std()), "n": int(ndcg.size)}
        skipped = [r for r in rows if r.get("model") == model and "skipped" in r]
        if skipped:
            entry["skipped_runs"] = len(skipped)
        out[key] = entry
    return out


def markdown_tables(rows: list[dict]) -> str:
    """Table 2 (per-class F1 and macro-F1, %) and Table 3 (nDCG@3), mean ± std over seeds."""
    summary = summarize(rows)
    t2 = ["| Model | " + " | ".join(f"{q} F1" for q in QUADRANTS) + " | Macro-F1 |", "|---|" + "---|" * 5]
    t3 = ["| Model | nDCG@3 |", "|---|---|"]
    for key, label, model, task2, task3 in ROWS:
        entry = summary[key]
        if "not_run" in entry:
            t2.append(f"| {label} | " + " | ".join(["—"] * 4) + f" | {entry['not_run']} |")
            t3.append(f"| {label} | {entry['not_run']} |")
            continue
        if task2 != "-":
            per = [_ms(_per_class(rows, model, task2, i), 100) for i in range(4)]
            t2.append(f"| {label} | " + " | ".join(per) + f" | {_ms(_collect(rows, model, task2, 'macro_f1'), 100)} |")
        if task3 != "-":
            t3.append(f"| {label} | {_ms(_collect(rows, model, task3, 'ndcg@3'), 1, 3)} |")
    return (
        "**4-class (Table 2 layout)**: F1 in %, mean ± std over seeds, 4Q test split.\n\n"
        + "\n".join(t2)
        + "\n\n**Ranking (Table 3 layout)**: nDCG@3, mean ± std over seeds, 4Q test clips with at least one tag.\n\n"
        + "\n".join(t3)
        + "\n"
    )


def _per_class(rows: list[dict], model: str, task: str, i: int) -> np.ndarray:
    return np.asarray(
        [
            r["test"]["per_class_f1"][i]
            for r in rows
            if r.get("model") == model and r.get("task") == task and "per_class_f1" in r.get("test", {})
        ],
        dtype=np.float64,
    )
