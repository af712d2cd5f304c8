"""Every menu action of the window, declared in one table (text, shortcut, tooltip, menu, handler).

The window builds its menus from ACTIONS and connects each action to the handler its spec names, a dotted path
from the window ("playback.toggle" = window.playback.toggle). docs/ui.md lists the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import reduce
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence


class Act(StrEnum):
    OPEN = "open"
    OPEN_PLAYLIST = "open_playlist"
    SAVE_QUEUE = "save_queue"
    SAVE_REGION = "save_region"
    SAVE_RECOMMENDATIONS = "save_recommendations"
    REINDEX = "reindex"
    QUIT = "quit"
    PLAY_PAUSE = "play_pause"
    PLAY_FROM_START = "play_from_start"
    PLAY_SELECTED = "play_selected"
    NEXT = "next"
    PREVIOUS = "previous"
    PLAY_NEXT = "play_next"
    ADD_TO_QUEUE = "add_to_queue"
    LIKE = "like"
    UNDO_LIKE = "undo_like"
    DISLIKE = "dislike"
    MUTE = "mute"
    FIND = "find"
    SELECT_REGION = "select_region"
    RESET_ZOOM = "reset_zoom"
    SHOW_PROBLEMS = "show_problems"
    SHOW_LIKES = "show_likes"
    SHOW_QUEUE = "show_queue"
    SETTINGS = "settings"
    MODEL = "model"
    BUILTIN_MODEL = "builtin_model"
    MUQ = "muq"
    ABOUT = "about"


MENUS = ("&File", "&Playback", "&View", "&Settings", "&Help")


@dataclass(frozen=True)
class ActionSpec:
    key: Act
    menu: str
    text: str
    handler: str  # dotted path from the window
    shortcut: str | QKeySequence.StandardKey | None = None
    tip: str = ""
    checkable: bool = False
    separator_before: bool = False
    media_key: str | None = None  # a keyboard media key that does the same, where the platform delivers it


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        Act.OPEN,
        "&File",
        "&Open folder…",
        "browser.choose_folder",
        QKeySequence.Open,
        "Open a music folder and index it in the background",
    ),
    ActionSpec(
        Act.OPEN_PLAYLIST,
        "&File",
        "Open &playlist…",
        "browser.choose_playlist",
        "Ctrl+Shift+O",
        "Open an M3U8 playlist: its tracks are highlighted on the map and queued",
    ),
    ActionSpec(
        Act.SAVE_QUEUE,
        "&File",
        "Save &queue as playlist…",
        "browser.save_queue",
        "Ctrl+S",
        "Save the play queue as an M3U8 playlist",
        separator_before=True,
    ),
    ActionSpec(
        Act.SAVE_REGION,
        "&File",
        "Save audition &region as playlist…",
        "browser.save_region",
        None,
        "Save the tracks of the drag-selected region as an M3U8 playlist",
    ),
    ActionSpec(
        Act.SAVE_RECOMMENDATIONS,
        "&File",
        "Save r&ecommendations as playlist…",
        "browser.save_recommendations",
        None,
        "Save 'Recommended for you' as an M3U8 playlist",
    ),
    ActionSpec(
        Act.REINDEX,
        "&File",
        "&Re-index library",
        "library.start_indexing",
        "Ctrl+R",
        "Look for new, changed and removed files",
        separator_before=True,
    ),
    ActionSpec(Act.QUIT, "&File", "&Quit", "close", "Ctrl+Q", "Quit QuadFusion Explorer", separator_before=True),
    ActionSpec(
        Act.PLAY_PAUSE,
        "&Playback",
        "Play / pause",
        "playback.toggle",
        "Space",
        "Pause or resume; plays the selected track when nothing is playing",
        media_key="Media Play",
    ),
    ActionSpec(
        Act.PLAY_SELECTED,
        "&Playback",
        "Play selected track",
        "playback.play_selected",
        "Return",
        "Play the selected (ringed) track from its analysed excerpt",
    ),
    ActionSpec(
        Act.PLAY_FROM_START,
        "&Playback",
        "Play from the start",
        "playback.play_selected_from_start",
        "Shift+Return",
        "Play the selected track from its first second",
    ),
    ActionSpec(
        Act.NEXT,
        "&Playback",
        "Next track",
        "playback.next_track",
        "Ctrl+Right",
        "Play the next track (queue first, then the continuous-play mode)",
        media_key="Media Next",
    ),
    ActionSpec(
        Act.PREVIOUS,
        "&Playback",
        "Previous track",
        "playback.previous_track",
        "Ctrl+Left",
        "Play the previously played track",
        media_key="Media Previous",
    ),
    ActionSpec(
        Act.PLAY_NEXT,
        "&Playback",
        "Play next",
        "playback.play_selected_next",
        "Ctrl+Shift+Return",
        "Put the selected track first in the queue",
        separator_before=True,
    ),
    ActionSpec(
        Act.ADD_TO_QUEUE,
        "&Playback",
        "Add to queue",
        "playback.queue_selected",
        "Q",
        "Add the selected track to the end of the queue",
    ),
    ActionSpec(
        Act.LIKE,
        "&Playback",
        "Like",
        "taste.like_current",
        "L",
        "Like the selected track (again: undo)",
        separator_before=True,
    ),
    ActionSpec(
        Act.DISLIKE, "&Playback", "Dislike", "taste.dislike_current", "D", "Dislike the selected track (again: undo)"
    ),
    ActionSpec(
        Act.UNDO_LIKE, "&Playback", "Undo like / dislike", "taste.undo", "Ctrl+Z", "Take back the last like or dislike"
    ),
    ActionSpec(Act.MUTE, "&Playback", "Mute", "player_bar.toggle_mute", "M", "Mute or unmute", checkable=True),
    ActionSpec(
        Act.FIND,
        "&View",
        "&Find tracks…",
        "search.focus",
        QKeySequence.Find,
        "Search titles, artists, albums and paths; matches are highlighted and centred",
    ),
    ActionSpec(
        Act.SELECT_REGION,
        "&View",
        "Select region (drag)",
        "map.set_select_mode",
        "S",
        "Drag on the map to audition the tracks inside (Shift-drag works without this)",
        checkable=True,
    ),
    ActionSpec(Act.RESET_ZOOM, "&View", "Reset zoom", "map.reset_view", "Ctrl+0", "Show every point"),
    ActionSpec(
        Act.SHOW_QUEUE, "&View", "Queue", "panels.show_queue", "Ctrl+1", "Show the play queue", separator_before=True
    ),
    ActionSpec(Act.SHOW_LIKES, "&View", "Likes", "panels.show_likes", "Ctrl+2", "Liked and disliked tracks"),
    ActionSpec(
        Act.SHOW_PROBLEMS,
        "&View",
        "Problems",
        "panels.show_problems",
        "Ctrl+3",
        "Files that could not be read, with the reason and a retry",
    ),
    ActionSpec(Act.SETTINGS, "&Settings", "Settings…", "open_settings", "Ctrl+,", "Audio output and theme"),
    ActionSpec(
        Act.MODEL,
        "&Settings",
        "Emotion model…",
        "models.choose_model",
        None,
        "Use another emotion model checkpoint folder",
        separator_before=True,
    ),
    ActionSpec(
        Act.BUILTIN_MODEL,
        "&Settings",
        "Use the built-in model",
        "models.use_builtin_model",
        None,
        "Go back to the model shipped with the explorer",
    ),
    ActionSpec(
        Act.MUQ,
        "&Settings",
        "MuQ weights folder…",
        "models.choose_muq_dir",
        None,
        "Where the MuQ weights are (needed by models with a MuQ branch)",
    ),
    ActionSpec(Act.ABOUT, "&Help", "&About QuadFusion Explorer…", "show_about", None, "Version, model card, credits"),
)


def resolve(root: Any, dotted: str) -> Any:
    return reduce(getattr, dotted.split("."), root)


def create_actions(window: Any) -> dict[Act, QAction]:
    """One QAction per spec, parented to and added to `window` (so shortcuts work without the menu open)."""
    out: dict[Act, QAction] = {}
    for spec in ACTIONS:
        act = QAction(spec.text, window)
        if spec.shortcut is not None:
            keys = [QKeySequence(spec.shortcut)]
            if spec.media_key:
                keys += [QKeySequence(spec.media_key)]
                if spec.key is Act.PLAY_PAUSE:
                    keys += [QKeySequence(Qt.Key_MediaTogglePlayPause), QKeySequence(Qt.Key_MediaPause)]
            act.setShortcuts(keys)
            act.setShortcutContext(Qt.WindowShortcut)
        act.setCheckable(spec.checkable)
        tip = spec.tip + (f" ({act.shortcut().toString(QKeySequence.NativeText)})" if spec.shortcut else "")
        act.setToolTip(tip)
        act.setStatusTip(spec.tip)
        # resolved when triggered: the handlers' owners may be built after the menus
        if spec.checkable:
            act.toggled.connect(lambda on, p=spec.handler: resolve(window, p)(on))
        else:
            act.triggered.connect(lambda _checked=False, p=spec.handler: resolve(window, p)())
        window.addAction(act)
        out[spec.key] = act
    return out


def build_menus(window: Any, actions: dict[Act, QAction]) -> dict[str, Any]:
    menus = {name: window.menuBar().addMenu(name) for name in MENUS}
    for spec in ACTIONS:
        if spec.separator_before:
            menus[spec.menu].addSeparator()
        menus[spec.menu].addAction(actions[spec.key])
    return menus
