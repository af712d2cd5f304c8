"""What one indexing run did, as numbers and as the lines `qfx index` prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from explorer.library.offline import offline_folders


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

    def lines(self) -> list[str]:
        out = list(self.notices)
        out.append(
            f"{self.analysed} analysed ({self.added} new, {self.updated} changed, {self.resumed} resumed, "
            f"{self.retried} retried), {self.moved} moved, {self.removed} removed, {self.unchanged} unchanged, "
            f"{self.reanalysed} re-run with the new model, {len(self.failed)} failed in {self.elapsed:.1f} s"
        )
        if self.went_offline or self.still_offline or self.back_online:
            out.append(f"offline: {len(self.went_offline)} track(s) went offline this run, {self.still_offline} "
                       f"still offline, {self.back_online} back; offline tracks are kept (hidden from the map) "
                       "until they return or `qfx prune` removes them")
            out += [f"  went offline: {line}" for line in offline_folders(self.went_offline)]
        if self.restored_likes:
            out.append(f"{self.restored_likes} like(s) restored to tracks that came back")
        if self.failed_kinds.get("transient"):
            out.append(f"  {self.failed_kinds['transient']} failure(s) look temporary and will be retried next run")
        out += [f"  failed: {p}: {r}" for p, r in self.failed]
        if self.model_errors:
            out.append(f"model errors: the emotion model failed on {len(self.model_errors)} decoded file(s); their "
                       "features are kept and the model runs again next time")
            out += [f"  model error: {p}: {r}" for p, r in self.model_errors[:10]]
        if self.model_version is None:
            out.append("  no emotion model installed: features stored, emotions will be computed when one is")
        return out
