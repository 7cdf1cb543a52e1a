from typing import Any

from django.utils.translation import get_language


def localized_text(value: Any, language: str | None = None) -> str:
    """The current language's text of a {"ja": ..., "en": ...} object, falling back
    to Japanese; empty for anything else."""
    if not isinstance(value, dict):
        return ""
    language = (language or get_language() or "ja")[:2]
    text = value.get(language) or value.get("ja") or ""
    return text if isinstance(text, str) else ""
