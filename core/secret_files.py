"""Secrets kept in files under var/, created at random on first use: the demo's
SECRET_KEY (config/settings/local.py) and the document signing key (core/signing.py).

Standard library only, because the settings import it before Django is set up.
A secret is written to a private temporary file first and then linked into place,
so a reader never sees half a secret, and when two processes start at once the
second one keeps the first one's file instead of overwriting it."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path


def random_text() -> bytes:
    """64 URL-safe characters (384 random bits): long enough for any of our keys,
    and for the production settings' rule of at least 50 characters."""
    return secrets.token_urlsafe(48).encode("ascii")


def read_or_create(path: str | Path, make: Callable[[], bytes] = random_text) -> bytes:
    """The content of `path`; if it does not exist yet, `make()` written there
    with mode 0600 (its folder created with 0700)."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp creates the file with mode 0600, whatever the umask.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(make())
            file.flush()
            os.fsync(file.fileno())
        # Fails when another process got there first: theirs is kept.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_bytes()


def read_or_create_text(path: str | Path) -> str:
    """A random text secret kept in `path` (see read_or_create)."""
    secret = read_or_create(path).decode("ascii").strip()
    if not secret:
        raise ValueError(f"The secret file {path} is empty; delete it to get a new one.")
    return secret
