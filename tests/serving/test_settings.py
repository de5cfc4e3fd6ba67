"""The service settings refuse unsafe configurations; keys are stored and compared hashed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from precollect.cli import app
from serving.security import KeyRing, hash_key, peppered_key
from serving.settings import ApiKey, ApiSettings, Role, Settings

SECRET = "secret-key-0123456789abcdefgh"
PEPPER = "pepper-0123456789abcdefghijklmnopqrstuv"
KEY = ApiKey(name="ops", sha256=hash_key(SECRET), role=Role.admin)
PEPPERED = ApiKey(name="ops", hmac_sha256=peppered_key(SECRET, PEPPER), role=Role.admin)


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
    ok = ApiSettings(mode="production", keys=[PEPPERED], session_secret="x" * 40, key_pepper=PEPPER)
    assert ok.auth_enabled


def test_production_needs_a_pepper_and_peppered_keys() -> None:
    production = {"mode": "production", "session_secret": "x" * 40}
    with pytest.raises(ValidationError, match="PRECOLLECT_API_KEY_PEPPER must be set"):
        ApiSettings(keys=[KEY], **production)
    with pytest.raises(ValidationError, match="'ops' is a plain SHA-256 digest"):
        ApiSettings(keys=[KEY], key_pepper=PEPPER, **production)
    with pytest.raises(ValidationError, match="at least 32 characters"):
        ApiSettings(keys=[PEPPERED], key_pepper="short", **production)
    # development: a peppered entry still needs its pepper; plain entries are allowed
    with pytest.raises(ValidationError, match="'ops' is stored as hmac_sha256"):
        ApiSettings(keys=[PEPPERED])
    assert ApiSettings(keys=[KEY]).auth_enabled
    with pytest.raises(ValidationError, match="exactly one of hmac_sha256 or sha256"):
        ApiKey(name="both", role=Role.admin, sha256=KEY.sha256, hmac_sha256=KEY.sha256)


def test_a_peppered_ring_admits_the_key_under_its_own_pepper_only() -> None:
    ring = KeyRing([PEPPERED], pepper=PEPPER)
    assert ring.identify(SECRET) == ring.identify(SECRET) and ring.identify(SECRET) is not None
    assert ring.identify(SECRET + "x") is None
    assert KeyRing([PEPPERED], pepper=PEPPER[::-1]).identify(SECRET) is None  # another pepper
    assert PEPPERED.hmac_sha256 != hash_key(SECRET)  # the stored digest is not the SHA-256
    # a plain entry under a configured pepper is compared peppered, and still admits its key
    assert KeyRing([KEY], pepper=PEPPER).identify(SECRET).name == "ops"  # type: ignore[union-attr]


def test_keys_must_be_sha256_hex_with_unique_names() -> None:
    with pytest.raises(ValidationError, match="sha256"):
        ApiSettings(keys=[{"name": "a", "sha256": "plain-text-key", "role": "admin"}])
    with pytest.raises(ValidationError, match="unique"):
        ApiSettings(keys=[KEY, KEY])
    with pytest.raises(ValidationError, match="role"):
        ApiSettings(keys=[{"name": "a", "sha256": hash_key("k"), "role": "root"}])


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRECOLLECT_API_MODE", "production")
    digest = peppered_key("k" * 24, PEPPER)
    monkeypatch.setenv(
        "PRECOLLECT_API_KEYS", f'[{{"name":"s","hmac_sha256":"{digest}","role":"scorer"}}]'
    )
    monkeypatch.setenv("PRECOLLECT_API_KEY_PEPPER", PEPPER)
    monkeypatch.setenv("PRECOLLECT_API_SESSION_SECRET", "y" * 32)
    monkeypatch.setenv("PRECOLLECT_API_MAX_BATCH", "500")
    monkeypatch.setenv("PRECOLLECT_MODEL_ALIAS", "candidate")
    monkeypatch.setenv("PRECOLLECT_WORKLIST_CAPACITY", "12")
    monkeypatch.setenv("PRECOLLECT_TRAIN_SEED", "4")
    settings = Settings()
    assert settings.api.keys[0].role is Role.scorer and settings.api.max_batch == 500
    assert settings.model_alias == "candidate" and settings.worklist.config().capacity == 12
    assert settings.training.seed == 4
    assert "y" * 32 not in repr(settings) and PEPPER not in repr(settings)  # secrets unprinted


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


def test_new_key_with_a_pepper_prints_a_peppered_entry() -> None:
    import json

    env = {"PRECOLLECT_API_KEY_PEPPER": PEPPER}
    result = CliRunner().invoke(app, ["new-key", "--name", "crm", "--role", "viewer"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    key, entry = lines[0].rsplit(" ", 1)[-1], json.loads(lines[1].split(": ", 1)[1])
    assert set(entry) == {"name", "role", "hmac_sha256"} and PEPPER not in result.output
    assert KeyRing([ApiKey.model_validate(entry)], pepper=PEPPER).identify(key) is not None


def test_pepper_keys_converts_plain_entries_and_the_same_keys_still_work() -> None:
    import json

    other = "other-key-0123456789abcdefgh"
    keys = json.dumps(
        [
            KEY.model_dump(mode="json", exclude_none=True),
            {"name": "bot", "role": "scorer", "hmac_sha256": peppered_key(other, PEPPER)},
        ]
    )
    env = {"PRECOLLECT_API_KEYS": keys, "PRECOLLECT_API_KEY_PEPPER": PEPPER}
    result = CliRunner().invoke(app, ["pepper-keys"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 of 2 keys peppered" in result.output
    converted = json.loads(result.output.splitlines()[-1])
    assert all(set(entry) == {"name", "role", "hmac_sha256"} for entry in converted)
    settings = ApiSettings(
        mode="production", keys=converted, key_pepper=PEPPER, session_secret="x" * 40
    )
    ring = KeyRing(settings.keys, pepper=PEPPER)
    assert ring.identify(SECRET).name == "ops" and ring.identify(other).name == "bot"  # type: ignore[union-attr]
    missing = CliRunner().invoke(app, ["pepper-keys"], env={"PRECOLLECT_API_KEYS": keys})
    assert missing.exit_code == 1 and "set PRECOLLECT_API_KEY_PEPPER" in missing.output
    broken = CliRunner().invoke(
        app, ["pepper-keys"], env={**env, "PRECOLLECT_API_KEYS": '[{"name": "x"}]'}
    )
    assert broken.exit_code == 1 and "not a valid key list" in broken.output
    assert len(broken.output.strip().splitlines()) == 1  # one line, no traceback
