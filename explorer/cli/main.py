"""`qfx`: the command line. The subcommands are listed in explorer.cli.commands; each is a thin adapter over a logic
function (see explorer.cli.command)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from explorer.cli.commands import COMMANDS
from explorer.version import app_version

DEBUG_ENV = "QFX_DEBUG"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qfx", description="QuadFusion Explorer command line")
    parser.add_argument("--version", action="version", version=f"qfx {app_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.description or command.help)
        command.add_arguments(p)
        p.set_defaults(func=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # every layer's error becomes one line for users; the traceback only with QFX_DEBUG
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"qfx {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
