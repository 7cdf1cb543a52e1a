"""The demo's secrets are random per installation (issue 18): bin/serve's settings
make SECRET_KEY on the first start and keep it in a 0600 file under var/, so the
sandbox webhook secret, the demo TOTP secrets and the rest cannot be computed from
the repository."""

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core import secret_files

ROOT = Path(__file__).resolve().parents[2]
# What the local settings print about the secrets they end up with.
PROBE = """
import json, django
django.setup()
from django.conf import settings
from accounts.demo import demo_totp_key
from payments.providers.sandbox import webhook_secret
print(json.dumps({
    "secret_key": settings.SECRET_KEY,
    "webhook": webhook_secret("sandbox").decode(),
    "totp": demo_totp_key("clerk@example.jp"),
    "client_secret": settings.OIDC_RP_CLIENT_SECRET,
}))
"""


def _local_secrets(var_dir: Path, **extra: str) -> dict:
    """Start the local settings (bin/serve's) with `var_dir` as their var/."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "PAYMENTS_WEBHOOK_SECRETS", "OIDC_RP_CLIENT_SECRET"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        SECRET_KEY_FILE=str(var_dir / "secret_key"),
        DATABASE_URL=f"sqlite:///{var_dir / 'db.sqlite3'}",
        CELERY_BROKER_URL="",
        **extra,
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_two_fresh_installations_get_different_secrets(tmp_path):
    first = _local_secrets(tmp_path / "one")
    second = _local_secrets(tmp_path / "two")
    for name in ("secret_key", "webhook", "totp", "client_secret"):
        assert first[name] != second[name], name
    assert len(first["secret_key"]) >= 50
    assert "insecure" not in first["secret_key"]


def test_a_second_start_reads_the_same_key_file(tmp_path):
    first = _local_secrets(tmp_path)
    (tmp_path / "db.sqlite3").unlink(missing_ok=True)  # re-creating the database
    again = _local_secrets(tmp_path)
    assert again == first
    assert (tmp_path / "secret_key").read_text().strip() == first["secret_key"]


def test_the_key_file_is_private(tmp_path):
    _local_secrets(tmp_path / "var")
    mode = stat.S_IMODE((tmp_path / "var" / "secret_key").stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) & 0o077 == 0


def test_secret_key_from_the_environment_wins_and_writes_no_file(tmp_path):
    key = "e" * 60
    found = _local_secrets(tmp_path, SECRET_KEY=key)
    assert found["secret_key"] == key
    assert not (tmp_path / "secret_key").exists()


def test_processes_starting_at_once_agree_on_one_secret(tmp_path):
    path = tmp_path / "secret_key"
    found = []

    def start():
        found.append(secret_files.read_or_create_text(path))

    threads = [threading.Thread(target=start) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary left


def test_an_empty_key_file_is_refused(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("")
    with pytest.raises(ValueError, match="empty"):
        secret_files.read_or_create_text(path)
