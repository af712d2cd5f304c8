"""`qfx`: the command line. Each subcommand lives in its own module exposing `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# module name under explorer.cli -> owns these subcommands
SUBCOMMAND_MODULES = ("index_cmd", "map_cmd", "recommend_cmd", "train_cmd", "evaluate_cmd", "teach_cmd", "export_cmd")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qfx", description="QuadFusion Explorer command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"explorer.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"explorer.cli.{name}":
                continue  # subcommand not built in this tree
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line for users; tracebacks only with QFX_DEBUG
        import os

        if os.environ.get("QFX_DEBUG"):
            raise
        print(f"qfx {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
