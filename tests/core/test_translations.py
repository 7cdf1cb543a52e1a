"""Japanese is the default and English is complete: every message of ours is
translated in both catalogues, nothing is fuzzy, and no message in the code is
missing from them."""

import gettext
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


def test_revenue_stamps_are_called_shuunyuu_shoushi_throughout_the_japanese_catalogue(tmp_path):
    """The fee method `revenue_stamp` is 収入証紙 (a local government's stamp), never
    収入印紙 (the national one) on another page (docs/payments.md, Terms)."""
    compiled = tmp_path / "django.mo"
    catalogue = ROOT / "locale" / "ja" / "LC_MESSAGES" / "django.po"
    subprocess.run(["msgfmt", "-o", str(compiled), str(catalogue)], check=True)
    with compiled.open("rb") as handle:
        messages = gettext.GNUTranslations(handle)._catalog
    national = [msgid for msgid, text in messages.items() if "収入印紙" in text]
    assert national == []
    about_stamps = {
        msgid: text
        for msgid, text in messages.items()
        if isinstance(msgid, str) and "revenue stamp" in msgid.lower()
    }
    assert len(about_stamps) >= 5
    assert all("収入証紙" in text for text in about_stamps.values()), about_stamps
    # Nor in the Japanese that is not in the catalogue: templates and demo procedures.
    for folder, pattern in (("templates", "*.html"), ("procedures/demo", "*.json")):
        for path in (ROOT / folder).rglob(pattern):
            if path.name == "payment_receipt.html":
                continue  # names 収入印紙 for stamp duty, which a receipt does not need
            assert "収入印紙" not in path.read_text(encoding="utf-8"), path
