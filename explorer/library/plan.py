"""Decide what an indexing run must do, from a scan and the cache, in one transaction.

A file whose size and mtime are unchanged is trusted; otherwise its fingerprint decides between "touched but the
same", "changed" and (for a new path) "moved". Failed files are retried by the kind of their failure
(explorer.library.failures). A known file the scan did not see is removed only when it is really gone from a
readable folder; otherwise it goes offline (explorer.library.offline). Rows for work to do are written as `pending`
before any work starts, so a killed run is resumed by the next one.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.progress import Cancelled, CancelToken
from explorer.library.cache import KnownTrack, LibraryCache
from explorer.library.failures import NOT_REGULAR_REASON, should_retry
from explorer.library.fingerprint import file_fingerprint
from explorer.library.offline import judge_missing, mark_offline, mark_online


@dataclass
class Plan:
    extract: list[tuple[int, bytes]] = field(default_factory=list)  # (track id, path): decode + features + model
    model_only: list[int] = field(default_factory=list)  # stored features, stale or missing model results
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    resumed: int = 0
    unchanged: int = 0
    retried: int = 0  # failed earlier with a transient (or model) failure: tried again
    went_offline: list[tuple[str, str]] = field(default_factory=list)  # (path, why): offline since this run
    still_offline: int = 0
    back_online: int = 0
    vanished: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): new files unreadable now
    restored_likes: int = 0  # likes of earlier removed tracks brought back by content fingerprint


def _needs(k: KnownTrack, extractor_version: str, model_version: str | None, need_muq: bool) -> str:
    """'extract', 'model' or '' for a track whose file content is the one in the cache."""
    if k.status == "failed":
        return "extract" if should_retry(k.error_kind) else ""
    if k.status == "pending" or k.extractor_version != extractor_version or (need_muq and not k.has_muq):
        return "extract"
    if model_version is not None and k.model_version != model_version:
        return "model" if k.has_mel else "extract"
    return ""


def plan_run(
    cache: LibraryCache,
    files: Iterable[Path],
    *,
    extractor_version: str,
    model_version: str | None,
    need_muq: bool,
    cancel: CancelToken | None = None,
) -> Plan:
    plan = Plan()
    known = cache.known_tracks()
    seen: set[bytes] = set()
    unreadable: set[bytes] = set()  # known paths that exist but cannot be read now: offline, not gone
    new: list[tuple[bytes, int, int, bytes]] = []
    same: list[KnownTrack] = []
    moved_to: dict[int, bytes] = {}
    restored_before = cache.restored_likes
    with cache.transaction():
        for i, path in enumerate(files):
            if cancel is not None and i % 256 == 0 and cancel.cancelled:
                raise Cancelled()
            key = os.fsencode(os.path.abspath(path))
            k = known.get(key)
            try:
                st = os.stat(key)
                if not stat.S_ISREG(st.st_mode):  # replaced by a FIFO/device/folder since the scan: never opened
                    raise OSError(0, NOT_REGULAR_REASON)
                if k is not None and k.size == st.st_size and k.mtime_ns == st.st_mtime_ns:
                    seen.add(key)
                    same.append(k)
                    continue
                fp = file_fingerprint(key, st.st_size)
            except OSError as exc:
                if k is not None:
                    unreadable.add(key)
                else:
                    plan.vanished.append((os.fsdecode(key), f"cannot read: {exc.strerror or exc}"))
                continue
            seen.add(key)
            if k is None:
                new.append((key, st.st_size, st.st_mtime_ns, fp))
            elif fp == k.fingerprint:
                cache.touch_track(k.id, st.st_size, st.st_mtime_ns)
                same.append(k)
            else:
                cache.reset_track(k.id, st.st_size, st.st_mtime_ns, fp, {})
                plan.extract.append((k.id, key))
                plan.updated += 1
                if k.offline:
                    mark_online(cache, [k.id])
                    plan.back_online += 1
        missing: dict[bytes, list[KnownTrack]] = {}
        for key, k in known.items():
            if key not in seen:
                missing.setdefault(k.fingerprint, []).append(k)
        for key, size, mtime_ns, fp in new:
            candidates = missing.get(fp)
            if candidates:  # same content under a new path: a move, keep id, results and likes
                k = candidates.pop()
                cache.move_track(k.id, key, size, mtime_ns)
                plan.moved += 1
                moved_to[k.id] = key
                same.append(k)
            else:
                plan.extract.append((cache.add_track(key, size, mtime_ns, fp, {}), key))
                plan.added += 1
        back = [k.id for k in same if k.offline]
        plan.back_online += mark_online(cache, back)
        verdict = judge_missing([k for ks in missing.values() for k in ks], unreadable)
        cache.remove_tracks(k.id for k in verdict.gone)  # a trigger keeps their likes by fingerprint
        plan.removed = len(verdict.gone)
        newly = [(k, why) for k, why in verdict.offline if not k.offline]
        mark_offline(cache, verdict.offline)
        plan.went_offline = [(os.fsdecode(k.path), why) for k, why in newly]
        plan.still_offline = len(verdict.offline) - len(newly)
    plan.restored_likes = cache.restored_likes - restored_before
    for k in same:
        todo = _needs(k, extractor_version, model_version, need_muq)
        if todo == "extract":
            plan.extract.append((k.id, moved_to.get(k.id, k.path)))
            plan.resumed += k.status == "pending"
            plan.retried += k.status == "failed"
        elif todo == "model":
            plan.model_only.append(k.id)
        elif not todo:
            plan.unchanged += 1
    return plan
