"""Put this folder first on PYTHONPATH and the process behaves as if the GPU/training extras were not installed:
importing torch (or anything only `.[gpu]`/`.[train]` brings) raises ModuleNotFoundError, and find_spec says
they are absent. Lets `make test` check the torch-free runtime path inside the full development venv."""

from __future__ import annotations

import importlib.abc
import sys

HIDDEN = ("torch", "torchaudio", "torchvision", "muq", "transformers", "nnAudio", "triton")


class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden: torch-free run)", name=fullname)
        return None


sys.meta_path.insert(0, _Hide())
