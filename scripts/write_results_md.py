"""Regenerate the measured parts of docs/results.md from the JSON files under results/.

    python scripts/write_results_md.py > /tmp/tables.md

Prints the tag distribution, Table 2 / Table 3 and the recipe-tuning table as Markdown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def tag_table(fourq: str) -> str:
    from core.data.fourq import read_fourq, tag_statistics

    stats = tag_statistics(read_fourq(fourq, require_audio=False))
    lines = ["| Tag | 4Q clips | share of 800 |", "|---|---|---|"]
    for tag, n in stats["tag_counts"].items():
        lines.append(f"| {tag} | {n} | {n / stats['clips'] * 100:.1f} % |")
    empty = ", ".join(f"{q} {n}" for q, n in stats["clips_without_tag_by_quadrant"].items())
    lines += [
        "",
        f"Tags per clip: **{stats['tags_per_clip']:.2f}** over all {stats['clips']} clips "
        f"({stats['tags_per_tagged_clip']:.2f} over the {stats['clips'] - stats['clips_without_tag']} tagged clips); "
        f"ME-14k in the paper's Table 1: 2.32 tags per song. Clips without any tag: "
        f"**{stats['clips_without_tag']}** ({empty}).",
    ]
    return "\n".join(lines)


def tune_table(rows: list[dict]) -> str:
    by: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("task") == "joint" and "validation" in r:
            by.setdefault(r["model"], []).append(r)
    lines = [
        "| Recipe (V2 joint) | mean val loss | test macro-F1 % | test nDCG@3 | epochs (best) |",
        "|---|---|---|---|---|",
    ]
    for name, rs in sorted(by.items(), key=lambda kv: np.mean([r["validation"]["val_loss"] for r in kv[1]])):
        f1 = np.array([r["test"]["macro_f1"] for r in rs]) * 100
        nd = np.array([r["test"]["ndcg@3"] for r in rs])
        ep = ", ".join(str(r["best_epoch"]) for r in rs)
        lines.append(
            f"| {name} | {np.mean([r['validation']['val_loss'] for r in rs]):.4f} | {f1.mean():.1f} ± {f1.std():.1f} "
            f"| {nd.mean():.3f} ± {nd.std():.3f} | {ep} |"
        )
    return "\n".join(lines)


def main() -> None:
    from core.results import markdown_tables

    res = ROOT / "results"
    rows = json.loads((res / "grid_results.json").read_text())["rows"]
    cpu = res / "cpu_baselines.json"
    if cpu.exists():
        rows = [r for r in rows if r.get("model") != "mlp_smotetomek"] + json.loads(cpu.read_text())
    print("## Tag distribution\n")
    print(tag_table(str(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "4q")))
    print("\n## Tables\n")
    print(markdown_tables(rows))
    tune = res / "tune_results.json"
    if tune.exists():
        print("\n## Recipe tuning of the shipped configuration\n")
        print(tune_table(json.loads(tune.read_text())["rows"]))


if __name__ == "__main__":
    main()
