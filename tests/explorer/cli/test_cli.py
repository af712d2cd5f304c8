"""`qfx` itself: the explicit command list, --version, and the same clear refusals from every command
(issue 12's CLI defects: each of these failed before)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.cli.main import build_parser, main
from explorer.version import app_version

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


def test_version_is_printed_and_exits_zero(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"qfx {app_version()}"


def test_every_listed_command_is_registered():
    from explorer.cli.commands import COMMANDS

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert (
        list(sub.choices)
        == [c.name for c in COMMANDS]
        == ["index", "map", "recommend", "train", "evaluate", "teach", "export", "prune"]
    )


def test_a_command_that_fails_to_import_is_an_error_not_a_missing_command(monkeypatch):
    import explorer.cli.commands as commands

    monkeypatch.setitem(sys.modules, "explorer.cli.recommend_cmd", None)  # any import of it now raises
    monkeypatch.delattr("explorer.cli.recommend_cmd", raising=False)
    with pytest.raises(ImportError):
        importlib.reload(commands)
    monkeypatch.undo()
    importlib.reload(commands)


def test_map_cli_does_not_import_the_window_layer():
    code = (
        "import sys; import explorer.cli.main; "
        "print(sorted(m for m in sys.modules if m.startswith(('explorer.ui', 'PySide6'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_index_of_a_file_says_not_a_folder_and_creates_nothing(tmp_path, capsys):
    cache = tmp_path / "cache"
    song = tmp_path / "song.txt"
    song.write_text("not a folder")
    assert main(["index", str(song), "--cache", str(cache), "--quiet"]) == 1
    assert capsys.readouterr().err.strip() == f"qfx index: error: not a folder: {song}"
    assert main(["index", str(tmp_path / "missing"), "--cache", str(cache), "--quiet"]) == 1
    assert "library folder not found" in capsys.readouterr().err
    assert not cache.exists()


@pytest.mark.parametrize("command", ["map", "recommend"])
def test_reading_commands_refuse_an_unindexed_folder_alike_and_create_nothing(command, tmp_path, capsys):
    cache = tmp_path / "cache"
    folder = tmp_path / "music"
    folder.mkdir()
    extra = ["--out", str(tmp_path / "m.png")] if command == "map" else ["--like", "x.flac"]
    assert main([command, str(folder), "--cache", str(cache), *extra]) == 1
    assert capsys.readouterr().err.strip() == (
        f"qfx {command}: error: {folder} is not indexed yet: run `qfx index {folder}` first"
    )
    assert not cache.exists()


def test_map_refuses_a_genre_the_library_lacks_like_an_unknown_emotion(indexed_demo, tmp_path, capsys):
    from explorer.analysis import facet_counts
    from explorer.library.cache import LibraryCache

    library, cache_dir, _ = indexed_demo
    with LibraryCache.open(library, cache_dir) as cache:
        counts = facet_counts(cache.load_arrays(muq=False))
    absent = next(g for g, n in counts.genres.items() if n == 0)
    out = tmp_path / "map.png"
    base = ["map", str(library), "--cache", str(cache_dir), "--out", str(out)]
    assert main([*base, "--genre", absent]) == 1
    err = capsys.readouterr().err
    assert f"no track in this library has genre {absent!r}" in err and "present:" in err
    assert main([*base, "--emotion", "NoSuchEmotion"]) == 1
    assert "unknown emotion 'NoSuchEmotion'" in capsys.readouterr().err
    assert not out.exists()


def test_map_size_has_sane_bounds_and_out_folder_must_exist(indexed_demo, tmp_path, capsys):
    library, cache_dir, _ = indexed_demo
    base = ["map", str(library), "--cache", str(cache_dir)]
    for size in ("10x10", "100000x900", "12x", "big"):
        with pytest.raises(SystemExit) as info:
            main([*base, "--out", str(tmp_path / "m.png"), "--size", size])
        assert info.value.code == 2
        assert "--size" in capsys.readouterr().err
    missing = tmp_path / "nonexistent_dir"
    assert main([*base, "--out", str(missing / "map.png")]) == 1
    assert f"folder for --out does not exist: {missing}" in capsys.readouterr().err
    assert not missing.exists()


def test_evaluate_json_folder_must_exist(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["evaluate", "--data", str(tmp_path), "--json", str(missing / "m.json")]) == 1
    assert "folder for --json does not exist" in capsys.readouterr().err and not missing.exists()


def test_index_honours_qfx_model(tmp_path, demo_files, monkeypatch, capsys):
    """The command line resolves the model like the app: QFX_MODEL is used (here: a folder without a model, which
    is an error) unless --model names one."""
    folder = tmp_path / "music"
    folder.mkdir()
    (folder / demo_files[0].name).write_bytes(demo_files[0].read_bytes())
    monkeypatch.setenv("QFX_MODEL", str(tmp_path / "no-model-here"))
    assert main(["index", str(folder), "--cache", str(tmp_path / "cache"), "--workers", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qfx index: error: cannot load the model") and "no-model-here" in err
