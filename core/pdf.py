"""The one PDF renderer: a Django template from templates/pdf/ becomes PDF bytes,
with a Japanese font embedded so a document looks the same on every machine.

WeasyPrint is imported inside the functions (it loads Pango and friends, which
web processes that never render a PDF should not pay for). The font is loaded
once per process, not per document: the FontConfiguration and the @font-face
stylesheet are built on first use and kept, and so is the shared look of every
document (templates/pdf/document.css), which templates therefore do not include.
Templates use the family "IPAex Gothic" and declare no @font-face of their own
(each would be added to the shared configuration again for every document).
"""

from __future__ import annotations

import atexit
import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import segno
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string

# Debian/Ubuntu package fonts-ipaexfont-gothic.
DEFAULT_FONT_PATH = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
FONT_FAMILY = "IPAex Gothic"
FONT_PACKAGE = "fonts-ipaexfont-gothic"
# Found through the template loaders, as the templates are.
DOCUMENT_CSS = "pdf/document.css"

# Pango's font map is not safe to share between threads rendering at once; a
# threaded web server renders one document at a time per process.
_render_lock = threading.Lock()


def font_path() -> Path:
    """The embedded font: settings.PDF_FONT_PATH if set, else the Debian package's."""
    configured = getattr(settings, "PDF_FONT_PATH", "") or ""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise ImproperlyConfigured(f"PDF_FONT_PATH {path} is not a font file.")
        return path
    path = Path(DEFAULT_FONT_PATH)
    if not path.is_file():
        raise ImproperlyConfigured(
            f"The Japanese font for PDFs is missing ({path}). Install the Debian package "
            f"{FONT_PACKAGE} (apt-get install {FONT_PACKAGE}), or set PDF_FONT_PATH to "
            "an IPAex Gothic or Noto Sans JP font file."
        )
    return path


def _font_uri() -> str:
    return font_path().resolve().as_uri()


def _local_only_fetcher() -> Any:
    """A URL fetcher that loads only inline data: URIs (the QR code) and the font
    file. Anything else in a template, or smuggled into one, is refused (WeasyPrint
    logs a warning and leaves it out) rather than fetched from the network or disk."""
    allowed_file = _font_uri()
    try:
        from weasyprint.urls import URLFetcher  # WeasyPrint 67+: a class
    except ImportError:  # older WeasyPrint: a function
        from weasyprint.urls import default_url_fetcher

        def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
            if url.startswith("data:") or url == allowed_file:
                return default_url_fetcher(url, *args, **kwargs)
            raise ValueError(f"PDF documents may not load {url[:80]}")

        return fetch

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:") or url == allowed_file:
                return super().fetch(url, headers)
            raise ValueError(f"PDF documents may not load {url[:80]}")

    return LocalOnlyFetcher()


@cache
def _fonts() -> tuple[Any, Any, Any]:
    """(FontConfiguration, @font-face stylesheet, URL fetcher), once per process."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fetcher = _local_only_fetcher()
    font_config = FontConfiguration()
    stylesheet = CSS(
        string=(
            "@font-face {"
            f' font-family: "{FONT_FAMILY}"; src: url("{_font_uri()}");'
            " font-weight: normal; font-style: normal; }\n"
            f'html {{ font-family: "{FONT_FAMILY}", sans-serif; }}\n'
        ),
        font_config=font_config,
        url_fetcher=fetcher,
    )
    return font_config, stylesheet, fetcher


@cache
def _document_stylesheet() -> Any:
    """templates/pdf/document.css, the shared look of every document, parsed once
    per process: parsing and validating it for each document cost more than laying
    out a one-line page (docs/performance.md, B3). WeasyPrint gives stylesheets
    passed this way the user origin, below the author origin of a template's own
    <style>, which therefore still overrides it."""
    from weasyprint import CSS

    font_config, _stylesheet, fetcher = _fonts()
    return CSS(string=render_to_string(DOCUMENT_CSS), font_config=font_config, url_fetcher=fetcher)


# Drop the font configuration (and its temporary folder) while the interpreter is
# still whole; left to the final garbage collection, WeasyPrint's clean-up fails.
atexit.register(_document_stylesheet.cache_clear)
atexit.register(_fonts.cache_clear)


@contextmanager
def _cyclic_collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while WeasyPrint renders. A render
    allocates some hundred thousand objects that all stay alive until it ends, so
    the collections it would trigger (about ten per receipt, and now and then a full
    one over the whole process) scan them and find nothing: a tenth to a sixth of a
    receipt's time (docs/performance.md, B3). What the render leaves in cycles is
    collected as usual right after. The switch is per process: other threads go
    without cyclic collection for the same short while; reference counting, which
    frees nearly everything, is unaffected."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """Render a template of templates/pdf/ to PDF bytes."""
    from weasyprint import HTML

    html = render_to_string(template_name, context)
    font_config, stylesheet, fetcher = _fonts()
    document_stylesheet = _document_stylesheet()
    with _render_lock, _cyclic_collector_paused():
        pdf = HTML(string=html, url_fetcher=fetcher).write_pdf(
            stylesheets=[stylesheet, document_stylesheet], font_config=font_config
        )
    if settings.PDF_RENDER_TEST_GATE:
        _hold_at_test_gate(Path(settings.PDF_RENDER_TEST_GATE))
    return pdf


def _hold_at_test_gate(gate: Path, limit: float = 120.0) -> None:
    """Fault tests only (the setting exists in config/settings/test.py and production
    refuses it): say so in `<gate>.held`, then wait while the gate file exists, so
    the test can kill the worker while a document is being issued."""
    gate.with_name(f"{gate.name}.held").touch()
    deadline = time.monotonic() + limit
    while gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def qr_png_data_uri(text: str) -> str:
    """A QR code of `text` as a PNG data: URI, one pixel per module, for an <img>
    with `image-rendering: pixelated` (sharp at any size). In a PDF it is much
    cheaper than the SVG: WeasyPrint draws an SVG path of a few hundred segments in
    Python, and embeds a bitmap of some forty pixels square almost for free
    (docs/performance.md, B3)."""
    return segno.make(text, error="m", micro=False).png_data_uri(scale=1, border=4)


def qr_svg_data_uri(text: str) -> str:
    """A QR code of `text` as an SVG data: URI, for an <img> in a PDF template."""
    return segno.make(text, error="m", micro=False).svg_data_uri(scale=4, border=4, dark="#000")
