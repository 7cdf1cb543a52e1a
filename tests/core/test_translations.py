"""Japanese is the default and English is complete: every message of ours is
translated in both catalogues, nothing is fuzzy, and no message in the code is
missing from them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["ja", "en"]


def _msgids(catalogue: Path) -> set[str]:
    """The msgids of a .po file (continuation lines joined), without the header."""
    ids, current, in_msgid = set(), [], False
    for line in catalogue.read_text(encoding="utf-8").splitlines():
        if line.startswith(("msgid ", "msgid_plural ")):
            if current:
                ids.add("".join(current))
            current, in_msgid = [line.split(" ", 1)[1].strip('"')], True
        elif line.startswith('"') and in_msgid:
            current.append(line.strip('"'))
        else:
            in_msgid = False
    if current:
        ids.add("".join(current))
    ids.discard("")
    return ids


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    catalogue = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(catalogue)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    statistics = result.stderr.strip()
    assert "untranslated" not in statistics, statistics
    assert "fuzzy" not in statistics, statistics


def test_no_message_in_the_code_is_missing_from_the_catalogues(tmp_path):
    copy = tmp_path / "tree"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "var", "staticfiles", "node_modules", "__pycache__", "*.mo"
        ),
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ja", "--no-obsolete", "-v0"],
        cwd=copy,
        env=env,
        check=True,
    )
    in_code = _msgids(copy / "locale" / "ja" / "LC_MESSAGES" / "django.po")
    for language in LANGUAGES:
        catalogued = _msgids(ROOT / "locale" / language / "LC_MESSAGES" / "django.po")
        missing = sorted(in_code - catalogued)
        assert not missing, f"{language}: run makemessages and translate: {missing[:10]}"
