"""What a `qfx` subcommand is: a name, its options, and a thin adapter from parsed options to a logic function.

Each command module (index_cmd, map_cmd, ...) keeps its logic in plain typed functions that take values, not an
argparse namespace, so tests and other front ends can call them; `run` only parses, calls and prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    help: str  # one line for `qfx --help`
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]  # the adapter; returns the exit status
    description: str | None = None  # longer text for `qfx NAME --help`
