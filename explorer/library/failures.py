"""What kind of failure a file had, and so whether the next run tries it again.

A failure that says something about the file's content (not audio, corrupt, crashes the decoder) is *permanent*:
trying again gives the same answer, so the file is retried only when it changes. Everything else is *transient*
(missing for a moment, no permission, time limit, out of memory, an unknown error) and is retried on the next run.
A *model* failure means the file decoded fine but the emotion model failed on it: the features are kept, the file is
reported as a model error (never as a decoding error) and the model is run again next time.
"""

from __future__ import annotations

import errno

TRANSIENT = "transient"
PERMANENT = "permanent"
MODEL = "model"
KINDS = (TRANSIENT, PERMANENT, MODEL)

CRASH_REASON = "the decoder crashed its worker process"
NOT_REGULAR_REASON = "not a regular file (a pipe, device or folder has taken its place)"


class FileTimeLimit(BaseException):
    """Raised inside a worker when one file takes longer than its time limit.

    A BaseException on purpose: decoder and tag libraries catch `Exception` and would swallow it.
    """


def classify(exc: BaseException) -> tuple[str, str]:
    """(kind, reason) for an exception raised while decoding or extracting one file."""
    from core.audio import AudioDecodeError

    if isinstance(exc, FileTimeLimit):
        return TRANSIENT, f"time limit: {exc}"
    if isinstance(exc, MemoryError):
        return TRANSIENT, "out of memory while decoding"
    if isinstance(exc, AudioDecodeError):
        reason = str(getattr(exc, "reason", None) or exc)
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, OSError) and _transient_os_error(cause):  # e.g. the file vanished mid-decode
            return TRANSIENT, reason
        return PERMANENT, reason
    if isinstance(exc, OSError):
        kind = TRANSIENT if _transient_os_error(exc) else PERMANENT
        return kind, f"{type(exc).__name__}: {exc.strerror or exc}"
    return TRANSIENT, f"{type(exc).__name__}: {exc}"  # unknown: assume it may go away rather than give up


def _transient_os_error(exc: OSError) -> bool:
    """Missing, no permission, I/O trouble, busy: the file system's state, not the file's content."""
    return exc.errno in {
        errno.ENOENT,
        errno.EACCES,
        errno.EPERM,
        errno.EIO,
        errno.EAGAIN,
        errno.EBUSY,
        errno.ENOTDIR,
        errno.ESTALE,
        errno.ETIMEDOUT,
        errno.EINTR,
        errno.ENOMEM,
        errno.ENXIO,
        errno.ENODEV,
        errno.EMFILE,
        errno.ENFILE,
        None,
    }


def should_retry(kind: str | None) -> bool:
    """Whether an unchanged file that failed with `kind` is tried again on the next run."""
    return kind != PERMANENT
