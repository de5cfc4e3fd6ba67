"""The service settings refuse unsafe configurations; keys are stored and compared hashed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from precollect.cli import app
from serving.security import KeyRing, hash_key
from serving.settings import ApiKey, ApiSettings, Role, Settings

KEY = ApiKey(name="ops", sha256=hash_key("secret-key-0123456789abcdefgh"), role=Role.admin)


def test_development_runs_without_keys_and_serves_everyone_as_admin() -> None:
    settings = ApiSettings(mode="development")
    assert not settings.auth_enabled
    assert settings.max_batch == 10_000 and Settings().model_alias == "champion"
    assert len(settings.resolved_session_secret()) >= 32


def test_production_refuses_to_start_without_keys() -> None:
    with pytest.raises(ValidationError, match="no API keys configured"):
        ApiSettings(mode="production", session_secret="x" * 40)


def test_production_refuses_a_short_or_missing_session_secret() -> None:
    with pytest.raises(ValidationError, match="SESSION_SECRET"):
        ApiSettings(mode="production", keys=[KEY])
    with pytest.raises(ValidationError, match="SESSION_SECRET"):
        ApiSettings(mode="production", keys=[KEY], session_secret="short")
    ok = ApiSettings(mode="production", keys=[KEY], session_secret="x" * 40)
    assert ok.auth_enabled


def test_keys_must_be_sha256_hex_with_unique_names() -> None:
    with pytest.raises(ValidationError, match="sha256"):
        ApiSettings(keys=[{"name": "a", "sha256": "plain-text-key", "role": "admin"}])
    with pytest.raises(ValidationError, match="unique"):
        ApiSettings(keys=[KEY, KEY])
    with pytest.raises(ValidationError, match="role"):
        ApiSettings(keys=[{"name": "a", "sha256": hash_key("k"), "role": "root"}])


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRECOLLECT_API_MODE", "production")
    monkeypatch.setenv(
        "PRECOLLECT_API_KEYS", f'[{{"name":"s","sha256":"{hash_key("k")}","role":"scorer"}}]'
    )
    monkeypatch.setenv("PRECOLLECT_API_SESSION_SECRET", "y" * 32)
    monkeypatch.setenv("PRECOLLECT_API_MAX_BATCH", "500")
    monkeypatch.setenv("PRECOLLECT_MODEL_ALIAS", "candidate")
    monkeypatch.setenv("PRECOLLECT_WORKLIST_CAPACITY", "12")
    monkeypatch.setenv("PRECOLLECT_TRAIN_SEED", "4")
    settings = Settings()
    assert settings.api.keys[0].role is Role.scorer and settings.api.max_batch == 500
    assert settings.model_alias == "candidate" and settings.worklist.config().capacity == 12
    assert settings.training.seed == 4
    assert "y" * 32 not in repr(settings)  # the secret is not printed


def test_keyring_matches_only_the_right_key() -> None:
    ring = KeyRing(
        [KEY, ApiKey(name="bot", sha256=hash_key("other-key-0123456789abcdefgh"), role=Role.scorer)]
    )
    assert ring.identify("secret-key-0123456789abcdefgh") is not None
    assert ring.identify("secret-key-0123456789abcdefgh").role is Role.admin  # type: ignore[union-attr]
    assert ring.identify("other-key-0123456789abcdefgh").name == "bot"  # type: ignore[union-attr]
    assert ring.identify("secret-key-0123456789abcdefgh ") is None and ring.identify("") is None
    assert ring.identify(None) is None
    short = KeyRing([ApiKey(name="short", sha256=hash_key("short-key"), role=Role.admin)])
    assert short.identify("short-key") is None  # under 24 characters: never a key


def test_serve_command_refuses_production_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRECOLLECT_API_KEYS", raising=False)
    result = CliRunner().invoke(app, ["serve"], env={"PRECOLLECT_API_MODE": "production"})
    assert result.exit_code == 1
    assert "no API keys configured" in result.output


def test_new_key_prints_a_long_key_whose_entry_admits_it() -> None:
    import json

    result = CliRunner().invoke(app, ["new-key", "--name", "crm", "--role", "scorer"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    key = lines[0].rsplit(" ", 1)[-1]
    entry = json.loads(lines[1].split(": ", 1)[1])
    assert len(key) >= 24 and key not in lines[1]
    ring = KeyRing([ApiKey.model_validate(entry)])
    assert ring.identify(key) == ring.identify(key) and ring.identify(key).role is Role.scorer  # type: ignore[union-attr]
    refused = CliRunner().invoke(app, ["new-key", "--name", "crm", "--role", "root"])
    assert refused.exit_code == 1 and "role 'root'" in refused.output
