"""The one model-choice resolver: command line > environment > Settings > built-in, for the app, About and qfx."""

from __future__ import annotations

import pytest

from explorer.library.model_choice import (
    BUILT_IN,
    COMMAND_LINE,
    ENV_MODEL,
    ENV_MUQ,
    SETTINGS,
    ModelChoiceError,
    active_model,
    check_model,
)


def test_precedence_command_line_environment_settings_built_in(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_MODEL, raising=False)
    monkeypatch.delenv(ENV_MUQ, raising=False)
    built_in = active_model()
    assert (built_in.path, built_in.source, built_in.muq_source) == (None, BUILT_IN, "none")
    assert built_in.meta is not None and built_in.name == BUILT_IN  # the shipped model's config.json

    stored = active_model("/settings/model", "/settings/muq")
    assert (stored.path, stored.source, stored.muq_dir, stored.muq_source) == (
        "/settings/model",
        SETTINGS,
        "/settings/muq",
        SETTINGS,
    )
    assert stored.meta is None and "unreadable" in stored.label()

    monkeypatch.setenv(ENV_MODEL, "/env/model")
    monkeypatch.setenv(ENV_MUQ, "/env/muq")
    env = active_model("/settings/model", "/settings/muq")
    assert (env.path, env.source, env.muq_dir, env.muq_source) == ("/env/model", ENV_MODEL, "/env/muq", ENV_MUQ)

    given = active_model("/settings/model", None, model=tmp_path / "cli", muq=tmp_path / "muq")
    assert (given.path, given.source) == (str(tmp_path / "cli"), COMMAND_LINE)
    assert (given.muq_dir, given.muq_source) == (str(tmp_path / "muq"), COMMAND_LINE)


def test_muq_is_passed_to_the_indexer_only_when_used_or_asked_for(monkeypatch):
    monkeypatch.delenv(ENV_MODEL, raising=False)
    monkeypatch.setenv(ENV_MUQ, "/env/muq")
    chosen = active_model()
    assert chosen.pretrained in (None, "musicnn")  # the built-in model reads no MuQ
    assert not chosen.uses_muq and chosen.loader_args() == (None, None)
    assert "muq" not in chosen.label()
    assert active_model(muq="/cli/muq").loader_args() == (None, "/cli/muq")


def test_check_model_turns_every_failure_into_one_error(tmp_path):
    with pytest.raises(ModelChoiceError, match="not installed"):
        check_model(tmp_path / "missing")
    (tmp_path / "config.json").write_text("{ not json")
    with pytest.raises(ModelChoiceError):
        check_model(tmp_path)


def test_the_library_layer_raises_one_error_type():
    from explorer.library.errors import LibraryError
    from explorer.library.indexer import IndexingError
    from explorer.library.schema import CacheSchemaError
    from explorer.library.teaching import TeachingError

    for error in (IndexingError, CacheSchemaError, TeachingError, ModelChoiceError):
        assert issubclass(error, LibraryError), error
    with pytest.raises(LibraryError):
        check_model("/no/such/model/folder")
