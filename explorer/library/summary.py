"""What one indexing run did, as numbers (explorer.analysis.display turns them into the lines `qfx index` prints and
the app's status line)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IndexSummary:
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0  # really gone from a readable folder (their likes are kept by fingerprint)
    unchanged: int = 0
    resumed: int = 0  # left pending by an interrupted run
    retried: int = 0  # failed earlier with a transient or model failure
    reanalysed: int = 0  # new model version: model re-run from stored features, no decoding
    analysed: int = 0  # files decoded + analysed in this run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    failed_kinds: dict[str, int] = field(default_factory=dict)  # failures per kind (transient/permanent)
    model_errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): decoded, the model failed
    went_offline: list[tuple[str, str]] = field(default_factory=list)  # (path, why) newly offline
    still_offline: int = 0
    back_online: int = 0
    restored_likes: int = 0
    notices: list[str] = field(default_factory=list)  # e.g. a damaged cache that was moved aside
    elapsed: float = 0.0
    model_version: str | None = None
    extractor_version: str = ""
