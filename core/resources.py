"""Locate the project's `resources/` folder in a source checkout, an installed tree or a frozen bundle."""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any


def resources_dir() -> Path:
    """The resources folder; `QFX_RESOURCES` overrides it (useful for tests and packaging)."""
    override = os.environ.get("QFX_RESOURCES")
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


@lru_cache(maxsize=None)
def load_json_resource(name: str) -> Any:
    """Tables (genres, emotions, descriptors) live as JSON in resources/ so code never duplicates them."""
    with open(resource_path(name), encoding="utf-8") as fh:
        return json.load(fh)
