"""Imported once by the worker forkserver, so every forked worker starts with the decode/feature code loaded.

Not imported by the main process: Essentia alone takes ~1.2 s to import and is only needed for MP4/AAC files.
"""

from __future__ import annotations

from explorer.library.lifeline import arm_forkserver

arm_forkserver()  # the forkserver ends with the indexer that started it, even when that one is SIGKILLed

import explorer.library.worker  # noqa: E402,F401  (torch, features, tags)

try:
    import essentia

    essentia.log.infoActive = False  # its import-time INFO line would land in the CLI output
    essentia.log.warningActive = False
    import essentia.standard
except ImportError:
    pass
