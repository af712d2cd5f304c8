"""The one error type of the command line: a problem with what the user asked for, reported as one line."""

from __future__ import annotations


class CommandError(Exception):
    """Bad options, a folder that is not a library, an output that cannot be written; the message is for the user.

    The layers below have their own single types (explorer.analysis.AnalysisError, the library's cache and indexing
    errors, core's checkpoint and data errors); `qfx` prints any of them the same way, as one line, exit status 1.
    """
