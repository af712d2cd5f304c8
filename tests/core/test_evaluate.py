"""`qfx evaluate` on a small 4Q-layout folder (demo-derived everywhere, the 4Q data set as an extra layer): JSON
output, printed metrics, and clean checkpoint errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from explorer.cli.main import main


@pytest.fixture(scope="module")
def small_setup(labelled_dir, tmp_path_factory):
    """A genre+low-level checkpoint trained on up to 24 train clips and a folder of up to 12 test clips without a
    split column."""
    from core.checkpoint import save_checkpoint
    from core.data.fourq import read_fourq
    from core.datasets import build_arrays
    from core.feature_cache import FeatureCache
    from core.train import TrainConfig, checkpoint_meta, fit

    root = tmp_path_factory.mktemp("eval")
    cache = FeatureCache(root / "cache")
    clips = read_fourq(labelled_dir, "train")
    train = [c for q in ("Q1", "Q2", "Q3", "Q4") for c in [x for x in clips if x.quadrant == q][:6]]
    arrays = build_arrays(train, cache, with_mel=False, show_bar=False)
    result = fit(arrays, TrainConfig(branches=("genre", "lowlevel"), max_epochs=3, device="cpu"), show_bar=False)
    ckpt = root / "ckpt"
    save_checkpoint(ckpt, result.model, result.model_config, checkpoint_meta(result, dataset="tiny"))

    data = root / "data"
    (data / "audio").mkdir(parents=True)
    test = [
        c
        for q in ("Q1", "Q2", "Q3", "Q4")
        for c in [x for x in read_fourq(labelled_dir, "test") if x.quadrant == q][:3]
    ]
    lines = ["song_id,quadrant,moods,genres"]
    for c in test:
        shutil.copy(c.audio_path, data / "audio" / c.audio_path.name)
        lines.append(f'{c.song_id},{c.quadrant},"{"; ".join(c.moods)}","{"; ".join(c.genres)}"')
    (data / "labels.csv").write_text("\n".join(lines) + "\n")
    return ckpt, data, root / "cache", test


def test_evaluate_cli_prints_and_writes_json(small_setup, tmp_path, capsys):
    ckpt, data, cache, test = small_setup
    out = tmp_path / "m.json"
    code = main(
        [
            "evaluate",
            "--checkpoint",
            str(ckpt),
            "--data",
            str(data),
            "--json",
            str(out),
            "--cache-dir",
            str(cache),
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "macro-F1" in printed and "nDCG@3" in printed
    doc = json.loads(out.read_text())
    assert doc["n_clips"] == len(test) and doc["split"] == "all"
    assert set(doc["per_class_f1"]) == {"Q1", "Q2", "Q3", "Q4"}
    assert 0.0 <= doc["macro_f1"] <= 1.0 and 0.0 <= doc["ndcg@3"] <= 1.0
    assert np.isclose(doc["macro_f1"], np.mean(list(doc["per_class_f1"].values())))
    assert sum(map(sum, doc["confusion"])) == len(test)
    assert doc["n_ranked"] + doc["n_without_tags"] == len(test) and doc["n_ranked"] == sum(c.has_tags for c in test)
    assert "metadata genres" in printed and "audio only" in printed
    assert set(doc["protocols"]) == {"metadata", "audio"}
    assert doc["protocols"]["metadata"]["macro_f1"] == doc["macro_f1"]
    for proto in doc["protocols"].values():
        assert sum(map(sum, proto["confusion"])) == len(test) and 0.0 <= proto["ndcg@3"] <= 1.0


def test_audio_only_protocol_never_reads_label_genres(small_setup, tmp_path):
    """The audio protocol's metrics are those of the model fed genres inferred from the MusiCNN tags; blanking the
    genres in labels.csv cannot change the audio-only metrics."""
    from core.evaluate import evaluate_checkpoint

    ckpt, data, cache, test = small_setup
    first = evaluate_checkpoint(ckpt, data, cache_dir=cache, show_bar=False, device="cpu")
    blank = tmp_path / "blank"
    shutil.copytree(data, blank)
    lines = (blank / "labels.csv").read_text().splitlines()
    rows = [line.rsplit(",", 1)[0] + ',""' for line in lines[1:]]
    (blank / "labels.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    second = evaluate_checkpoint(ckpt, blank, cache_dir=cache, show_bar=False, device="cpu")
    assert second["protocols"]["audio"] == first["protocols"]["audio"]


def test_missing_checkpoint_is_one_clean_error(small_setup, tmp_path, capsys):
    _, data, cache, _ = small_setup
    code = main(["evaluate", "--checkpoint", str(tmp_path / "nope"), "--data", str(data), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("qfx evaluate: error:") and "Traceback" not in err


def test_damaged_checkpoint_is_one_clean_error(small_setup, tmp_path, capsys):
    ckpt, data, cache, _ = small_setup
    bad = tmp_path / "bad"
    shutil.copytree(ckpt, bad)
    weights = bad / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    code = main(["evaluate", "--checkpoint", str(bad), "--data", str(data), "--cache-dir", str(cache), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "damaged" in err and err.count("\n") == 1


def test_bad_data_folder_is_one_clean_error(small_setup, tmp_path, capsys):
    ckpt, _, _, _ = small_setup
    code = main(["evaluate", "--checkpoint", str(ckpt), "--data", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "labels.csv" in err


def test_results_tables_mean_std_and_honest_muq_row():
    from core.results import markdown_tables, summarize

    rows = []
    for seed, (f1, nd) in enumerate([(0.5, 0.6), (0.7, 0.8)]):
        rows.append(
            {
                "model": "V2",
                "task": "quadrant",
                "seed": seed,
                "test": {"macro_f1": f1, "per_class_f1": [f1, f1, f1, f1]},
            }
        )
        rows.append({"model": "V2", "task": "tags", "seed": seed, "test": {"ndcg@3": nd}})
    summary = summarize(rows)
    assert summary["V2"]["macro_f1"]["mean"] == pytest.approx(0.6) and summary["V2"]["macro_f1"][
        "std"
    ] == pytest.approx(0.1)
    assert summary["full"]["not_run"] == "not run: MuQ weights unavailable"
    text = markdown_tables(rows)
    assert "| 60.0 ± 10.0 |" in text and "0.700 ± 0.100" in text
    assert text.count("not run: MuQ weights unavailable") == 2


def test_report_names_the_embedding_the_pretrained_branch_reads(small_setup, tmp_path):
    """Checkpoints call the pretrained branch "muq" whatever it reads; the report says MusiCNN when it is MusiCNN."""
    from core.evaluate import format_report

    ckpt, data, cache, _ = small_setup
    out = tmp_path / "m.json"
    args = ["evaluate", "--checkpoint", str(ckpt), "--data", str(data), "--json", str(out)]
    assert main([*args, "--cache-dir", str(cache), "--device", "cpu", "--quiet"]) == 0
    doc = json.loads(out.read_text())
    header = format_report({**doc, "branches": ["muq", "genre", "lowlevel"], "pretrained": "musicnn"}).splitlines()[0]
    assert "(musicnn+genre+lowlevel," in header, header
    header = format_report({**doc, "branches": ["muq", "genre"], "pretrained": "muq"}).splitlines()[0]
    assert "(muq+genre," in header, header
