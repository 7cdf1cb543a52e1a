"""Refresh the translation catalogues after strings changed in code or templates.

Runs makemessages for Japanese and English, makes the English catalogue the
identity (our source strings are English), and lists the Japanese entries that
still need a translator. tests/core/test_translations.py fails until there are none.
"""

import json
import re
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

_ENTRY_SEPARATOR = "\n\n"


def _block(lines: list[str], keyword: str) -> tuple[int, int] | None:
    """Start and end line of a keyword's value (its first line plus continuations)."""
    for start, line in enumerate(lines):
        if line.startswith(keyword + " "):
            end = start + 1
            while end < len(lines) and lines[end].startswith('"'):
                end += 1
            return start, end
    return None


def _value(lines: list[str], span: tuple[int, int]) -> str:
    start, end = span
    first = lines[start].split(" ", 1)[1]
    return "".join(json.loads(part) for part in [first, *lines[start + 1 : end]])


def _restated(lines: list[str], span: tuple[int, int], keyword: str) -> list[str]:
    """The value lines at `span`, under another keyword (msgid -> msgstr)."""
    source = lines[span[0] : span[1]]
    return [f"{keyword} " + source[0].split(" ", 1)[1], *source[1:]]


def make_identity_catalogue(path: Path) -> None:
    """English msgstr = msgid for every entry; no fuzzy flags or stale hints."""
    entries = path.read_text(encoding="utf-8").split(_ENTRY_SEPARATOR)
    result = []
    for entry in entries:
        lines = entry.split("\n")
        msgid_span = _block(lines, "msgid")
        plural_span = _block(lines, "msgid_plural")
        msgstr_span = _block(lines, "msgstr")
        if plural_span is not None:
            first, last = _block(lines, "msgstr[0]"), _block(lines, "msgstr[1]")
            msgstr_span = (first[0], last[1]) if first and last else None
        if msgid_span is None or msgstr_span is None or not _value(lines, msgid_span):
            result.append(entry)
            continue

        if plural_span is None:
            msgstr_lines = _restated(lines, msgid_span, "msgstr")
        else:
            msgstr_lines = _restated(lines, msgid_span, "msgstr[0]") + _restated(
                lines, plural_span, "msgstr[1]"
            )
        head = [
            re.sub(r",\s*fuzzy", "", line) if line.startswith("#,") else line
            for line in lines[: msgid_span[0]]
            if not line.startswith("#|")
        ]
        head = [line for line in head if line != "#"]
        result.append(
            "\n".join(
                head
                + lines[msgid_span[0] : msgstr_span[0]]
                + msgstr_lines
                + lines[msgstr_span[1] :]
            )
        )
    path.write_text(_ENTRY_SEPARATOR.join(result), encoding="utf-8")


def apply_translations(path: Path, translations: dict[str, str]) -> int:
    """Fill msgstr (msgstr[0] for plural entries: Japanese has one form) of the
    given msgids and clear their fuzzy flags. Returns how many were filled."""
    entries = path.read_text(encoding="utf-8").split(_ENTRY_SEPARATOR)
    filled = 0
    result = []
    for entry in entries:
        lines = entry.split("\n")
        msgid_span = _block(lines, "msgid")
        if msgid_span is None or _value(lines, msgid_span) not in translations:
            result.append(entry)
            continue
        text = translations[_value(lines, msgid_span)]
        keyword = "msgstr[0]" if _block(lines, "msgid_plural") else "msgstr"
        span = _block(lines, keyword)
        head = [
            re.sub(r",\s*fuzzy", "", line) if line.startswith("#,") else line
            for line in lines[: msgid_span[0]]
            if not line.startswith("#|")
        ]
        head = [line for line in head if line != "#,"]
        new = [f"{keyword} {json.dumps(text, ensure_ascii=False)}"]
        result.append("\n".join(head + lines[msgid_span[0] : span[0]] + new + lines[span[1] :]))
        filled += 1
    path.write_text(_ENTRY_SEPARATOR.join(result), encoding="utf-8")
    return filled


def needing_translation(path: Path) -> list[str]:
    pending = []
    for entry in path.read_text(encoding="utf-8").split(_ENTRY_SEPARATOR):
        lines = entry.split("\n")
        msgid_span = _block(lines, "msgid")
        msgstr_span = _block(lines, "msgstr[0]" if _block(lines, "msgid_plural") else "msgstr")
        if msgid_span is None or msgstr_span is None:
            continue
        msgid = _value(lines, msgid_span)
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        if msgid and (fuzzy or not _value(lines, msgstr_span)):
            pending.append(msgid)
    return pending


class Command(BaseCommand):
    help = "Update the ja/en catalogues from the code and list what needs translating."

    def add_arguments(self, parser):
        parser.add_argument(
            "--apply",
            metavar="FILE.json",
            action="append",
            default=[],
            help="JSON object {English msgid: Japanese text} to fill into the ja catalogue",
        )

    def handle(self, *args, **options):
        call_command(
            "makemessages",
            locale=["ja", "en"],
            ignore_patterns=[".venv/*", "var/*", "staticfiles/*"],
            no_obsolete=True,
            verbosity=0,
        )
        locale_dir = Path(settings.LOCALE_PATHS[0])
        make_identity_catalogue(locale_dir / "en" / "LC_MESSAGES" / "django.po")
        japanese = locale_dir / "ja" / "LC_MESSAGES" / "django.po"
        for source in options["apply"]:
            translations = json.loads(Path(source).read_text(encoding="utf-8"))
            count = apply_translations(japanese, translations)
            self.stdout.write(f"{source}: {count} translations applied.")
        pending = needing_translation(locale_dir / "ja" / "LC_MESSAGES" / "django.po")
        if pending:
            self.stdout.write(f"{len(pending)} Japanese entries need translating:")
            for msgid in pending:
                self.stdout.write(f"  - {msgid}")
        else:
            self.stdout.write(self.style.SUCCESS("Catalogues complete."))
