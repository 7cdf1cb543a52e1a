"""B3: rendering a one-page Japanese receipt (受付票) PDF.

Candidate: what the receipt task renders for a real filing (its content built by
applications.documents from a submitted application, the QR code, the template
through core.pdf with the embedded IPAex Gothic font). Baseline: WeasyPrint
rendering a one-line ASCII page, in the same process, alternated with it. For
information, a one-line Japanese page through core.pdf (the embedded font alone:
what loading and subsetting the font costs per document).

Memory: a fresh process renders receipts; its resident set size after 1,000
renders against after 10 (target at most 1.15x).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench import data
from bench.core import ROOT, Benchmark, Check, Comparison, Context, Result, alternate

CODE = "ABCD-EFGH-JKMN-PQRS"


def receipt_definition() -> dict:
    """The applicant step of the housing application plus the purpose: a receipt
    that fits on one page."""
    definition = data.housing_definition()
    steps = definition["form"]["steps"]
    request = dict(steps[2])
    request["fields"] = [
        field for field in request["fields"] if field["key"] in ("reason", "agree")
    ]
    definition["form"]["steps"] = [steps[0], request]
    return definition


def receipt_content(prefix: str = "b3") -> dict[str, Any]:
    """The content of a receipt for a filing made through the services."""
    from django.utils import timezone

    from accounts.models import Organization, OrganizationKind, User
    from accounts.services import organization_create
    from applications import documents, services
    from procedures.models import Procedure
    from procedures.services import procedure_create, version_publish

    procedure = Procedure.objects.filter(code=f"{prefix}-receipt").first()
    if procedure is None:
        organization = Organization.objects.filter(code=f"{prefix}-city").first() or (
            organization_create(
                code=f"{prefix}-city", name_ja="ベンチ市", kind=OrganizationKind.GOVERNMENT
            )
        )
        procedure = procedure_create(
            actor=None,
            organization=organization,
            code=f"{prefix}-receipt",
            definition=receipt_definition(),
            title_ja="市営住宅入居申込",
            title_en="Application for city housing",
            category="other",
            filer="individual",
            identity_level="email_verified",
            processing_days=10,
        )
        version_publish(actor=None, version=procedure.versions.get())
    user_id = data.users_create(count=1, prefix=f"{prefix}-{time.time_ns()}")[0]
    applicant = User.objects.get(pk=user_id)
    application = services.application_start(actor=applicant, procedure=procedure)
    answers = data.housing_answers(7)
    services.application_save_step(
        actor=applicant, application=application, step_key="applicant", answers=answers["applicant"]
    )
    services.application_save_step(
        actor=applicant,
        application=application,
        step_key="request",
        answers={key: answers["request"][key] for key in ("reason", "agree")},
    )
    application = services.application_submit(
        actor=applicant, application=application, declaration=True
    )
    application.refresh_from_db()
    return documents._receipt_content(application, CODE, timezone.now())


def render_receipt(content: dict[str, Any]) -> bytes:
    from applications import documents

    return documents._render(documents.RECEIPT_TEMPLATE, content, CODE)[1]


def render_trivial() -> bytes:
    import weasyprint

    return weasyprint.HTML(string="<p>Receipt 12345</p>").write_pdf()


def render_japanese_line() -> bytes:
    from django.template import engines

    from core import pdf

    # A one-line template through the platform's renderer (embedded font, cached).
    template = engines["django"].from_string("<p>受付票 12345</p>")
    html = template.render({})
    from weasyprint import HTML

    font_config, stylesheet, fetcher = pdf._fonts()
    with pdf._render_lock:
        return HTML(string=html, url_fetcher=fetcher).write_pdf(
            stylesheets=[stylesheet], font_config=font_config
        )


def pages(pdf_bytes: bytes, workdir) -> int:
    """Page count, read with poppler's pdfinfo (installed for the tests)."""
    import re
    import shutil

    if shutil.which("pdfinfo") is None:
        return -1
    path = workdir / "b3-receipt.pdf"
    path.write_bytes(pdf_bytes)
    info = subprocess.run(  # noqa: S603 - a fixed command on our own file
        ["pdfinfo", str(path)],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    return int(found.group(1)) if found else -1


def memory_child(content_path: str, checkpoints: list[int]) -> None:
    """In a fresh process: render receipts, print RSS at each checkpoint (JSON)."""
    import gc
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    from bench.server import rss_bytes

    with open(content_path) as handle:
        content = json.load(handle)
    figures = {}
    done = 0
    for checkpoint in sorted(checkpoints):
        while done < checkpoint:
            render_receipt(content)
            done += 1
        gc.collect()
        figures[checkpoint] = rss_bytes(os.getpid())
    print(json.dumps(figures))


def run(context: Context, params: dict[str, Any]) -> Result:
    result = Result(id="B3", title=BENCHMARK.title, scale=context.scale)
    content = receipt_content()
    pdf_bytes = render_receipt(content)
    page_count = pages(pdf_bytes, context.workdir)
    result.checks.append(
        Check("the receipt is one page", page_count in (1, -1), f"{page_count} page(s)")
    )
    result.notes["receipt_bytes"] = len(pdf_bytes)
    batch = params["batch"]

    def per_render(render) -> Any:
        def measure() -> float:
            started = time.perf_counter()
            for _ in range(batch):
                render()
            return (time.perf_counter() - started) / batch

        return measure

    trivial, receipt = alternate(
        params["rounds"], per_render(render_trivial), per_render(lambda: render_receipt(content))
    )
    result.comparisons.append(
        Comparison(
            name="render time per PDF",
            baseline_label="one-line ASCII page (WeasyPrint)",
            candidate_label="one-page Japanese receipt",
            unit="s",
            baseline=trivial,
            candidate=receipt,
            target=1.5,
        )
    )
    trivial_again, japanese = alternate(
        params["rounds"], per_render(render_trivial), per_render(render_japanese_line)
    )
    result.comparisons.append(
        Comparison(
            name="font cost per PDF (embedded IPAex, one line)",
            baseline_label="one-line ASCII page (WeasyPrint)",
            candidate_label="one-line Japanese page (core.pdf)",
            unit="s",
            baseline=trivial_again,
            candidate=japanese,
        )
    )

    content_path = context.workdir / "b3-receipt-content.json"
    content_path.write_text(json.dumps(content, ensure_ascii=False))
    low, high = params["memory_checkpoints"]
    output = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-c",
            "import sys; from bench.b3_receipt_pdf import memory_child; "
            f"memory_child({str(content_path)!r}, [{low}, {high}])",
        ],
        cwd=ROOT,
        env=context.subprocess_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(output.stdout.strip().splitlines()[-1])
    result.comparisons.append(
        Comparison(
            name=f"memory (RSS) after {high:,} renders against after {low}",
            baseline_label=f"after {low}",
            candidate_label=f"after {high:,}",
            unit="bytes",
            baseline=[figures[str(low)]],
            candidate=[figures[str(high)]],
            target=1.15,
        )
    )
    return result


BENCHMARK = Benchmark(
    id="B3",
    title="Rendering a one-page Japanese receipt PDF",
    target="<= 1.5x a one-line ASCII page; RSS after 1,000 renders <= 1.15x after 10",
    run=run,
    full={"rounds": 7, "batch": 10, "memory_checkpoints": (10, 1000)},
    small={"rounds": 2, "batch": 1, "memory_checkpoints": (2, 4)},
)
