"""The one exception type analysis raises for bad input, so callers (CLI, UI) catch a single thing."""

from __future__ import annotations


class AnalysisError(ValueError):
    """Input the analysis cannot work with: unknown filter names, mismatched shapes, nothing to recommend from."""
