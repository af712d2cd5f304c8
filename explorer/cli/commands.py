"""The explicit list of `qfx` subcommands. A command whose module fails to import is an error, never skipped."""

from __future__ import annotations

from explorer.cli import (
    evaluate_cmd,
    export_cmd,
    index_cmd,
    map_cmd,
    prune_cmd,
    recommend_cmd,
    teach_cmd,
    train_cmd,
)
from explorer.cli.command import Command


def _window_renderer() -> map_cmd.Render:
    """The app's own map drawing, offscreen: the one place where the command line reaches the window layer."""
    from explorer.ui.map_render import render_scene_png

    return render_scene_png


COMMANDS: tuple[Command, ...] = (
    index_cmd.COMMAND,
    map_cmd.command(render=_window_renderer),
    recommend_cmd.COMMAND,
    train_cmd.COMMAND,
    evaluate_cmd.COMMAND,
    teach_cmd.COMMAND,
    export_cmd.COMMAND,
    prune_cmd.COMMAND,
)
