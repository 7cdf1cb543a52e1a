"""Production settings refuse to start half-configured, and pass check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-value-0123456789",
    "ALLOWED_HOSTS": "procedures.city.example.jp",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/cityproc_check",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "SITE_URL": "https://procedures.city.example.jp",
    "SIGNING_KEY_PATH": "/etc/cityproc/signing-ed25519.pem",
    "FIELD_ENCRYPTION_KEY": "f" * 44,
    "OIDC_RP_CLIENT_ID": "cityproc",
    "OIDC_RP_CLIENT_SECRET": "s" * 40,
    "OIDC_OP_ISSUER": "https://id.example.jp",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://id.example.jp/authorize",
    "OIDC_OP_TOKEN_ENDPOINT": "https://id.example.jp/token",
    "OIDC_OP_USER_ENDPOINT": "https://id.example.jp/userinfo",
    "OIDC_OP_JWKS_ENDPOINT": "https://id.example.jp/jwks",
}
OIDC = [key for key in GOOD if key.startswith("OIDC_")]


def _manage(*args, env):
    # Production settings see only what a deployment would set.
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in GOOD and key != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=GOOD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "SITE_URL",
        "SIGNING_KEY_PATH",
        "FIELD_ENCRYPTION_KEY",
        *OIDC,
    ],
)
def test_production_refuses_to_start_without(missing):
    env = {key: value for key, value in GOOD.items() if key != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_refuses_sqlite():
    result = _manage("check", env={**GOOD, "DATABASE_URL": "sqlite:///tmp/x.sqlite3"})
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr


def test_demo_data_cannot_be_seeded_in_production():
    result = _manage("seed_demo", env=GOOD)
    assert result.returncode != 0
    assert "Demo data is disabled" in result.stderr


def test_production_refuses_the_sandbox_identity_provider():
    result = _manage("check", env={**GOOD, "IDENTITY_SANDBOX_ENABLED": "true"})
    assert result.returncode != 0
    assert "IDENTITY_SANDBOX_ENABLED" in result.stderr


def test_production_refuses_an_identity_provider_over_plain_http():
    env = {**GOOD, "OIDC_OP_TOKEN_ENDPOINT": "http://id.example.jp/token"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "OIDC_OP_TOKEN_ENDPOINT must be an https:// URL" in result.stderr


def test_production_runs_without_a_provider_when_identity_verification_is_off():
    env = {key: value for key, value in GOOD.items() if key not in OIDC}
    result = _manage("check", env={**env, "IDENTITY_VERIFICATION_ENABLED": "false"})
    assert result.returncode == 0, result.stderr


def test_production_refuses_kept_figures_in_a_cache_of_one_process():
    result = _manage("check", env={**GOOD, "CACHE_URL": "locmemcache://"})
    assert result.returncode != 0
    assert "DIGITIZATION_OVERVIEW_CACHE_SECONDS" in result.stderr
    off = {**GOOD, "CACHE_URL": "locmemcache://", "DIGITIZATION_OVERVIEW_CACHE_SECONDS": "0"}
    assert _manage("check", env=off).returncode == 0
