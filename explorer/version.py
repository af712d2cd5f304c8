"""The installed version, for `qfx --version` and Help ▸ About."""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "quadfusion-explorer"


def app_version() -> str:
    """The installed distribution's version (bundles ship its metadata); 'unknown' in a bare source tree."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"
