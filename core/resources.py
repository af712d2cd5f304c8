"""Locate the project's resources (tables, icons, default model, demo) in a checkout, an installed wheel or a bundle.

A wheel installs `resources/` as the package `qfx_resources`, found through `importlib.resources`. A source
checkout uses its own `resources/` folder first, so a work tree never reads the data of another install that
happens to be on the path; a frozen bundle carries the folder beside its code.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

PACKAGE = "qfx_resources"
_MARKER = "genres.json"  # present in every complete resources folder


class ResourcesMissing(FileNotFoundError):
    """No resources folder could be found: the install is incomplete."""


def _installed() -> Path | None:
    try:
        root = importlib_resources.files(PACKAGE)
    except ModuleNotFoundError:
        return None
    path = Path(str(root))
    return path if (path / _MARKER).is_file() else None


def resources_dir() -> Path:
    """The resources folder; `QFX_RESOURCES` overrides it (useful for tests and packaging)."""
    override = os.environ.get("QFX_RESOURCES")
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    checkout = Path(__file__).resolve().parent.parent / "resources"
    if (checkout / _MARKER).is_file():
        return checkout
    installed = _installed()
    if installed is None:
        raise ResourcesMissing(f"the {PACKAGE} package data is not installed (no {_MARKER}); reinstall the app")
    return installed


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


@cache
def load_json_resource(name: str) -> Any:
    """Tables (genres, emotions, descriptors) live as JSON in resources/ so code never duplicates them."""
    with open(resource_path(name), encoding="utf-8") as fh:
        return json.load(fh)
