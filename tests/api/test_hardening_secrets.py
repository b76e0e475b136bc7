"""Issue 12 item 1: the server never signs sessions with a known key."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import SECRET_KEY_FILE
from tests.api.conftest import make_settings
from tests.api.support import Users
from vetbot.errors import ConfigurationError

OLD_DEFAULT = "change-me-in-production"


def _forged(secret: str) -> str:
    now = int(time.time())
    claims = {"sub": "1", "role": "staff", "typ": "session", "ver": 1, "iat": now, "exp": now + 3600}
    return jwt.encode(claims, secret, algorithm="HS256")


def test_without_a_configured_key_a_private_random_key_is_generated_and_kept(
    tmp_path: Path, fake_knowledge: Any, case_service: Any, session_factory: Any, users: Users
) -> None:
    settings = make_settings(tmp_path, secret_key=None)
    app = create_app(settings, knowledge=fake_knowledge, cases=case_service, session_factory=session_factory)
    key_file = settings.data_dir / SECRET_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 32 and key != OLD_DEFAULT
    # A second start reuses the key, so sessions survive restarts.
    again = create_app(settings, knowledge=fake_knowledge)
    assert again.state.runtime.settings.secret_key.get_secret_value() == key
    with TestClient(app) as client:
        for path in ("/v1/users", "/v1/auth/me"):
            r = client.get(path, headers={"Authorization": f"Bearer {_forged(OLD_DEFAULT)}"})
            assert r.status_code == 401, (path, r.status_code)
        r = client.get("/dashboard", cookies={"vetbot_session": _forged(OLD_DEFAULT)}, follow_redirects=False)
        assert r.status_code in (302, 303, 401)


@pytest.mark.parametrize("weak", [OLD_DEFAULT, "short-key"])
def test_a_known_or_short_configured_key_refuses_to_start(tmp_path: Path, weak: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        create_app(make_settings(tmp_path, secret_key=weak))
    assert "VETBOT_SECRET_KEY" in info.value.user_message


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, secret_key=None)
    settings.data_dir.mkdir(parents=True)
    key_file = settings.data_dir / SECRET_KEY_FILE
    key_file.write_text("x" * 64)
    key_file.chmod(0o644)
    with pytest.raises(ConfigurationError):
        create_app(settings)
