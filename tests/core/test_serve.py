"""bin/serve refuses a non-loopback address while a sandbox is on, unless told
--public (issue 18): whoever reaches it could approve identities and mark fees paid."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.serve import gunicorn_argv, is_loopback

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_addresses(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "10.0.0.1", "no-such-host."])
def test_other_addresses(host):
    assert not is_loopback(host)


def _check(*args, **env):
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"HOST", "ALLOW_PUBLIC_SANDBOX", "IDENTITY_SANDBOX_ENABLED"}
        and key != "PAYMENTS_SANDBOX_ENABLED"
    }
    clean.update(DJANGO_SETTINGS_MODULE="config.settings.local", SECRET_KEY="k" * 60, **env)
    return subprocess.run(
        [sys.executable, "-m", "config.serve", "--check", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_public_address_with_the_sandboxes_on_is_refused_with_the_reason():
    result = _check(HOST="0.0.0.0")
    assert result.returncode == 2
    assert "Refusing to serve on 0.0.0.0:8000" in result.stderr
    assert "mark any fee as paid" in result.stderr and "--public" in result.stderr


@pytest.mark.parametrize(("args", "env"), [(["--public"], {}), ([], {"ALLOW_PUBLIC_SANDBOX": "1"})])
def test_the_explicit_flag_allows_it_with_a_warning(args, env):
    result = _check(*args, HOST="0.0.0.0", **env)
    assert result.returncode == 0
    assert "WARNING" in result.stderr and "approve any test identity" in result.stderr


def test_loopback_and_sandboxes_off_need_no_flag():
    assert _check().returncode == 0
    off = _check(HOST="0.0.0.0", IDENTITY_SANDBOX_ENABLED="0", PAYMENTS_SANDBOX_ENABLED="0")
    assert off.returncode == 0 and not off.stderr


def test_the_server_queues_in_one_process_with_threads():
    argv = gunicorn_argv("::1", "8000", threads=16, reload=False)
    assert "--bind=[::1]:8000" in argv
    assert "--worker-class=gthread" in argv and "--workers=1" in argv
    assert "--backlog=2048" in argv
