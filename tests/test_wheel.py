"""The project as users install it: build the wheel, install it into a fresh torch-free venv (no system site
packages, runtime dependencies only) and run `qfx index` and `qfx map` on the demo from outside the source tree.

Slow (a venv of the runtime dependencies: ~700 MB, from pip's cache after the first run) and needs the package
index like `make test`'s own install does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_VENV_LIMIT = 1 << 30  # docs/packaging.md: the runtime install stays under 1 GB


def _packages_on_disk() -> set[str]:
    found = set()
    for init in ROOT.glob("*/**/__init__.py"):
        rel = init.parent.relative_to(ROOT)
        if rel.parts[0] in ("core", "explorer"):
            found.add(".".join(rel.parts))
    return found


def test_every_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    assert _packages_on_disk() <= listed, sorted(_packages_on_disk() - listed)
    assert "qfx_resources" in listed and config["tool"]["setuptools"]["package-dir"]["qfx_resources"] == "resources"
    runtime = " ".join(config["project"]["dependencies"]).lower()
    for heavy in ("torch", "muq", "transformers"):
        assert heavy not in runtime, f"{heavy} must stay in the extras"
    assert "onnxruntime" in runtime


def _clean_env() -> dict[str, str]:
    """This process's environment (pip settings included) without anything that points Python at the checkout."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "QFX_RESOURCES")
    return {k: v for k, v in os.environ.items() if k not in dropped}


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.mark.slow
def test_wheel_installs_torch_free_and_indexes_the_demo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next(dist.glob("quadfusion_explorer-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=1200,
        env=_clean_env(),
    )
    assert install.returncode == 0, install.stderr[-3000:]
    probe = subprocess.run(
        [str(py), "-c", "import importlib.util as u; print(u.find_spec('torch') is None)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert probe.stdout.strip() == "True", "the runtime install must not pull torch in"
    assert _du(venv) < RUNTIME_VENV_LIMIT, f"runtime venv is {_du(venv) / 1e6:.0f} MB"

    outside = tmp_path / "elsewhere"  # no checkout on the path: everything comes from the installed wheel
    outside.mkdir()
    demo = subprocess.run(
        [str(py), "-c", "from core.resources import resource_path; print(resource_path('demo'))"],
        capture_output=True,
        text=True,
        cwd=outside,
        env=_clean_env(),
    )
    demo_dir = Path(demo.stdout.strip())
    assert demo_dir.is_relative_to(venv), demo_dir
    library = outside / "library"
    shutil.copytree(demo_dir, library)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(outside), "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8"}
    qfx = str(venv / "bin" / "qfx")
    index = subprocess.run(
        [qfx, "index", str(library), "--cache", str(outside / "cache"), "--quiet"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert index.returncode == 0, index.stdout + index.stderr
    assert index.stdout.startswith("20 analysed") and " 0 failed" in index.stdout
    assert "no emotion model installed" not in index.stdout
    out_png = outside / "map.png"
    drawn = subprocess.run(
        [qfx, "map", str(library), "--cache", str(outside / "cache"), "--out", str(out_png)],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert drawn.returncode == 0, drawn.stdout + drawn.stderr
    assert "20 tracks" in drawn.stdout and out_png.read_bytes()[:4] == b"\x89PNG"
    if os.environ.get("QFX_REPORT_SIZES"):
        print(f"runtime venv: {_du(venv) / 1e6:.0f} MB")
