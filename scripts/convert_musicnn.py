"""Convert the MSD MusiCNN TF checkpoint from the musicnn 0.1.0 wheel to safetensors, and record reference outputs.

Run once, with the project's Python; TensorFlow is only needed in a separate throwaway environment whose Python is
passed as --tf-python (e.g. `python3.11 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0
tf_keras~=2.21.0`). It is never a runtime dependency: this script runs the TF parts in a subprocess.

    pip download musicnn==0.1.0 --no-deps -d /tmp/mnn
    python scripts/convert_musicnn.py convert --wheel /tmp/mnn/musicnn-0.1.0-py3-none-any.whl \
        --tf-python /tmp/tfvenv/bin/python --out resources/models/musicnn_msd
    python scripts/convert_musicnn.py reference --wheel ... --tf-python ... \
        --clips resources/demo/wesnoth_sad.ogg ... --out tests/data/musicnn_reference.npz

`reference` runs the ORIGINAL TF graph (the wheel's own `models.py`) on log-mels computed as the original
extractor does (librosa), except that the log is taken in float32 instead of float16, and stores the mean
taggram and mean penultimate embedding per clip, plus one clip's per-patch outputs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT = "musicnn/MSD_musicnn/"

# TF variable scope -> our module name (tf.compat.v1.layers names them in creation order).
CONVS = {
    "conv2d": "timbral74",
    "conv2d_1": "timbral77",
    "conv2d_2": "temporal128",
    "conv2d_3": "temporal64",
    "conv2d_4": "temporal32",
    "conv2d_5": "mid1",
    "conv2d_6": "mid2",
    "conv2d_7": "mid3",
}
BNS = {
    "batch_normalization": "bn_in",
    "batch_normalization_1": "timbral74",
    "batch_normalization_2": "timbral77",
    "batch_normalization_3": "temporal128",
    "batch_normalization_4": "temporal64",
    "batch_normalization_5": "temporal32",
    "batch_normalization_6": "mid1",
    "batch_normalization_7": "mid2",
    "batch_normalization_8": "mid3",
    "batch_normalization_9": "pool_bn",
    "batch_normalization_10": "dense_bn",
}
BN_FIELDS = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}


# --------------------------------------------------------------------------- TF side (runs in --tf-python)


def _tf_dump(ckpt: str, out: str) -> None:
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(ckpt)
    names = [n for n in reader.get_variable_to_shape_map() if "Adam" not in n and "power" not in n]
    np.savez(out, **{n.replace("/", "|"): reader.get_tensor(n) for n in names})


def _tf_run(pkg_dir: str, patches_npz: str, out: str) -> None:
    """The original graph, built by the wheel's own code, restored from its checkpoint, in inference mode."""
    sys.path.insert(0, pkg_dir)
    import tensorflow as tf
    from musicnn import configuration as config
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    data = dict(np.load(patches_npz))
    results = {}
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, 187, config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        outs = models.define_model(x, is_training, "MSD_musicnn", len(config.MSD_LABELS))
        tags, penultimate = tf.nn.sigmoid(outs[0]), outs[-1]
    sess = tf.compat.v1.Session()
    tf.compat.v1.train.Saver().restore(sess, f"{pkg_dir}/{CHECKPOINT}")
    for name, patches in data.items():
        t, p = sess.run([tags, penultimate], feed_dict={x: patches, is_training: False})
        results[name + "|tags"], results[name + "|emb"] = t, p
    np.savez(out, **results)


# --------------------------------------------------------------------------- project side


def _unpack(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest, [n for n in zf.namelist() if n.startswith("musicnn/")])
    return dest


def _run_tf(tf_python: str, *args: str) -> None:
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run([tf_python, __file__, *args], check=True, env=env)


def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=16000, n_fft=512, n_mels=96).astype(np.float32)  # Slaney bands, as musicnn


def convert(args: argparse.Namespace) -> None:
    from safetensors.numpy import save_file

    with tempfile.TemporaryDirectory() as tmp:
        pkg = _unpack(args.wheel, Path(tmp))
        dump = str(Path(tmp) / "vars.npz")
        _run_tf(args.tf_python, "_tf_dump", f"{pkg}/{CHECKPOINT}", dump)  # the prefix ends in "/"
        tf_vars = {k.replace("|", "/"): v for k, v in np.load(dump).items()}
        data_sha = hashlib.sha256((pkg / CHECKPOINT.rstrip("/") / ".data-00000-of-00001").read_bytes()).hexdigest()
    state: dict[str, np.ndarray] = {}
    for scope, name in CONVS.items():
        kernel, bias = tf_vars.pop(f"{scope}/kernel"), tf_vars.pop(f"{scope}/bias")
        if name.startswith("mid"):  # [7, C_in, 1, C_out] over the full feature axis == conv1d [C_out, C_in, 7]
            weight = kernel[:, :, 0, :].transpose(2, 1, 0)
        else:  # [kh, kw, 1, C_out] -> [C_out, 1, kh, kw]
            weight = kernel.transpose(3, 2, 0, 1)
        state[f"{name}.conv.weight"], state[f"{name}.conv.bias"] = weight, bias
    for scope, name in BNS.items():
        prefix = name if name in ("bn_in", "pool_bn", "dense_bn") else f"{name}.bn"
        for tf_field, field in BN_FIELDS.items():
            state[f"{prefix}.{field}"] = tf_vars.pop(f"{scope}/{tf_field}")
    for scope, name in (("dense", "dense"), ("dense_1", "out")):
        state[f"{name}.weight"] = tf_vars.pop(f"{scope}/kernel").T
        state[f"{name}.bias"] = tf_vars.pop(f"{scope}/bias")
    if tf_vars:
        raise SystemExit(f"unmapped checkpoint variables: {sorted(tf_vars)}")
    state["mel_basis"] = _mel_basis()
    state = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "source": "musicnn 0.1.0 (PyPI wheel), musicnn/MSD_musicnn checkpoint",
        "licence": "ISC",
        "copyright": "Music Technology Group, Universitat Pompeu Fabra 2019",
        "checkpoint_data_sha256": data_sha,
        "wheel_sha256": hashlib.sha256(args.wheel.read_bytes()).hexdigest(),
    }
    save_file(state, str(args.out / "musicnn_msd.safetensors"), metadata=meta)
    print(json.dumps(meta, indent=1))
    print(f"wrote {len(state)} tensors, {sum(v.size for v in state.values())} values to {args.out}")


def _original_logmel(wave: np.ndarray) -> np.ndarray:
    """musicnn's `batch_data` preprocessing, with the log taken in float32 (the original casts to float16)."""
    import librosa

    mel = librosa.feature.melspectrogram(y=wave, sr=16000, hop_length=256, n_fft=512, n_mels=96).T
    return np.log10(10000 * mel.astype(np.float32) + 1)


def reference(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from core.audio import load_excerpt

    patches: dict[str, np.ndarray] = {}
    for clip in args.clips:
        wave = load_excerpt(clip, rates=(16000,), length=args.length).audio[16000]
        logmel = _original_logmel(wave)
        count = logmel.shape[0] // 187
        patches[Path(clip).name] = logmel[: count * 187].reshape(count, 187, 96)
    with tempfile.TemporaryDirectory() as tmp:
        pkg = _unpack(args.wheel, Path(tmp))
        np.savez(Path(tmp) / "patches.npz", **patches)
        _run_tf(args.tf_python, "_tf_run", str(pkg), str(Path(tmp) / "patches.npz"), str(Path(tmp) / "out.npz"))
        out = dict(np.load(Path(tmp) / "out.npz"))
    names = list(patches)
    fixture = {
        "clips": np.array(names),
        "excerpt_length": np.float32(args.length),
        "n_patches": np.array([patches[n].shape[0] for n in names]),
        "tags": np.stack([out[n + "|tags"].mean(0) for n in names]).astype(np.float32),
        "emb": np.stack([out[n + "|emb"].mean(0) for n in names]).astype(np.float32),
        "patch_tags": out[names[0] + "|tags"].astype(np.float32),  # per patch, first clip: own features each
        "patch_emb": out[names[0] + "|emb"].astype(np.float32),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **fixture)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): {names}, patches {fixture['n_patches'].tolist()}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_tf_dump":
        return _tf_dump(*sys.argv[2:4])
    if len(sys.argv) > 1 and sys.argv[1] == "_tf_run":
        return _tf_run(*sys.argv[2:5])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("convert", "reference"):
        p = sub.add_parser(name)
        p.add_argument("--wheel", type=Path, required=True, help="musicnn-0.1.0-py3-none-any.whl")
        p.add_argument("--tf-python", required=True, help="a Python with tensorflow 2.x and tf_keras")
        p.add_argument("--out", type=Path, required=True)
    sub.choices["reference"].add_argument("--clips", nargs="+", required=True)
    sub.choices["reference"].add_argument("--length", type=float, default=30.0, help="excerpt seconds (as indexing)")
    args = ap.parse_args()
    convert(args) if args.cmd == "convert" else reference(args)


if __name__ == "__main__":
    main()
